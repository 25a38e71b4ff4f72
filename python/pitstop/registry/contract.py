"""The feature registry: entities, feature views, features and services.

dbt is the source of truth: feature views are models whose
``config.meta.pitstop`` follows the contract in the README, entities are the
``pitstop_entities`` var of ``dbt_project.yml``. This module reads
``target/manifest.json`` into typed, validated objects. Every contract
violation is collected and reported at once, each naming the model, the field
and what is expected, so one `dbt parse` round fixes them all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pitstop.errors import (
    ContractError,
    UnknownFeatureError,
    UnknownFeatureViewError,
    UnknownServiceError,
)
from pitstop.project import Project
from pitstop.times import parse_ttl

__all__ = [
    "Entity",
    "EntityKey",
    "Feature",
    "FeatureService",
    "FeatureView",
    "Registry",
    "column_name",
    "is_identifier",
    "own_description",
    "parse_ttl",
    "ref_from_column",
]

META_KEY = "pitstop"
VIEW_FIELDS = frozenset(
    {
        "entity",
        "timestamp",
        "created_timestamp",
        "ttl",
        "online",
        "owner",
        "tags",
        "kind",
        "valid_to",
        "features",
        "description",
    }
)
SERVICE_FIELDS = frozenset({"training_set"})
KINDS = ("event", "scd2", "snapshot")
_DEFAULT_VALID_TO = {"scd2": "valid_to", "snapshot": "dbt_valid_to"}
_IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: where the block `pitstop docs` renders into a model description starts: a
#: Markdown link definition, which renders as nothing (dbt docs escapes HTML, so
#: an HTML comment would show), after a `***` rule that ends the paragraph
#: before it; `own_description` cuts there
GENERATED_MARKER = "[//]: # (pitstop:generated)"
#: joins view and feature in training-set columns (the PIT macro's ``naming='prefixed'``)
COLUMN_SEPARATOR = "__"


def is_identifier(name: object) -> bool:
    """A plain SQL identifier (letters, digits, underscores; not starting with a
    digit): what names from users must be before they reach SQL or Jinja."""
    return isinstance(name, str) and _IDENTIFIER_RE.fullmatch(name) is not None


def column_name(ref: str) -> str:
    """The training-set column of a feature reference: ``view:feature`` ->
    ``view__feature``.

    Online lookups name features ``view:feature``; the point-in-time join
    (``naming='prefixed'``) names the same feature ``view__feature``. This pair
    of functions is the one mapping between the two; the macro writes the same
    ``view ~ '__' ~ feature`` in Jinja.

    Raises:
        UnknownFeatureError: ``ref`` is not ``view:feature``.
    """
    view, sep, feature = ref.partition(":") if isinstance(ref, str) else ("", "", "")
    if not sep or not view or not feature or ":" in feature:
        raise UnknownFeatureError(f"feature reference {ref!r} must be 'view:feature'")
    return f"{view}{COLUMN_SEPARATOR}{feature}"


def ref_from_column(column: str, views: Sequence[str] | None = None) -> str:
    """The feature reference of a training-set column: ``view__feature`` ->
    ``view:feature`` (the inverse of `column_name`).

    View names may themselves contain ``__``; given the known ``views``, the
    longest view name the column starts with wins, otherwise the first ``__``
    splits.

    Raises:
        UnknownFeatureError: the column is not ``<view>__<feature>``.
    """
    if isinstance(column, str) and views is not None:
        for view in sorted(views, key=len, reverse=True):
            prefix = f"{view}{COLUMN_SEPARATOR}"
            if column.startswith(prefix) and len(column) > len(prefix):
                return f"{view}:{column[len(prefix) :]}"
    if not isinstance(column, str):
        column = ""
    view, sep, feature = column.partition(COLUMN_SEPARATOR)
    if not sep or not view or not feature:
        raise UnknownFeatureError(
            f"column {column!r} is not a feature column '<view>{COLUMN_SEPARATOR}<feature>'"
        )
    return f"{view}:{feature}"


@dataclass(frozen=True)
class EntityKey:
    """One key column of an entity."""

    name: str
    type: str


@dataclass(frozen=True)
class Entity:
    """A thing features describe, identified by one or more key columns."""

    name: str
    keys: tuple[EntityKey, ...]
    description: str = ""

    @property
    def key_columns(self) -> tuple[str, ...]:
        return tuple(key.name for key in self.keys)


@dataclass(frozen=True)
class Feature:
    """One feature column of a feature view."""

    name: str
    view: str
    dtype: str
    description: str = ""

    @property
    def ref(self) -> str:
        """The reference users write: ``view:feature``."""
        return f"{self.view}:{self.name}"

    @property
    def column(self) -> str:
        """Its training-set column, ``view__feature`` (see `column_name`)."""
        return column_name(self.ref)


@dataclass(frozen=True)
class FeatureView:
    """A dbt model that holds features of one entity over time."""

    name: str
    entity: Entity
    timestamp: str
    created_timestamp: str | None
    ttl: timedelta | None
    online: bool
    owner: str
    tags: tuple[str, ...]
    kind: str
    valid_to: str | None
    features: tuple[Feature, ...]
    relation: str
    description: str = ""
    unique_id: str = ""
    path: str = ""
    #: dbt's checksum of the model's SQL (``manifest.json``), to notice changed views
    checksum: str = ""

    @property
    def key_columns(self) -> tuple[str, ...]:
        return self.entity.key_columns

    def feature(self, name: str) -> Feature:
        """The feature called ``name``; raises `UnknownFeatureError` naming the choices."""
        for feature in self.features:
            if feature.name == name:
                return feature
        known = ", ".join(f.name for f in self.features)
        raise UnknownFeatureError(
            f"feature view '{self.name}' has no feature '{name}' (it has: {known})"
        )


@dataclass(frozen=True)
class FeatureService:
    """The features a training set (and so a model trained on it) asks for."""

    name: str
    features: tuple[str, ...]
    label: str | None = None
    description: str = ""
    unique_id: str = ""
    relation: str = ""
    checksum: str = ""


@dataclass
class Registry:
    """Everything the project declares, validated."""

    entities: dict[str, Entity]
    views: dict[str, FeatureView]
    services: dict[str, FeatureService] = field(default_factory=dict)

    @classmethod
    def load(cls, project: Project, parse_if_stale: bool = True) -> Registry:
        """Read the registry of ``project`` (running ``dbt parse`` when the manifest
        is stale). Raises `ContractError` listing every contract violation."""
        from pitstop.registry.manifest import read_catalog, read_manifest

        manifest = read_manifest(project, parse_if_stale=parse_if_stale)
        catalog = read_catalog(project)
        return cls.from_manifest(manifest, project.vars, catalog)

    @classmethod
    def from_manifest(
        cls,
        manifest: Mapping[str, Any],
        project_vars: Mapping[str, Any],
        catalog: Mapping[str, Any] | None = None,
    ) -> Registry:
        """Build the registry from an already loaded manifest (and optional catalog)."""
        problems: list[str] = []
        entities = _read_entities(project_vars.get("pitstop_entities"), problems)
        views: dict[str, FeatureView] = {}
        service_nodes: list[tuple[Mapping[str, Any], Mapping[str, Any]]] = []
        for node in manifest.get("nodes", {}).values():
            if node.get("resource_type") not in ("model", "snapshot"):
                continue
            meta = _pitstop_meta(node)
            if meta is None:
                continue
            where = _where(node)
            if not isinstance(meta, Mapping):
                problems.append(f"{where}, field meta.{META_KEY}: expected a mapping")
                continue
            if "training_set" in meta:
                service_nodes.append((node, meta))
                continue
            view = _read_view(
                node, meta, entities, catalog, where, problems, groups=manifest.get("groups")
            )
            if view is not None:
                views[view.name] = view
        services: dict[str, FeatureService] = {}
        registry = cls(entities=entities, views=views, services=services)
        stand_ins = _stand_ins(manifest, project_vars, problems)
        for node, meta in service_nodes:
            where = _where(node)
            service = _read_service(node, meta, registry, where, problems, stand_ins)
            if service is not None:
                services[service.name] = service
        if problems:
            raise ContractError(
                "the feature registry contract is broken: " + "; ".join(problems) + "."
            )
        return registry

    def view(self, name: str) -> FeatureView:
        """The feature view called ``name``."""
        try:
            return self.views[name]
        except KeyError:
            known = ", ".join(sorted(self.views)) or "none"
            raise UnknownFeatureViewError(
                f"unknown feature view '{name}' (known: {known})"
            ) from None

    def service(self, name: str) -> FeatureService:
        """The feature service (training set) called ``name``."""
        try:
            return self.services[name]
        except KeyError:
            known = ", ".join(sorted(self.services)) or "none"
            raise UnknownServiceError(
                f"unknown feature service '{name}' (known: {known})"
            ) from None

    def resolve(self, refs: Sequence[str]) -> list[tuple[FeatureView, tuple[Feature, ...]]]:
        """Group feature references by view, in first-mention order.

        A reference is ``view`` (all its features) or ``view:feature``.
        Raises `UnknownFeatureViewError` / `UnknownFeatureError`.
        """
        if isinstance(refs, str):
            refs = [refs]
        chosen: dict[str, list[Feature]] = {}
        for ref in refs:
            if not isinstance(ref, str) or not ref or ref.count(":") > 1:
                raise UnknownFeatureError(
                    f"feature reference {ref!r} must be 'view' or 'view:feature'"
                )
            view_name, _, feature_name = ref.partition(":")
            view = self.view(view_name)
            picked = chosen.setdefault(view.name, [])
            wanted = [view.feature(feature_name)] if feature_name else list(view.features)
            picked.extend(f for f in wanted if f not in picked)
        return [(self.views[name], tuple(features)) for name, features in chosen.items()]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description of the whole registry."""
        return {
            "entities": {name: _entity_dict(e) for name, e in self.entities.items()},
            "feature_views": {name: view_dict(v) for name, v in self.views.items()},
            "services": {
                name: {"features": list(s.features), "label": s.label, "description": s.description}
                for name, s in self.services.items()
            },
        }


