"""`ModelFeatureSpec`: what a model was trained on, stored with the model.

A feature-aware model answers from entity keys alone, so it has to carry
everything needed to rebuild its training frame online: the feature service
(the training model), every feature reference with its warehouse type, the
entity keys, the training frame's columns in order with their Arrow and
pandas types, the label, and the dbt checksum of every feature view involved.
The same record is what `check_against_registry` / `check_against_online`
compare at load time, so a model whose features changed is refused before it
serves a single request. Nothing here imports MLflow, pandas or pyarrow.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from pitstop.errors import StaleModelError

if TYPE_CHECKING:
    from pitstop.online.spec import RegistrySnapshot
    from pitstop.registry import Registry

__all__ = [
    "SPEC_FORMAT",
    "ModelFeature",
    "ModelFeatureSpec",
    "ModelView",
    "RequestColumn",
]

SPEC_FORMAT = 1


@dataclass(frozen=True)
class ModelFeature:
    """One feature the model reads: its reference, training column and types."""

    ref: str  # view:feature (the online name)
    column: str  # view__feature (the training-set name)
    view: str
    name: str
    dtype: str  # the warehouse type from the registry
    arrow_type: str  # the Arrow type of the training column (for people; the schema is exact)
    pandas_dtype: str  # the pandas dtype of the training column


@dataclass(frozen=True)
class RequestColumn:
    """A training column that is not a stored feature: every request supplies it
    (e.g. the transaction amount, known only when the transaction happens)."""

    column: str
    arrow_type: str
    pandas_dtype: str


@dataclass(frozen=True)
class ModelView:
    """A feature view the model reads, as it was at training time."""

    name: str
    unique_id: str
    checksum: str
    keys: tuple[tuple[str, str], ...]
    ttl_seconds: int | None


@dataclass(frozen=True)
class ModelFeatureSpec:
    """The feature spec a feature-aware model is logged with.

    Attributes:
        service: the feature service (training model) the features come from.
        features: the looked-up features, in training-column order.
        request_columns: training columns every request supplies itself.
        columns: the model's input columns, in order (features and request columns).
        entity_keys: ``(key column, type)`` pairs a request must give.
        views: per feature view, its dbt unique_id, checksum, keys and TTL.
        label: the training set's label column.
        arrow_schema: the training frame's Arrow schema (IPC, base64): serving
            builds its frame with exactly these types.
        training_rows: rows of the training frame.
        service_unique_id, service_relation, service_checksum: the training
            model in dbt (what the training data is lineage-wise).
        predict_method: the method of the user's model that predictions call.
    """

    service: str
    features: tuple[ModelFeature, ...]
    request_columns: tuple[RequestColumn, ...]
    columns: tuple[str, ...]
    entity_keys: tuple[tuple[str, str], ...]
    views: dict[str, ModelView]
    label: str | None
    arrow_schema: str
    training_rows: int
    service_unique_id: str = ""
    service_relation: str = ""
    service_checksum: str = ""
    predict_method: str = "predict"
    format: int = SPEC_FORMAT
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def refs(self) -> list[str]:
        """The online feature references, in training-column order."""
        return [f.ref for f in self.features]

    @property
    def key_columns(self) -> list[str]:
        return [name for name, _ in self.entity_keys]

    @property
    def feature_views(self) -> list[str]:
        return list(self.views)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["views"] = {name: asdict(view) for name, view in self.views.items()}
        return data

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelFeatureSpec:
        """Read a stored spec; a malformed one is a `StaleModelError` (the model
        was logged by another Pitstop version and cannot be trusted)."""
        try:
            if data.get("format") != SPEC_FORMAT:
                raise ValueError(f"format {data.get('format')!r}, expected {SPEC_FORMAT}")
            return cls(
                service=str(data["service"]),
                features=tuple(ModelFeature(**f) for f in data["features"]),
                request_columns=tuple(RequestColumn(**c) for c in data["request_columns"]),
                columns=tuple(str(c) for c in data["columns"]),
                entity_keys=tuple((str(k), str(t)) for k, t in data["entity_keys"]),
                views={
                    str(name): ModelView(
                        name=str(v["name"]),
                        unique_id=str(v["unique_id"]),
                        checksum=str(v["checksum"]),
                        keys=tuple((str(k), str(t)) for k, t in v["keys"]),
                        ttl_seconds=None if v["ttl_seconds"] is None else int(v["ttl_seconds"]),
                    )
                    for name, v in data["views"].items()
                },
                label=data.get("label"),
                arrow_schema=str(data["arrow_schema"]),
                training_rows=int(data["training_rows"]),
                service_unique_id=str(data.get("service_unique_id", "")),
                service_relation=str(data.get("service_relation", "")),
                service_checksum=str(data.get("service_checksum", "")),
                predict_method=str(data.get("predict_method", "predict")),
                extra=dict(data.get("extra") or {}),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StaleModelError(
                f"the model's feature spec is unreadable ({exc!r}); log the model again"
            ) from None

    @classmethod
    def loads(cls, text: str) -> ModelFeatureSpec:
        return cls.from_json(json.loads(text))

    def check_against_registry(self, registry: Registry) -> None:
        """Refuse the model when the project's registry changed what it reads.

        Raises:
            StaleModelError: naming every change (a view or feature removed, a
                type, key or TTL changed, a view's SQL changed).
        """
        changes: list[str] = []
        for name, known in self.views.items():
            view = registry.views.get(name)
            if view is None:
                changes.append(f"feature view '{name}' was removed")
                continue
            if known.checksum and view.checksum and known.checksum != view.checksum:
                changes.append(
                    f"feature view '{name}' changed (dbt checksum {known.checksum[:12]} -> "
                    f"{view.checksum[:12]})"
                )
            keys = tuple((k.name, k.type) for k in view.entity.keys)
            if keys != known.keys:
                changes.append(
                    f"feature view '{name}' keys changed {_keys(known.keys)} -> {_keys(keys)}"
                )
            ttl = int(view.ttl.total_seconds()) if view.ttl else None
            if ttl != known.ttl_seconds:
                changes.append(f"feature view '{name}' TTL changed {known.ttl_seconds}s -> {ttl}s")
            types = {f.name: f.dtype for f in view.features}
            for feature in self.features:
                if feature.view == name:
                    changes.extend(_feature_change(feature, types))
        _raise_if(changes, "the registry")

    def check_against_online(self, snapshot: RegistrySnapshot) -> None:
        """Refuse the model when the online store serves other features, types,
        keys or TTLs than it was trained on (the store was materialized from a
        changed registry).

        Raises:
            StaleModelError: naming every change.
        """
        changes: list[str] = []
        for name, known in self.views.items():
            spec = snapshot.views.get(name)
            if spec is None:
                changes.append(f"feature view '{name}' is not in the online store")
                continue
            if spec.keys != known.keys:
                changes.append(
                    f"feature view '{name}' keys changed {_keys(known.keys)} -> {_keys(spec.keys)}"
                )
            if spec.ttl_seconds != known.ttl_seconds:
                changes.append(
                    f"feature view '{name}' TTL changed {known.ttl_seconds}s -> {spec.ttl_seconds}s"
                )
            types = {f.name: f.dtype for f in spec.features}
            for feature in self.features:
                if feature.view == name:
                    changes.extend(_feature_change(feature, types))
        _raise_if(changes, "the online store")


def _keys(keys: Sequence[tuple[str, str]]) -> str:
    return "(" + ", ".join(f"{k} {t}" for k, t in keys) + ")"


def _feature_change(feature: ModelFeature, types: Mapping[str, str]) -> list[str]:
    if feature.name not in types:
        return [f"feature '{feature.ref}' was removed"]
    if types[feature.name] != feature.dtype:
        return [f"feature '{feature.ref}' changed type {feature.dtype} -> {types[feature.name]}"]
    return []


def _raise_if(changes: list[str], where: str) -> None:
    if changes:
        raise StaleModelError(
            f"the model no longer matches {where}: {'; '.join(changes)}; retrain and log it again"
        )
