"""`ViewSpec` and `RegistrySnapshot`: the registry as the online store keeps it.

`materialize` stores, in the online store's own metadata, the part of the
registry lookups need (views, key columns and types, features and their
types, TTLs, feature services), so the lookup path never reads dbt's
manifest. These classes are that contract, typed in one place: materialize
builds them from the registry and writes `to_json()`, lookups read them back
with `from_json()`; nothing indexes a JSON dict by position.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pitstop.errors import ContractError, OnlineStoreError
from pitstop.online.codec import INTEGER_TYPES, STRING_TYPES, decode_tag

if TYPE_CHECKING:
    from pitstop.registry import FeatureView, Registry

__all__ = ["SNAPSHOT_FORMAT", "FeatureSpec", "RegistrySnapshot", "ViewSpec"]

SNAPSHOT_FORMAT = 1


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One stored feature: its name, warehouse type and decoder tag."""

    name: str
    dtype: str
    tag: str | None


@dataclass(frozen=True, slots=True)
class ViewSpec:
    """How one view's values are keyed, packed and expired in the online store.

    A packed value is ``(layout, feature_ts_us, created_ts_us, *features)`` in
    `features` order; `layout` identifies keys, features, types and TTL, so a
    reader holding an older spec notices a changed schema.
    """

    name: str
    entity: str
    keys: tuple[tuple[str, str], ...]
    timestamp: str
    created_timestamp: str | None
    ttl_seconds: int | None
    features: tuple[FeatureSpec, ...]
    layout: int

    @property
    def key_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.keys)

    @property
    def key_types(self) -> tuple[str, ...]:
        return tuple(kind for _, kind in self.keys)

    @property
    def integer_key(self) -> bool:
        """One integer key column: SQLite keeps it as the table's INTEGER PRIMARY KEY."""
        return len(self.keys) == 1 and self.keys[0][1] in INTEGER_TYPES

    @property
    def width(self) -> int:
        """Fields of a packed value: layout, timestamps, then the features."""
        return 3 + len(self.features)

    @classmethod
    def from_view(cls, view: FeatureView) -> ViewSpec:
        """The spec of a registry view.

        Raises:
            ContractError: a key column type online stores cannot key by.
        """
        keys = tuple((key.name, key.type) for key in view.entity.keys)
        for name, kind in keys:
            if kind not in INTEGER_TYPES and kind not in STRING_TYPES:
                raise ContractError(
                    f"feature view '{view.name}': entity '{view.entity.name}' key '{name}' "
                    f"has type {kind}; online stores support integer and string keys"
                )
        features = tuple(FeatureSpec(f.name, f.dtype, decode_tag(f.dtype)) for f in view.features)
        ttl = int(view.ttl.total_seconds()) if view.ttl else None
        return cls(
            name=view.name,
            entity=view.entity.name,
            keys=keys,
            timestamp=view.timestamp,
            created_timestamp=view.created_timestamp,
            ttl_seconds=ttl,
            features=features,
            layout=_layout_id(keys, features, ttl),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "keys": [list(key) for key in self.keys],
            "timestamp": self.timestamp,
            "created_timestamp": self.created_timestamp,
            "ttl_seconds": self.ttl_seconds,
            "features": [[f.name, f.dtype, f.tag] for f in self.features],
            "layout": self.layout,
        }

    @classmethod
    def from_json(cls, name: str, data: Mapping[str, Any]) -> ViewSpec:
        """Read a stored spec back; a malformed one is an `OnlineStoreError`."""
        try:
            ttl = data["ttl_seconds"]
            return cls(
                name=name,
                entity=str(data["entity"]),
                keys=tuple((str(k), str(t)) for k, t in data["keys"]),
                timestamp=str(data["timestamp"]),
                created_timestamp=data["created_timestamp"],
                ttl_seconds=None if ttl is None else int(ttl),
                features=tuple(FeatureSpec(str(n), str(d), t) for n, d, t in data["features"]),
                layout=int(data["layout"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise OnlineStoreError(
                f"the online store's registry snapshot for view '{name}' is malformed "
                f"({exc!r}); run `pitstop materialize --full-refresh`"
            ) from None


def _layout_id(
    keys: Sequence[tuple[str, str]], features: Sequence[FeatureSpec], ttl: int | None
) -> int:
    """A stable 31-bit id of a view's stored schema (keys, features, types, TTL)."""
    text = json.dumps(
        [[list(k) for k in keys], [[f.name, f.dtype, f.tag] for f in features], ttl],
        separators=(",", ":"),
    )
    return int.from_bytes(hashlib.sha1(text.encode()).digest()[:4], "big") & 0x7FFFFFFF


@dataclass(frozen=True)
class RegistrySnapshot:
    """Every materialized view's spec and every feature service, as stored."""

    views: dict[str, ViewSpec] = field(default_factory=dict)
    services: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        registry: Registry,
        views: Sequence[FeatureView],
        previous: RegistrySnapshot | None,
        drop: Sequence[str] = (),
    ) -> RegistrySnapshot:
        """The snapshot after materializing ``views``: their new specs, the
        previous specs of other views still served, minus ``drop``."""
        specs = dict(previous.views) if previous else {}
        for name in drop:
            specs.pop(name, None)
        specs.update({view.name: ViewSpec.from_view(view) for view in views})
        services = {name: tuple(s.features) for name, s in registry.services.items()}
        return cls(views=specs, services=services)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": SNAPSHOT_FORMAT,
            "views": {name: spec.to_json() for name, spec in self.views.items()},
            "services": {name: list(refs) for name, refs in self.services.items()},
        }

    @classmethod
    def from_json(cls, data: object) -> RegistrySnapshot | None:
        """Read the stored snapshot (None when the store holds none, or one of an
        older format, which the next materialize rewrites)."""
        if data is None:
            return None
        if not isinstance(data, Mapping) or not isinstance(data.get("views"), Mapping):
            raise OnlineStoreError(
                "the online store's registry snapshot is malformed; run "
                "`pitstop materialize --full-refresh`"
            )
        if data.get("format") != SNAPSHOT_FORMAT:
            return None
        views = {str(n): ViewSpec.from_json(str(n), s) for n, s in data["views"].items()}
        services_raw = data.get("services") or {}
        services = {str(n): tuple(str(r) for r in refs) for n, refs in services_raw.items()}
        return cls(views=views, services=services)