def _entity_dict(entity: Entity) -> dict[str, Any]:
    return {
        "name": entity.name,
        "keys": [{"name": k.name, "type": k.type} for k in entity.keys],
        "description": entity.description,
    }


def view_dict(view: FeatureView) -> dict[str, Any]:
    """A JSON-ready description of one feature view."""
    return {
        "name": view.name,
        "entity": view.entity.name,
        "keys": list(view.key_columns),
        "timestamp": view.timestamp,
        "created_timestamp": view.created_timestamp,
        "ttl_seconds": int(view.ttl.total_seconds()) if view.ttl else None,
        "online": view.online,
        "owner": view.owner,
        "tags": list(view.tags),
        "kind": view.kind,
        "valid_to": view.valid_to,
        "relation": view.relation,
        "description": view.description,
        "features": [
            {"name": f.name, "type": f.dtype, "description": f.description} for f in view.features
        ],
    }


def _where(node: Mapping[str, Any]) -> str:
    """``model 'name' (file)``, naming the YAML file where the metadata lives."""
    patch = str(node.get("patch_path") or "")
    path = patch.split("://", 1)[-1] if patch else node.get("original_file_path", "?")
    return f"{node.get('resource_type', 'model')} '{node['name']}' ({path})"


def _pitstop_meta(node: Mapping[str, Any]) -> Any:
    config_meta = (node.get("config") or {}).get("meta") or {}
    if META_KEY in config_meta:
        return config_meta[META_KEY]
    return (node.get("meta") or {}).get(META_KEY)


