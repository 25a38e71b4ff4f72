"""`log_model`: log and register a fitted model with its feature spec.

In the style of Databricks Feature Engineering's ``fe.log_model``: the user
trains on a Pitstop training set and hands over the fitted model, the feature
service and the training frame. What gets recorded:

* the model, wrapped in the feature-aware pyfunc (`pitstop.models.pyfunc`),
  with its `ModelFeatureSpec` (also as ``pitstop/feature_spec.json``);
* per-column training statistics for drift (``pitstop/training_stats.json``);
* the training data as an MLflow dataset input whose source is the dbt model
  (a `DbtModelSource`: unique_id, relation, manifest checksum);
* tags ``pitstop.feature_service`` and ``pitstop.feature_views`` on the run and
  the registered version, and the git commit of the project;
* explicit pip requirements (MLflow's inference spends ~9 s here; given them,
  logging and registering take well under a second).
"""

from __future__ import annotations

import subprocess
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlflow.data.dataset_source import DatasetSource

from pitstop.errors import InvalidRequestError
from pitstop.models.catalog import TAG_COMMIT, TAG_SERVICE, TAG_SERVICE_ID, TAG_VIEWS
from pitstop.models.spec import ModelFeature, ModelFeatureSpec, ModelView, RequestColumn
from pitstop.models.tracking import client, mlflow_errors, mlflow_settings, using
from pitstop.registry.contract import column_name

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from pitstop.project import Project
    from pitstop.registry import Registry

__all__ = ["DbtModelSource", "LoggedModel", "default_pip_requirements", "log_model"]


class DbtModelSource(DatasetSource):  # type: ignore[misc]
    """An MLflow dataset source that is a dbt model: its unique_id, relation and
    the checksum dbt's manifest records for it."""

    def __init__(self, unique_id: str, relation: str, checksum: str) -> None:
        self.unique_id = unique_id
        self.relation = relation
        self.checksum = checksum

    @staticmethod
    def _get_source_type() -> str:
        return "dbt_model"

    def load(self) -> Any:
        """The relation's name (read it with the project's DuckDB session)."""
        return self.relation

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        return False

    @classmethod
    def _resolve(cls, raw_source: Any) -> DbtModelSource:
        raise NotImplementedError("a dbt_model source is built from the manifest, not resolved")

    def to_dict(self) -> dict[str, Any]:
        return {"unique_id": self.unique_id, "relation": self.relation, "checksum": self.checksum}

    @classmethod
    def from_dict(cls, source_dict: dict[Any, Any]) -> DbtModelSource:
        return cls(
            unique_id=str(source_dict.get("unique_id", "")),
            relation=str(source_dict.get("relation", "")),
            checksum=str(source_dict.get("checksum", "")),
        )


def _register_source() -> None:
    from mlflow.data.dataset_source_registry import register_dataset_source

    register_dataset_source(DbtModelSource)  # type: ignore[arg-type]  # it takes the class


_register_source()


@dataclass(frozen=True)
class LoggedModel:
    """What `log_model` logged.

    Attributes:
        model_uri: the logged model's URI (``models:/m-...``).
        run_id: the MLflow run.
        name: the registered model name (None when not registered).
        version: the registered version (None when not registered).
        spec: the feature spec.
    """

    model_uri: str
    run_id: str
    name: str | None
    version: str | None
    spec: ModelFeatureSpec


def default_pip_requirements(model: Any) -> list[str]:
    """Pinned requirements of a feature-aware model: MLflow's pyfunc, the data
    stack the frame is built with, and the model's own library (e.g.
    scikit-learn), from the installed versions."""
    packages = ["mlflow", "cloudpickle", "numpy", "pandas", "pyarrow"]
    top = type(model).__module__.split(".", 1)[0]
    distribution = {"sklearn": "scikit-learn", "xgboost": "xgboost", "lightgbm": "lightgbm"}
    if top in distribution:
        packages.append(distribution[top])
    if top == "sklearn":
        packages.append("scipy")
    out = []
    for package in packages:
        try:
            out.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            continue
    return out


def _signature() -> Any:
    """No input schema (rows hold keys, request columns and optional overrides,
    checked by the model itself), and one param: ``as_of``, the TTL clock as
    ISO-8601 text; without a params schema MLflow drops it silently."""
    from mlflow.models.signature import ModelSignature
    from mlflow.types.schema import ParamSchema, ParamSpec

    return ModelSignature(inputs=None, params=ParamSchema([ParamSpec("as_of", "string", None)]))


