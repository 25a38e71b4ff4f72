"""`FeatureAwareModel` and `load_model`: predictions from entity keys.

A registered model is loaded once (``NAME@alias`` or ``NAME/VERSION``),
checked against the registry and the online store at load time (a model whose
features changed is refused, naming what changed), and then answers
`FeatureAwareModel.predict` from entity keys: it looks its features up in the
online store, rebuilds the training frame (`pitstop.models.frame`) and calls
the user's model, preprocessing included. Request-time values override
looked-up ones. `alias_version` is the one cheap registry call a server polls
to notice a promotion.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from pitstop.errors import InvalidEntityKeyError, InvalidRequestError, OnlineStoreError
from pitstop.models.spec import ModelFeatureSpec
from pitstop.models.tracking import client, mlflow_errors, mlflow_settings
from pitstop.registry.contract import ref_from_column

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from pitstop.online.lookup import OnlineLookup
    from pitstop.project import Project

__all__ = ["FeatureAwareModel", "alias_version", "default_online", "load_model"]


class FeatureAwareModel:
    """A registered model that predicts from entity keys.

    Attributes:
        name: the registered model's name.
        version: its version (a string, as MLflow gives it).
        alias: the alias it was loaded by, or None.
        feature_spec: the `ModelFeatureSpec` it was logged with.
        model: the user's fitted model (preprocessing included).
        online: the online lookup state it reads features from.
        run_id: the MLflow run that logged it.
    """

    def __init__(
        self,
        model: Any,
        feature_spec: ModelFeatureSpec,
        online: OnlineLookup | None,
        name: str = "",
        version: str = "",
        alias: str | None = None,
        run_id: str | None = None,
    ) -> None:
        self.model = model
        self.feature_spec = feature_spec
        self.online = online
        self.name = name
        self.version = version
        self.alias = alias
        self.run_id = run_id
        self._lock = threading.Lock()
        spec = feature_spec
        self._keys = spec.key_columns
        self._columns_of_ref = {f.ref: f.column for f in spec.features}
        self._feature_columns = {f.column for f in spec.features}
        self._request_columns = [c.column for c in spec.request_columns]
        self._allowed = (
            set(self._keys)
            | self._feature_columns
            | set(self._columns_of_ref)
            | set(self._request_columns)
        )
        views = list(spec.views)
        # a training column back to its online reference, by the one mapping
        self._ref_of_column = {f.column: ref_from_column(f.column, views) for f in spec.features}

    def __repr__(self) -> str:
        at = f"@{self.alias}" if self.alias else ""
        return (
            f"FeatureAwareModel({self.name}{at} v{self.version}, service="
            f"{self.feature_spec.service}, {len(self.feature_spec.columns)} columns)"
        )

    @cached_property
    def schema(self) -> pa.Schema:
        """The training frame's Arrow schema."""
        from pitstop.models.frame import schema_from_text

        return schema_from_text(self.feature_spec.arrow_schema)

    def features(
        self, entity_rows: Sequence[Mapping[str, Any]], as_of: datetime | None = None
    ) -> pd.DataFrame:
        """The model's input frame for these entities, exactly as in training.

        Args:
            entity_rows: one mapping per prediction: the entity key columns, the
                request columns, and optionally feature values that override
                the looked-up ones (named ``view__feature`` or ``view:feature``).
            as_of: the clock TTLs are checked against (default: now, UTC).

        Raises:
            InvalidRequestError: rows are not mappings, name unknown columns,
                lack request columns or hold values of the wrong type.
            InvalidEntityKeyError: key columns missing or of the wrong type.
            OnlineStoreError: the online store is unreachable or empty.
        """
        from pitstop.models.frame import build_frame
        from pitstop.online.lookup import get_online_features

        rows = self._rows(entity_rows)
        online = self.online
        if online is None:
            online = self.online = default_online(None)
        key_rows = [{k: row[k] for k in self._keys} for row in rows]
        looked_up = (
            get_online_features(
                online, features=self.feature_spec.refs, entity_rows=key_rows, as_of=as_of
            )
            if rows
            else None
        )
        columns: dict[str, list[Any]] = {}
        for feature in self.feature_spec.features:
            values = list(looked_up.values[feature.ref]) if looked_up is not None else []
            for i, row in enumerate(rows):
                if feature.column in row:
                    values[i] = row[feature.column]
                elif feature.ref in row:
                    values[i] = row[feature.ref]
            columns[feature.column] = values
        for column in self._request_columns:
            columns[column] = [row[column] for row in rows]
        return build_frame(self.feature_spec, self.schema, columns)

    def predict(
        self, entity_rows: Sequence[Mapping[str, Any]], as_of: datetime | None = None
    ) -> list[Any]:
        """Predictions for entities given by their keys (see `features` for the
        rows' form and the errors).

        Returns:
            one prediction per row, in order, as plain Python values (the
            model's ``predict``, or the method it was logged with).
        """
        frame = self.features(entity_rows, as_of=as_of)
        if not len(frame):
            return []
        method = getattr(self.model, self.feature_spec.predict_method)
        return _as_list(method(frame))

    def _rows(self, entity_rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        if isinstance(entity_rows, Mapping):
            entity_rows = [entity_rows]
        if isinstance(entity_rows, (str, bytes)) or not hasattr(entity_rows, "__iter__"):
            raise InvalidRequestError(
                "entity_rows must be a list of mappings, e.g. "
                f"[{_example(self._keys)}]; got {type(entity_rows).__name__}"
            )
        rows = list(entity_rows)
        for row in rows:
            if not isinstance(row, Mapping):
                raise InvalidRequestError(
                    f"entity_rows must be a list of mappings, e.g. [{_example(self._keys)}]; "
                    f"got a row {row!r} ({type(row).__name__})"
                )
            missing = [k for k in self._keys if k not in row]
            if missing:
                raise InvalidEntityKeyError(
                    f"model {self.name}: entity row {dict(row)!r} lacks key(s) "
                    f"{', '.join(missing)} (the model needs: {', '.join(self._keys)})"
                )
            unknown = [str(k) for k in row if k not in self._allowed]
            if unknown:
                raise InvalidRequestError(
                    f"model {self.name}: unknown column(s) {', '.join(unknown)} in an entity "
                    f"row; allowed: keys {', '.join(self._keys)}"
                    + (
                        f", request columns {', '.join(self._request_columns)}"
                        if self._request_columns
                        else ""
                    )
                    + " and feature overrides (view__feature or view:feature)"
                )
            absent = [c for c in self._request_columns if c not in row]
            if absent:
                raise InvalidRequestError(
                    f"model {self.name}: every row must give the request column(s) "
                    f"{', '.join(absent)} (known only at request time)"
                )
        return rows


def _example(keys: Sequence[str]) -> str:
    return "{" + ", ".join(f"'{k}': ..." for k in keys) + "}"


def _as_list(result: Any) -> list[Any]:
    if hasattr(result, "tolist"):
        out = result.tolist()
        return out if isinstance(out, list) else [out]
    return list(result)


def default_online(project: Project | None) -> OnlineLookup:
    """The online lookup of ``project``, or, without one, of
    ``PITSTOP_ONLINE_STORE`` (else the project found from the working directory).

    Raises:
        OnlineStoreError: no store is configured anywhere.
    """
    from pathlib import Path

    from pitstop.errors import ProjectError
    from pitstop.online.base import get_online_store, online_store_config
    from pitstop.online.lookup import OnlineLookup
    from pitstop.settings import env

    if project is None and env("PITSTOP_ONLINE_STORE") is None:
        from pitstop.project import Project

        try:
            project = Project.find()
        except ProjectError:
            raise OnlineStoreError(
                "no online store: set PITSTOP_ONLINE_STORE (redis://... or sqlite:/path) or "
                "run inside a Pitstop project"
            ) from None
    if project is not None:
        return OnlineLookup.for_project(project)
    return OnlineLookup(get_online_store(online_store_config({}, Path.cwd())))


def load_model(
    ref: str, online: OnlineLookup | None = None, project: Project | None = None
) -> FeatureAwareModel:
    """Load a registered feature-aware model, refusing it when it is stale.

    Args:
        ref: ``NAME@alias``, ``NAME/VERSION`` or ``models:/NAME@alias``.
        online: the online lookup state to read features from (a server passes
            its `FeatureStore.online`); default: ``project``'s store, or
            ``PITSTOP_ONLINE_STORE``.
        project: the Pitstop project. When given, the model is also checked
            against its registry (view checksums, features, types, keys, TTLs)
            and the MLflow store defaults to the project's. Without it, only
            the online store's snapshot is checked, and the store is
            ``MLFLOW_TRACKING_URI`` (or the project in the working directory).

    Returns:
        a `FeatureAwareModel`.

    Raises:
        InvalidRequestError: ``ref`` is malformed.
        ModelNotFoundError: no such model, version or alias.
        ModelRegistryError: the tracking store is unreachable.
        StaleModelError: the registry or online store changed what the model
            reads (the message names each change).
        OnlineStoreError: the online store is unreachable or not materialized.
    """
    from pitstop.models.loading import load_version

    loaded = load_version(mlflow_settings(project), ref)
    spec = loaded.spec
    if project is not None:
        from pitstop.registry import Registry

        spec.check_against_registry(Registry.load(project))
    if online is None:
        online = default_online(project)
    # the store may have been materialized since its snapshot was cached
    snapshot = online.reload()
    spec.check_against_online(snapshot)
    return FeatureAwareModel(
        loaded.model,
        spec,
        online,
        name=loaded.name,
        version=loaded.version,
        alias=loaded.alias,
        run_id=loaded.run_id,
    )


def alias_version(name: str, alias: str, project: Project | None = None) -> str:
    """The version an alias points at now: one registry call, cheap enough to
    poll (a server swaps its model when the answer changes).

    Raises:
        ModelNotFoundError: no such model or alias.
        ModelRegistryError: the tracking store is unreachable.
    """
    mlflow_client = client(mlflow_settings(project))
    with mlflow_errors(f"model {name}@{alias}"):
        return str(mlflow_client.get_model_version_by_alias(name, alias).version)