def _read_entities(raw: object, problems: list[str]) -> dict[str, Entity]:
    where = "dbt_project.yml, var pitstop_entities"
    if raw is None:
        problems.append(f"{where}: missing; declare the project's entities there")
        return {}
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: expected a mapping of entity name to its keys")
        return {}
    entities: dict[str, Entity] = {}
    for name, spec in raw.items():
        keys_raw = spec.get("keys") if isinstance(spec, Mapping) else None
        if not isinstance(keys_raw, list) or not keys_raw:
            problems.append(f"{where}, entity '{name}', field keys: expected a non-empty list")
            continue
        keys: list[EntityKey] = []
        for key in keys_raw:
            if (
                not isinstance(key, Mapping)
                or not _IDENTIFIER_RE.fullmatch(str(key.get("name", "")))
                or not key.get("type")
            ):
                problems.append(
                    f"{where}, entity '{name}', field keys: each key needs a `name` (an "
                    f"identifier) and a `type`, got {key!r}"
                )
                break
            keys.append(EntityKey(str(key["name"]), str(key["type"]).lower()))
        else:
            entities[str(name)] = Entity(str(name), tuple(keys), str(spec.get("description", "")))
    return entities


def _column_types(node: Mapping[str, Any], catalog: Mapping[str, Any] | None) -> dict[str, str]:
    """Column types: the YAML/contract ``data_type`` first, then the catalog."""
    types: dict[str, str] = {}
    if catalog is not None:
        entry = (catalog.get("nodes") or {}).get(node.get("unique_id", ""), {})
        for name, column in (entry.get("columns") or {}).items():
            types[name.lower()] = str(column.get("type", "")).lower()
    for name, column in (node.get("columns") or {}).items():
        if column.get("data_type"):
            types[name] = str(column["data_type"]).lower()
    return types


