"""Batch scoring: a registered model over a spine, through the point-in-time path.

Offline, features come from the point-in-time join (`training_set`), not the
online store: each spine row is scored with the features known at its own
timestamp, exactly as a training set would hold them. The model is checked
against the registry first (a stale model is refused, as at load time).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pitstop.errors import InvalidEntityKeyError, InvalidRequestError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from pitstop.project import Project
    from pitstop.registry import Registry

__all__ = ["PREDICTION", "score"]

PREDICTION = "prediction"


def score(
    ref: str,
    spine: pd.DataFrame | pa.Table,
    project: Project,
    registry: Registry | None = None,
    *,
    spine_timestamp: str | None = None,
    prediction_column: str = PREDICTION,
) -> pd.DataFrame:
    """Score every spine row with model ``ref`` using point-in-time features.

    Args:
        ref: ``NAME@alias`` or ``NAME/VERSION``.
        spine: the entity keys, a timestamp column and the model's request
            columns (a pandas DataFrame or an Arrow table).
        project: the Pitstop project (its DuckDB file holds the feature views).
        registry: its registry (default: read from the project).
        spine_timestamp: the spine's timestamp column (default: its only one).
        prediction_column: the name of the added column.

    Returns:
        the spine's columns plus ``prediction_column``, in spine order.

    Raises:
        InvalidEntityKeyError: the spine lacks an entity key or request column.
        InvalidRequestError: the spine already has ``prediction_column``.
        ModelNotFoundError, ModelRegistryError, StaleModelError: as `load_model`.
    """
    import pyarrow as pa

    from pitstop.models.frame import align_dtypes
    from pitstop.models.loading import load_version
    from pitstop.models.tracking import mlflow_settings
    from pitstop.offline.training import training_set

    if registry is None:
        from pitstop.registry import Registry

        registry = Registry.load(project)
    loaded = load_version(mlflow_settings(project), ref)
    spec = loaded.spec
    spec.check_against_registry(registry)
    table = (
        spine if isinstance(spine, pa.Table) else pa.Table.from_pandas(spine, preserve_index=False)
    )
    columns = table.column_names
    missing = [k for k in spec.key_columns if k not in columns]
    if missing:
        raise InvalidEntityKeyError(
            f"the spine lacks the entity key column(s) {', '.join(missing)} of model {ref} "
            f"(spine columns: {', '.join(columns)})"
        )
    absent = [c.column for c in spec.request_columns if c.column not in columns]
    if absent:
        raise InvalidEntityKeyError(
            f"the spine lacks the request column(s) {', '.join(absent)} model {ref} reads "
            f"(spine columns: {', '.join(columns)})"
        )
    if prediction_column in columns:
        raise InvalidRequestError(
            f"the spine already has a column {prediction_column!r}; rename it or pass "
            "another prediction column name"
        )
    for key, kind in spec.entity_keys:
        _check_key_type(table.schema.field(key).type, key, kind)
    # the spine's own feature-named columns would collide with the joined ones
    feature_columns = {f.column for f in spec.features}
    ours = [c for c in columns if c not in feature_columns]
    frame: Any = training_set(
        project,
        registry,
        table.select(ours),
        features=spec.refs,
        spine_timestamp=spine_timestamp,
    )
    inputs = align_dtypes(frame, spec)
    method = getattr(loaded.model, spec.predict_method)
    predictions = method(inputs) if len(inputs) else []
    out: pd.DataFrame = frame.loc[:, ours].copy()
    out[prediction_column] = list(
        predictions.tolist() if hasattr(predictions, "tolist") else predictions
    )
    return out


def _check_key_type(arrow_type: Any, key: str, kind: str) -> None:
    import pyarrow as pa

    from pitstop.online.codec import INTEGER_TYPES

    if pa.types.is_null(arrow_type):
        return
    if kind in INTEGER_TYPES and not pa.types.is_integer(arrow_type):
        raise InvalidEntityKeyError(
            f"spine column {key} must hold integers (entity key type {kind}); it is {arrow_type}"
        )
    if kind not in INTEGER_TYPES and not (
        pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
    ):
        raise InvalidEntityKeyError(
            f"spine column {key} must hold strings (entity key type {kind}); it is {arrow_type}"
        )