def _git_commit(root: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def _as_pandas(frame: Any) -> tuple[pd.DataFrame, pa.Schema | None]:
    import pandas as pd
    import pyarrow as pa

    if isinstance(frame, pa.Table):
        return frame.to_pandas(), frame.schema
    if isinstance(frame, pd.DataFrame):
        return frame, None
    raise InvalidRequestError(
        f"training_set must be a pandas DataFrame or an Arrow table, got {type(frame).__name__}"
    )


def build_spec(
    registry: Registry,
    service: str,
    frame: pd.DataFrame | None,
    arrow_schema: pa.Schema | None,
    *,
    columns: Sequence[str] | None,
    features: Sequence[str] | None,
    request_columns: Sequence[str],
    label: str | None,
    predict_method: str,
) -> ModelFeatureSpec:
    """The feature spec of a model trained on ``frame`` (columns ordered as the
    model saw them). See `log_model` for the arguments."""
    import pyarrow as pa

    from pitstop.models.frame import arrow_type_for, schema_to_text

    svc = registry.service(service)
    resolved = registry.resolve(list(features) if features is not None else list(svc.features))
    by_column = {f.column: f for _, fs in resolved for f in fs}
    ref_order = [f.column for _, fs in resolved for f in fs]
    for extra in request_columns:
        if extra in by_column:
            raise InvalidRequestError(f"request column {extra!r} is also a feature column")
    if columns is None:
        columns = [*ref_order, *request_columns]
    columns = list(columns)
    unknown = [c for c in columns if c not in by_column and c not in request_columns]
    if unknown:
        raise InvalidRequestError(
            f"model input column(s) {', '.join(unknown)} are neither features of service "
            f"'{service}' (view__feature) nor request columns; pass request_columns=[...] "
            "for values known only at request time"
        )
    missing_requests = [c for c in request_columns if c not in columns]
    if missing_requests:
        raise InvalidRequestError(
            f"request column(s) {', '.join(missing_requests)} are not model inputs"
        )
    if frame is not None:
        absent = [c for c in columns if c not in frame.columns]
        if absent:
            raise InvalidRequestError(
                f"the training frame lacks column(s) {', '.join(absent)} "
                f"(it has: {', '.join(map(str, frame.columns))})"
            )
    fields = []
    pandas_dtypes: dict[str, str] = {}
    for column in columns:
        feature = by_column.get(column)
        kind: pa.DataType | None = None
        if arrow_schema is not None and column in arrow_schema.names:
            kind = arrow_schema.field(column).type
        elif frame is not None:
            try:
                kind = pa.Schema.from_pandas(frame[[column]], preserve_index=False).field(0).type
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                raise InvalidRequestError(f"training column {column}: {exc}") from None
        if kind is None or pa.types.is_null(kind):
            if feature is None:
                raise InvalidRequestError(
                    f"request column {column!r}: its type is unknown (give a training frame "
                    "with values in it)"
                )
            kind = arrow_type_for(feature.dtype)
        fields.append(pa.field(column, kind))
        if frame is not None:
            pandas_dtypes[column] = str(frame[column].dtype)
        else:
            sample = pa.table({column: pa.array([None], type=kind)}).to_pandas()
            pandas_dtypes[column] = str(sample[column].dtype)
    schema = pa.schema(fields)
    used_views = {f.view for f in by_column.values() if f.column in columns}
    model_views = {
        view.name: ModelView(
            name=view.name,
            unique_id=view.unique_id,
            checksum=view.checksum,
            keys=tuple((k.name, k.type) for k in view.entity.keys),
            ttl_seconds=int(view.ttl.total_seconds()) if view.ttl else None,
        )
        for view, _ in resolved
        if view.name in used_views
    }
    keys: dict[str, str] = {}
    for view in model_views.values():
        for name, kind_text in view.keys:
            keys.setdefault(name, kind_text)
    model_features = tuple(
        ModelFeature(
            ref=by_column[c].ref,
            column=column_name(by_column[c].ref),
            view=by_column[c].view,
            name=by_column[c].name,
            dtype=by_column[c].dtype,
            arrow_type=str(schema.field(c).type),
            pandas_dtype=pandas_dtypes[c],
        )
        for c in columns
        if c in by_column
    )
    requests = tuple(
        RequestColumn(column=c, arrow_type=str(schema.field(c).type), pandas_dtype=pandas_dtypes[c])
        for c in request_columns
    )
    return ModelFeatureSpec(
        service=svc.name,
        features=model_features,
        request_columns=requests,
        columns=tuple(columns),
        entity_keys=tuple(keys.items()),
        views=model_views,
        label=label if label is not None else svc.label,
        arrow_schema=schema_to_text(schema),
        training_rows=len(frame) if frame is not None else 0,
        service_unique_id=svc.unique_id,
        service_relation=svc.relation,
        service_checksum=svc.checksum,
        predict_method=predict_method,
    )


def log_model(
    model: Any,
    *,
    service: str,
    training_set: pd.DataFrame | pa.Table | None = None,
    registered_model_name: str | None = None,
    name: str = "model",
    columns: Sequence[str] | None = None,
    features: Sequence[str] | None = None,
    request_columns: Sequence[str] = (),
    label: str | None = None,
    predict_method: str = "predict",
    pip_requirements: Sequence[str] | None = None,
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, float] | None = None,
    tags: Mapping[str, str] | None = None,
    run_name: str | None = None,
    project: Project | None = None,
    registry: Registry | None = None,
) -> LoggedModel:
    """Log ``model`` as a feature-aware model and (optionally) register it.

    Args:
        model: the fitted model; preprocessing belongs inside it (e.g. an
            sklearn ``Pipeline``), so serving applies exactly what training did.
        service: the feature service (training model) the features come from.
        training_set: the frame the model was fit on (or the whole training
            set): column types and drift statistics come from it.
        registered_model_name: register the model under this name.
        name: the logged model's name within the run.
        columns: the model's input columns in order; default: the model's
            ``feature_names_in_`` (sklearn), else the service's feature columns
            (``view__feature``) then ``request_columns``.
        features: feature references, when the model uses fewer than the service.
        request_columns: input columns that are not stored features (each
            request supplies them, e.g. the transaction amount).
        label: the label column (default: the service's).
        predict_method: the model method predictions call (``predict``,
            ``predict_proba``, ...).
        pip_requirements: default `default_pip_requirements`.
        params, metrics, tags: logged on the run.
        run_name: the MLflow run name.
        project: the Pitstop project (default: found from the working directory).
        registry: its registry (default: read from the project).

    Returns:
        `LoggedModel`.

    Raises:
        UnknownServiceError, UnknownFeatureError: names the registry does not know.
        InvalidRequestError: columns that are neither features nor request
            columns, a model without ``predict_method``.
        ModelRegistryError: MLflow failed or is unreachable.
    """
    import mlflow
    from mlflow.data.pandas_dataset import from_pandas

    from pitstop.models.drift import training_stats

    if project is None:
        from pitstop.project import Project

        project = Project.find()
    if registry is None:
        from pitstop.registry import Registry

        registry = Registry.load(project)
    if not callable(getattr(model, predict_method, None)):
        raise InvalidRequestError(f"the model has no method {predict_method!r}")
    frame, arrow_schema = _as_pandas(training_set) if training_set is not None else (None, None)
    if columns is None and hasattr(model, "feature_names_in_"):
        columns = [str(c) for c in model.feature_names_in_]
    spec = build_spec(
        registry,
        service,
        frame,
        arrow_schema,
        columns=columns,
        features=features,
        request_columns=list(request_columns),
        label=label,
        predict_method=predict_method,
    )
    stats = training_stats(frame[list(spec.columns)]) if frame is not None else None
    views = ",".join(spec.feature_views)
    commit = _git_commit(project.root)
    run_tags = {TAG_SERVICE: spec.service, TAG_VIEWS: views, TAG_SERVICE_ID: spec.service_unique_id}
    if commit:
        run_tags[TAG_COMMIT] = commit
        run_tags["mlflow.source.git.commit"] = commit
    run_tags.update(tags or {})
    requirements = (
        list(pip_requirements) if pip_requirements is not None else default_pip_requirements(model)
    )
    settings = mlflow_settings(project)
    with (
        mlflow_errors("logging the model"),
        using(settings) as experiment_id,
        warnings.catch_warnings(),
    ):
        # MLflow's hints about type hints and integer columns do not apply: the
        # pyfunc takes entity rows, and the frame's types live in the feature spec
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", DeprecationWarning)  # MLflow's own use of pandas
        # imported here: defining the pyfunc class is what makes MLflow warn
        from pitstop.models.pyfunc import PitstopModel

        with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
            mlflow.set_tags(run_tags)
            if params:
                mlflow.log_params(dict(params))
            if metrics:
                mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
            if frame is not None:
                source = DbtModelSource(
                    spec.service_unique_id, spec.service_relation, spec.service_checksum
                )
                target = spec.label if spec.label in frame.columns else None
                dataset = from_pandas(frame, source=source, name=spec.service, targets=target)
                mlflow.log_input(dataset, context="training")
            mlflow.log_dict(spec.to_json(), "pitstop/feature_spec.json")
            if stats is not None:
                mlflow.log_dict(stats, "pitstop/training_stats.json")
            info = mlflow.pyfunc.log_model(
                name=name,
                signature=_signature(),
                python_model=PitstopModel(model, spec.dumps()),
                pip_requirements=requirements,
                registered_model_name=registered_model_name,
                metadata={"pitstop": {"feature_service": spec.service, "feature_views": views}},
                await_registration_for=0,
            )
        version = info.registered_model_version
        if registered_model_name is not None and version is not None:
            mlflow_client = client(settings)
            for key, value in run_tags.items():
                if key.startswith("pitstop."):
                    mlflow_client.set_model_version_tag(
                        registered_model_name, str(version), key, value
                    )
    return LoggedModel(
        model_uri=str(info.model_uri),
        run_id=run.info.run_id,
        name=registered_model_name,
        version=None if version is None else str(version),
        spec=spec,
    )