def _read_view(
    node: Mapping[str, Any],
    meta: Mapping[str, Any],
    entities: Mapping[str, Entity],
    catalog: Mapping[str, Any] | None,
    where: str,
    problems: list[str],
    groups: Mapping[str, Any] | None = None,
) -> FeatureView | None:
    start = len(problems)

    def bad(field_name: str, message: str) -> None:
        problems.append(f"{where}, field {field_name}: {message}")

    for unknown in sorted(set(meta) - VIEW_FIELDS):
        bad(unknown, f"is not a feature-view field (allowed: {', '.join(sorted(VIEW_FIELDS))})")
    columns = node.get("columns") or {}
    documented = list(columns)
    if not documented:
        bad("columns", "a feature view documents its columns in its YAML; none found")

    entity_name = meta.get("entity")
    entity = entities.get(str(entity_name)) if entity_name is not None else None
    if entity_name is None:
        bad("entity", "missing; name one of the entities in var pitstop_entities")
    elif entity is None:
        bad(
            "entity",
            f"'{entity_name}' is not declared in var pitstop_entities "
            f"(known: {', '.join(sorted(entities)) or 'none'})",
        )
    elif documented:
        for key in entity.key_columns:
            if key not in columns:
                bad("entity", f"key column '{key}' of entity '{entity.name}' is not a column")

    def column_field(field_name: str, required: bool) -> str | None:
        value = meta.get(field_name)
        if value is None:
            if required:
                bad(field_name, "missing; name the model's feature-timestamp column")
            return None
        if not isinstance(value, str) or (documented and value not in columns):
            bad(
                field_name,
                f"'{value}' is not a column of the model (columns: {', '.join(documented)})",
            )
            return None
        return value

    timestamp = column_field("timestamp", required=True)
    created = column_field("created_timestamp", required=False)

    kind = meta.get("kind", "event")
    if kind not in KINDS:
        bad("kind", f"'{kind}' must be one of {', '.join(KINDS)}")
        kind = "event"
    valid_to: str | None = None
    if kind in _DEFAULT_VALID_TO:
        valid_to = meta.get("valid_to", _DEFAULT_VALID_TO[kind])
        if not isinstance(valid_to, str):
            bad("valid_to", f"expected a column name, got {valid_to!r}")
            valid_to = None
        elif documented and valid_to not in columns:
            bad("valid_to", f"'{valid_to}' is not a column of the model ({kind} views need one)")
    elif "valid_to" in meta:
        bad("valid_to", "only scd2 and snapshot views have a valid_to column")

    try:
        ttl = parse_ttl(meta.get("ttl"))
    except ValueError as exc:
        bad("ttl", str(exc))
        ttl = None

    online = meta.get("online", False)
    if not isinstance(online, bool):
        bad("online", f"expected true or false, got {online!r}")
    owner = _owner(node, meta, groups, bad)
    tags = _tags(node, meta, bad)

    types = _column_types(node, catalog)
    non_features = {*(entity.key_columns if entity else ()), timestamp, created, valid_to}
    explicit = meta.get("features")
    if explicit is not None:
        if not isinstance(explicit, list) or not explicit:
            bad("features", "expected a non-empty list of column names")
            names: list[str] = []
        else:
            names = [str(n) for n in explicit]
            for name in names:
                if name not in columns:
                    bad("features", f"'{name}' is not a documented column of the model")
                elif name in non_features:
                    bad("features", f"'{name}' is a key or timestamp column, not a feature")
    else:
        names = [c for c in documented if c not in non_features]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        bad("features", f"duplicate feature names: {', '.join(duplicates)}")
    if not names and explicit is None and documented:
        bad("columns", "no feature columns: every documented column is a key or timestamp")
    for name in names:
        if not is_identifier(name):
            bad("features", f"'{name}' is not a plain identifier")

    if len(problems) > start or entity is None or timestamp is None:
        return None
    view_name = str(node["name"])
    features = tuple(
        Feature(
            name=name,
            view=view_name,
            dtype=types.get(name, "unknown"),
            description=str((columns.get(name) or {}).get("description", "")),
        )
        for name in dict.fromkeys(names)
    )
    return FeatureView(
        name=view_name,
        entity=entity,
        timestamp=timestamp,
        created_timestamp=created,
        ttl=ttl,
        online=bool(online),
        owner=owner,
        tags=tags,
        kind=str(kind),
        valid_to=valid_to,
        features=features,
        relation=str(node.get("relation_name") or view_name),
        description=own_description(node),
        unique_id=str(node.get("unique_id", "")),
        path=str(node.get("original_file_path", "")),
        checksum=_checksum(node),
    )


def own_description(node: Mapping[str, Any]) -> str:
    """The model's description as written: without the block `pitstop docs`
    generates into it (from `GENERATED_MARKER` on), which repeats the registry."""
    text = str(node.get("description") or "")
    if GENERATED_MARKER not in text:
        return text
    return text.split(GENERATED_MARKER, 1)[0].rstrip().removesuffix("***").rstrip()


def _owner(
    node: Mapping[str, Any],
    meta: Mapping[str, Any],
    groups: Mapping[str, Any] | None,
    bad: Callable[[str, str], None],
) -> str:
    """The owner: the email (else name) of the owner of the model's dbt group,
    which dbt docs shows as OWNER, or ``meta.pitstop.owner`` for a model in no
    group. One place only: both set is an error."""
    group = node.get("group") or (node.get("config") or {}).get("group")
    in_meta = meta.get("owner")
    if group:
        found = next(
            (g for g in (groups or {}).values() if g.get("name") == group),
            None,
        )
        contact = (found or {}).get("owner") or {}
        owner = str(contact.get("email") or contact.get("name") or "")
        if in_meta is not None:
            bad(
                "owner",
                f"set twice: by dbt group '{group}' and by meta.pitstop.owner; remove "
                "meta.pitstop.owner (the group's owner is what dbt docs shows)",
            )
        elif not owner:
            bad("owner", f"dbt group '{group}' has no owner email or name")
        return owner
    if not isinstance(in_meta, str) or not in_meta.strip():
        bad(
            "owner",
            "missing; put the model in a dbt group with an owner (dbt docs shows it) or "
            "name the team or person in meta.pitstop.owner",
        )
        return ""
    return in_meta


def _tags(
    node: Mapping[str, Any], meta: Mapping[str, Any], bad: Callable[[str, str], None]
) -> tuple[str, ...]:
    """The tags: dbt's own ``tags`` (shown in dbt docs and usable in selectors),
    or ``meta.pitstop.tags`` for a model without any. Both set is an error."""
    native = [str(t) for t in (node.get("tags") or (node.get("config") or {}).get("tags") or [])]
    if "tags" not in meta:
        return tuple(native)
    tags = meta["tags"]
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        bad("tags", f"expected a list of strings, got {tags!r}")
        return ()
    if native:
        bad(
            "tags",
            f"set twice: dbt tags {native} and meta.pitstop.tags {tags}; keep dbt's tags "
            "(dbt docs shows them)",
        )
    return tuple(tags)


def _checksum(node: Mapping[str, Any]) -> str:
    checksum = node.get("checksum")
    return str(checksum.get("checksum", "")) if isinstance(checksum, Mapping) else ""


def _stand_ins(
    manifest: Mapping[str, Any], project_vars: Mapping[str, Any], problems: list[str]
) -> dict[str, str]:
    """The views that stand in for views the manifest's adapter does not build:
    var ``pitstop_stand_ins`` maps an adapter type to ``{view: stand-in}``
    (the demo: on spark, ``merchant_risk_history`` for the snapshot-based
    ``merchant_risk_snapshot``). Training models read the same var, so the
    feature service and the model SQL cannot disagree."""
    configured = project_vars.get("pitstop_stand_ins") or {}
    adapter = str((manifest.get("metadata") or {}).get("adapter_type") or "")
    if not isinstance(configured, Mapping):
        problems.append("var pitstop_stand_ins: expected {adapter type: {view: stand-in view}}")
        return {}
    chosen = configured.get(adapter) or {}
    if not isinstance(chosen, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in chosen.items()
    ):
        problems.append(f"var pitstop_stand_ins.{adapter}: expected {{view: stand-in view}}")
        return {}
    return dict(chosen)


def _stood_in(ref: str, registry: Registry, stand_ins: Mapping[str, str]) -> str:
    view, sep, feature = ref.partition(":")
    if view in registry.views or view not in stand_ins:
        return ref
    return stand_ins[view] + sep + feature


def _read_service(
    node: Mapping[str, Any],
    meta: Mapping[str, Any],
    registry: Registry,
    where: str,
    problems: list[str],
    stand_ins: Mapping[str, str] | None = None,
) -> FeatureService | None:
    for unknown in sorted(set(meta) - SERVICE_FIELDS):
        problems.append(f"{where}, field {unknown}: a training set only has `training_set`")
    spec = meta.get("training_set")
    refs = spec.get("features") if isinstance(spec, Mapping) else None
    if not isinstance(refs, list) or not refs or not all(isinstance(r, str) for r in refs):
        problems.append(
            f"{where}, field training_set.features: expected a non-empty list of "
            "'view' or 'view:feature' references"
        )
        return None
    # a view this adapter does not build is read from its stand-in (var pitstop_stand_ins)
    refs = [_stood_in(ref, registry, stand_ins) if stand_ins else ref for ref in refs]
    try:
        registry.resolve(refs)
    except (UnknownFeatureViewError, UnknownFeatureError) as exc:
        problems.append(f"{where}, field training_set.features: {exc}")
        return None
    label = spec.get("label") if isinstance(spec, Mapping) else None
    return FeatureService(
        name=str(node["name"]),
        features=tuple(refs),
        label=str(label) if label else None,
        description=own_description(node),
        unique_id=str(node.get("unique_id", "")),
        relation=str(node.get("relation_name") or node["name"]),
        checksum=_checksum(node),
    )
