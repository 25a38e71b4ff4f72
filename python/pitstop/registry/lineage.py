"""Column-level lineage: the upstream columns every column of every dbt node derives from.

dbt's own lineage stops at whole models. This module reads the *compiled* SQL
of each model and snapshot in ``target/manifest.json`` (written by
``dbt compile``, ``dbt build`` or ``dbt docs generate``), resolves it with
sqlglot (CTEs, joins, unions, ``select *`` and ``* exclude``, window
functions, the SQL that Pitstop's own macros emit) and records, for each
output column, the columns of other nodes it is computed from.

What an edge means. Column ``b`` of node ``B`` derives from column ``a`` of
node ``A`` when ``a`` appears in the expression that computes ``b``, in the
``partition by``/``order by`` of its window function (named windows
included), or among the ``group by`` keys of its aggregate: change ``a`` and
the value of ``b`` changes. Filters (``where``, ``qualify``, ``having``) and
join conditions choose rows rather than compute values; they give no column
edge, and `LineageGraph.impact` still finds them at the model level.

Unresolved. Where sqlglot cannot trace a column (SQL it cannot parse, a
``select *`` over several relations whose columns are unknown, a table
function), the column carries the marker ``unresolved`` with the reason, next
to whatever edges *were* traced. An edge is never guessed. One inference is
made because it is sound: a column read through ``select * from t`` over a
single relation can only come from ``t``. The one edge deliberately left
out is an incremental model reading its own previous state (``{{ this }}``).

Column names come from the SQL itself where it fully defines them, else from
``target/catalog.json`` (``dbt docs generate``), else from the YAML columns
(and a seed's CSV header); types from the catalog, else the YAML
``data_type``. Without a catalog, sources' columns are known only through
their use downstream.

Speed. The first pass parses every node (seconds on a big project) and is
cached in ``target/pitstop_lineage.json``: a node is traced again only when
its compiled SQL or its inputs' columns change, and while the manifest and
catalog are unchanged, loading the graph reads only the cache file.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pitstop.errors import NotFoundError, ProjectError, UnknownFeatureViewError

if TYPE_CHECKING:
    from sqlglot import exp
    from sqlglot.optimizer.scope import Scope

    from pitstop.project import Project
    from pitstop.registry.contract import Registry

__all__ = [
    "CACHE_FILE",
    "UNRESOLVED",
    "LineageGraph",
    "LineageNode",
    "build_graph",
]

#: the marker of a column whose lineage sqlglot could not (fully) trace
UNRESOLVED = "unresolved"
#: the cache of the traced graph, in dbt's target directory
CACHE_FILE = "pitstop_lineage.json"
# bump when the cache layout or the tracing rules change
_CACHE_VERSION = 3
_TRACED = ("model", "snapshot")
_LEAVES = ("seed", "source")
# the leading parts of the cache stamp that identify the tracer (see `_stamp`)
_TRACER_PARTS = 3
# the columns dbt adds to a snapshot (its default snapshot_meta_column_names)
_SNAPSHOT_META = {
    "dbt_scd_id": "dbt_scd_id",
    "dbt_updated_at": "dbt_updated_at",
    "dbt_valid_from": "dbt_valid_from",
    "dbt_valid_to": "dbt_valid_to",
    "dbt_is_deleted": "dbt_is_deleted",
}
_DIALECTS = {"duckdb": "duckdb", "spark": "spark", "databricks": "databricks"}


@dataclass(frozen=True)
class LineageNode:
    """One column in a lineage tree, with the columns it derives from."""

    node: str
    name: str
    resource_type: str
    column: str
    type: str
    unresolved: str | None = None
    upstream: tuple[LineageNode, ...] = ()

    @property
    def label(self) -> str:
        """``name.column``, prefixed with the resource type unless it is a model."""
        prefix = "" if self.resource_type == "model" else f"{self.resource_type} "
        return f"{prefix}{self.name}.{self.column}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready nested dict (``upstream`` holds the same shape)."""
        return {
            "node": self.node,
            "name": self.name,
            "resource_type": self.resource_type,
            "column": self.column,
            "type": self.type or None,
            UNRESOLVED: self.unresolved,
            "upstream": [child.to_dict() for child in self.upstream],
        }

    def roots(self) -> list[LineageNode]:
        """The columns at the ends of every path: sources, seeds, unresolved
        columns and columns computed from no column (literals, ``count(*)``)."""
        seen: dict[tuple[str, str], LineageNode] = {}

        def walk(item: LineageNode) -> None:
            if not item.upstream:
                seen.setdefault((item.node, item.column), item)
            for child in item.upstream:
                walk(child)

        for child in self.upstream:
            walk(child)
        return list(seen.values())

    def lines(self) -> list[str]:
        """The tree as text, one column per line, ``└──`` style."""
        out = [self._text()]

        def walk(item: LineageNode, prefix: str) -> None:
            for index, child in enumerate(item.upstream):
                last = index == len(item.upstream) - 1
                out.append(f"{prefix}{'└── ' if last else '├── '}{child._text()}")
                walk(child, prefix + ("    " if last else "│   "))

        walk(self, "")
        if not self.upstream and not self.unresolved:
            out.append("└── (no upstream column: a constant, the run time or a row count)")
        return out

    def _text(self) -> str:
        text = self.label + (f" ({self.type})" if self.type else "")
        if not self.upstream and not self.unresolved and self.resource_type in _TRACED:
            text += "  (from no column)"
        if self.unresolved:
            text += f"  [{UNRESOLVED}: {self.unresolved}]"
        return text


@dataclass
class LineageGraph:
    """The column graph of a whole project, as traced (or read from the cache).

    ``nodes`` maps a dbt unique_id to ``{"name", "resource_type", "relation",
    "depends_on", "problem", "columns": {column: {"type", "from": [[uid,
    column], ...], "unresolved"}}}``; ``views``, ``services`` and ``exposures``
    are what the registry and the manifest say about feature views, feature
    services (training models) and registered models (dbt exposures).
    """

    nodes: dict[str, dict[str, Any]]
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    exposures: dict[str, dict[str, Any]] = field(default_factory=dict)
    has_catalog: bool = True
    _children: dict[tuple[str, str], list[tuple[str, str]]] | None = field(
        default=None, repr=False, compare=False
    )

    # -- loading ------------------------------------------------------------------

    @classmethod
    def load(cls, project: Project, compile_if_needed: bool = True) -> LineageGraph:
        """The lineage graph of ``project``, from the cache when the manifest and
        catalog have not changed since it was written.

        A manifest that is missing, older than the project files or without
        compiled SQL is refreshed with ``dbt compile`` first (unless
        ``compile_if_needed`` is false).

        Raises:
            ProjectError: no compiled manifest and compiling was not allowed.
            DbtError: ``dbt compile`` failed.
            ContractError: the registry contract is broken.
        """
        from pitstop.registry.manifest import read_catalog, read_manifest

        cache_path = project.target_path / CACHE_FILE
        stale = project.manifest_is_stale()
        if stale and compile_if_needed:
            project.run_dbt(["compile"])
            stale = False
        stamp = _stamp(project)
        previous = _read_cache(cache_path)
        if not stale and previous is not None and previous.get("stamp") == stamp:
            return cls._from_document(previous)
        if (
            previous is not None
            and previous.get("stamp", [])[:_TRACER_PARTS] != stamp[:_TRACER_PARTS]
        ):
            previous = None  # another tracer (this module or sqlglot changed): trace all again
        manifest = read_manifest(project, parse_if_stale=False)
        if not _has_compiled_sql(manifest):
            if not compile_if_needed:
                raise ProjectError(
                    f"{project.manifest_path} holds no compiled SQL; run `dbt compile` (or "
                    "`pitstop docs`) first"
                )
            project.run_dbt(["compile"])
            manifest = read_manifest(project, parse_if_stale=False)
            stamp = _stamp(project)
        catalog = read_catalog(project)
        from pitstop.registry.contract import Registry

        registry = Registry.from_manifest(manifest, project.vars, catalog)
        document = build_graph(manifest, catalog, registry, previous=previous)
        document["stamp"] = stamp
        _write_cache(cache_path, document)
        return cls._from_document(document)

    @classmethod
    def from_artifacts(
        cls,
        manifest: Mapping[str, Any],
        catalog: Mapping[str, Any] | None,
        registry: Registry | None = None,
    ) -> LineageGraph:
        """Trace a graph from already loaded artifacts (no cache, no dbt)."""
        return cls._from_document(build_graph(manifest, catalog, registry))

    @classmethod
    def _from_document(cls, document: Mapping[str, Any]) -> LineageGraph:
        return cls(
            nodes=dict(document["nodes"]),
            views=dict(document.get("views") or {}),
            services=dict(document.get("services") or {}),
            exposures=dict(document.get("exposures") or {}),
            has_catalog=bool(document.get("has_catalog", True)),
        )

    # -- upstream -----------------------------------------------------------------

    def column(self, node: str, column: str) -> LineageNode:
        """The upstream tree of ``column`` of node ``node`` (a unique_id).

        Raises:
            NotFoundError: no such node or column.
        """
        info = self._node(node)
        name = column.lower()
        if name not in info["columns"]:
            known = ", ".join(info["columns"]) or "none known"
            raise NotFoundError(
                f"{info['resource_type']} '{info['name']}' has no column '{column}' "
                f"(columns: {known})"
            )
        return self._tree(node, name, frozenset())

    def feature(self, ref: str) -> list[LineageNode]:
        """The upstream trees of ``view:feature``, or of every feature of ``view``.

        Raises:
            UnknownFeatureViewError: no such feature view.
            NotFoundError: the view has no such feature.
        """
        view_name, _, feature_name = ref.partition(":")
        view = self.views.get(view_name)
        if view is None:
            known = ", ".join(sorted(self.views)) or "none"
            raise UnknownFeatureViewError(f"unknown feature view '{view_name}' (known: {known})")
        features = list(view["features"])
        if feature_name:
            if feature_name not in features:
                raise NotFoundError(
                    f"feature view '{view_name}' has no feature '{feature_name}' "
                    f"(it has: {', '.join(features)})"
                )
            features = [feature_name]
        return [self.column(view["node"], name) for name in features]

    def _node(self, node: str) -> dict[str, Any]:
        try:
            return self.nodes[node]
        except KeyError:
            raise NotFoundError(f"no node '{node}' in the lineage graph") from None

    def _tree(self, node: str, column: str, path: frozenset[tuple[str, str]]) -> LineageNode:
        info = self.nodes.get(node) or _external(node)
        entry = info["columns"].get(column) or {}
        here = (node, column)
        children = tuple(
            self._tree(parent, parent_column, path | {here})
            for parent, parent_column in entry.get("from", ())
            if (parent, parent_column) not in path
        )
        return LineageNode(
            node=node,
            name=str(info["name"]),
            resource_type=str(info["resource_type"]),
            column=column,
            type=str(entry.get("type") or ""),
            unresolved=entry.get(UNRESOLVED),
            upstream=children,
        )

    # -- downstream ---------------------------------------------------------------

    def resolve_target(self, target: str) -> tuple[str, str | None]:
        """``model``, ``model.column``, ``source.table``, ``source.table.column``
        or a unique_id, as ``(unique_id, column or None)``.

        Raises:
            NotFoundError: nothing of that name, or the node has no such column.
        """
        names = self._names()
        if target in self.nodes:
            return target, None
        if target in names:
            return names[target], None
        head, dot, column = target.rpartition(".")
        if dot and head in names:
            uid = head if head in self.nodes else names[head]
            if column.lower() not in self.nodes[uid]["columns"]:
                info = self.nodes[uid]
                known = ", ".join(info["columns"]) or "none known"
                raise NotFoundError(
                    f"{info['resource_type']} '{info['name']}' has no column '{column}' "
                    f"(columns: {known})"
                )
            return uid, column.lower()
        raise NotFoundError(
            f"'{target}' names no model, seed, snapshot or source of the project (write "
            "MODEL, MODEL.COLUMN, SOURCE.TABLE or SOURCE.TABLE.COLUMN)"
        )

    def impact(self, target: str) -> dict[str, Any]:
        """What is downstream of a node or one of its columns: the columns
        computed from it, the feature columns among them, the feature services
        and registered models (exposures) that use those, and the downstream
        nodes whose lineage is unresolved and so might use it.

        Raises:
            NotFoundError: see `resolve_target`.
        """
        uid, column = self.resolve_target(target)
        info = self.nodes[uid]
        starts = [(uid, column)] if column else [(uid, c) for c in info["columns"]]
        children = self._children_index()
        reached: dict[tuple[str, str], None] = {}
        queue = list(starts)
        while queue:
            item = queue.pop()
            for child in children.get(item, ()):
                if child not in reached:
                    reached[child] = None
                    queue.append(child)
        columns = sorted(reached)
        feature_of = {
            (view["node"], name): f"{view_name}:{name}"
            for view_name, view in self.views.items()
            for name in view["features"]
        }
        if column is None:
            # the target itself may be a feature view: its own features change too
            reached.update({start: None for start in starts})
        features = sorted({feature_of[c] for c in reached if c in feature_of})
        touched_nodes = {node for node, _ in reached} | {uid}
        services = {}
        for name, service in self.services.items():
            used = [ref for ref in service["features"] if _ref_hits(ref, features)]
            if used or service["node"] in touched_nodes:
                services[name] = used
        downstream = self._descendants(uid)
        models = sorted(
            exposure["name"]
            for exposure in self.exposures.values()
            if set(exposure["depends_on"]) & (touched_nodes | downstream)
        )
        maybe = sorted(
            self.nodes[node]["name"]
            for node in downstream
            if node in self.nodes and _has_unresolved(self.nodes[node])
        )
        return {
            "target": {
                "node": uid,
                "name": info["name"],
                "resource_type": info["resource_type"],
                "column": column,
            },
            "columns": [
                {
                    "node": node,
                    "name": self.nodes[node]["name"],
                    "column": col,
                    "feature": feature_of.get((node, col)),
                }
                for node, col in columns
                if node in self.nodes
            ],
            "features": features,
            "services": [
                {"name": name, "features": used} for name, used in sorted(services.items())
            ],
            "registered_models": models,
            "downstream_nodes": sorted(
                self.nodes[n]["name"] for n in downstream if n in self.nodes
            ),
            "unresolved_downstream": maybe,
        }

    def _names(self) -> dict[str, str]:
        """Display name -> unique_id, for models, seeds, snapshots and sources."""
        names: dict[str, str] = {}
        for uid, info in self.nodes.items():
            names.setdefault(str(info["name"]), uid)
        return names

    def _children_index(self) -> dict[tuple[str, str], list[tuple[str, str]]]:
        if self._children is None:
            index: dict[tuple[str, str], list[tuple[str, str]]] = {}
            for uid, info in self.nodes.items():
                for name, entry in info["columns"].items():
                    for parent, parent_column in entry.get("from", ()):
                        index.setdefault((parent, parent_column), []).append((uid, name))
            self._children = index
        return self._children

    def _descendants(self, uid: str) -> set[str]:
        """Every node downstream of ``uid`` in dbt's model-level graph."""
        users: dict[str, list[str]] = {}
        for node, info in self.nodes.items():
            for parent in info.get("depends_on", ()):
                users.setdefault(parent, []).append(node)
        for exposure_id, exposure in self.exposures.items():
            for parent in exposure["depends_on"]:
                users.setdefault(parent, []).append(exposure_id)
        found: set[str] = set()
        queue = [uid]
        while queue:
            for child in users.get(queue.pop(), ()):
                if child not in found:
                    found.add(child)
                    queue.append(child)
        return found


def _ref_hits(ref: str, features: list[str]) -> bool:
    """Whether service reference ``view`` or ``view:feature`` covers an impacted feature."""
    if ":" in ref:
        return ref in features
    return any(f.startswith(ref + ":") for f in features)


def _has_unresolved(info: Mapping[str, Any]) -> bool:
    return bool(info.get("problem")) or any(
        entry.get(UNRESOLVED) for entry in info["columns"].values()
    )


def _external(node: str) -> dict[str, Any]:
    return {"name": node.removeprefix("relation:"), "resource_type": "relation", "columns": {}}


# -- building the graph ------------------------------------------------------------


def build_graph(
    manifest: Mapping[str, Any],
    catalog: Mapping[str, Any] | None,
    registry: Registry | None = None,
    previous: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Trace every model and snapshot of ``manifest``; the cache document.

    ``previous`` (an earlier document) lets unchanged nodes skip tracing: a
    node is traced again only when its compiled SQL or the columns of what it
    reads have changed.
    """
    dialect = _DIALECTS.get(str((manifest.get("metadata") or {}).get("adapter_type")), "duckdb")
    catalog_nodes = {
        **((catalog or {}).get("nodes") or {}),
        **((catalog or {}).get("sources") or {}),
    }
    all_nodes: dict[str, Mapping[str, Any]] = {
        uid: node
        for uid, node in (manifest.get("nodes") or {}).items()
        if node.get("resource_type") in (*_TRACED, "seed")
    }
    all_nodes.update(manifest.get("sources") or {})
    old_nodes: Mapping[str, Any] = (previous or {}).get("nodes") or {}
    tables = _RelationIndex(all_nodes, dialect)

    out: dict[str, dict[str, Any]] = {}
    columns_of: dict[str, list[str]] = {}  # output columns, for downstream `select *`
    for uid in _topological(all_nodes):
        node = all_nodes[uid]
        known = _known_columns(node, catalog_nodes.get(uid))
        kind = str(node.get("resource_type"))
        entry: dict[str, Any] = {
            "name": _display_name(node),
            "resource_type": kind,
            "relation": str(node.get("relation_name") or ""),
            "depends_on": list((node.get("depends_on") or {}).get("nodes") or []),
            "problem": None,
        }
        if kind in _LEAVES:
            traced: dict[str, Any] = {"columns": {c: {"from": []} for c in known}}
        else:
            key = _node_key(node, entry["depends_on"], columns_of, known, dialect)
            old = old_nodes.get(uid)
            if old is not None and old.get("key") == key:
                traced = {"columns": old["columns"], "problem": old.get("problem")}
            else:
                traced = _trace_node(node, dialect, tables, columns_of, known)
            traced["key"] = key
        entry.update(traced)
        out[uid] = entry
        columns_of[uid] = list(entry["columns"])

    _add_used_leaf_columns(out)
    types = _column_types(all_nodes, catalog_nodes)
    for uid, entry in out.items():
        for name, column in entry["columns"].items():
            column["type"] = types.get(uid, {}).get(name, "")

    return {
        "version": _CACHE_VERSION,
        "nodes": out,
        "views": _views(registry),
        "services": _services(registry),
        "exposures": _exposures(manifest),
        "has_catalog": catalog is not None,
    }


def _views(registry: Registry | None) -> dict[str, dict[str, Any]]:
    if registry is None:
        return {}
    return {
        name: {"node": view.unique_id, "features": [f.name for f in view.features]}
        for name, view in registry.views.items()
    }


def _services(registry: Registry | None) -> dict[str, dict[str, Any]]:
    if registry is None:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for name, service in registry.services.items():
        out[name] = {"node": service.unique_id, "features": list(service.features)}
    return out


def _exposures(manifest: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        uid: {
            "name": str(exposure.get("label") or exposure.get("name")),
            "type": str(exposure.get("type", "")),
            "depends_on": list((exposure.get("depends_on") or {}).get("nodes") or []),
        }
        for uid, exposure in (manifest.get("exposures") or {}).items()
    }


def _display_name(node: Mapping[str, Any]) -> str:
    if node.get("resource_type") == "source":
        return f"{node.get('source_name')}.{node.get('name')}"
    return str(node.get("name"))


def _topological(nodes: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Unique ids with every node after the nodes it depends on (cycles broken)."""
    order: list[str] = []
    state: dict[str, int] = {}
    for start in sorted(nodes):
        if start in state:
            continue
        stack: list[tuple[str, Iterator[str]]] = [(start, iter(_parents(nodes[start])))]
        state[start] = 1
        while stack:
            uid, parents = stack[-1]
            for parent in parents:
                if parent in nodes and parent not in state:
                    state[parent] = 1
                    stack.append((parent, iter(_parents(nodes[parent]))))
                    break
            else:
                stack.pop()
                state[uid] = 2
                order.append(uid)
    return order


def _parents(node: Mapping[str, Any]) -> list[str]:
    return sorted((node.get("depends_on") or {}).get("nodes") or [])


def _known_columns(node: Mapping[str, Any], catalog_entry: Mapping[str, Any] | None) -> list[str]:
    """Column names the artifacts declare: catalog, else YAML, else a seed's CSV header."""
    if catalog_entry and catalog_entry.get("columns"):
        items = sorted(catalog_entry["columns"].values(), key=lambda c: int(c.get("index") or 0))
        return [str(c["name"]).lower() for c in items]
    names = [str(name).lower() for name in (node.get("columns") or {})]
    if node.get("resource_type") == "seed":
        header = _seed_header(node)
        if header:
            return header
    return names


def _seed_header(node: Mapping[str, Any]) -> list[str]:
    path = Path(str(node.get("root_path") or "")) / str(node.get("original_file_path") or "")
    try:
        with path.open(newline="") as handle:
            return [name.strip().lower() for name in next(csv.reader(handle), [])]
    except OSError:
        return []


def _column_types(
    nodes: Mapping[str, Mapping[str, Any]], catalog_nodes: Mapping[str, Any]
) -> dict[str, dict[str, str]]:
    """Types per node and column: the catalog first, then the YAML ``data_type``."""
    types: dict[str, dict[str, str]] = {}
    for uid, node in nodes.items():
        mine = types.setdefault(uid, {})
        for name, column in (node.get("columns") or {}).items():
            if column.get("data_type"):
                mine[str(name).lower()] = str(column["data_type"]).lower()
        seed_types = (node.get("config") or {}).get("column_types") or {}
        for name, kind in seed_types.items():
            mine.setdefault(str(name).lower(), str(kind).lower())
        for column in ((catalog_nodes.get(uid) or {}).get("columns") or {}).values():
            mine[str(column["name"]).lower()] = str(column.get("type", "")).lower()
    return types


def _node_key(
    node: Mapping[str, Any],
    parents: list[str],
    columns_of: Mapping[str, list[str]],
    known: list[str],
    dialect: str,
) -> str:
    """What a node's tracing depends on: its SQL, its inputs' columns, its declared columns."""
    payload = json.dumps(
        [
            _CACHE_VERSION,
            dialect,
            node.get("compiled_code"),
            (node.get("config") or {}).get("strategy"),
            (node.get("config") or {}).get("updated_at"),
            {parent: columns_of.get(parent) for parent in parents},
            known,
        ],
        sort_keys=True,
    )
    return hashlib.sha1(payload.encode(), usedforsecurity=False).hexdigest()


def _add_used_leaf_columns(out: dict[str, dict[str, Any]]) -> None:
    """Columns of sources and seeds that only their users reveal (no catalog)."""
    for entry in list(out.values()):
        for column in entry["columns"].values():
            for parent, parent_column in column.get("from", ()):
                target = out.get(parent)
                if target is not None and parent_column not in target["columns"]:
                    marker = (
                        None
                        if target["resource_type"] in _LEAVES
                        else "not among the columns known for this node"
                    )
                    target["columns"][parent_column] = {"from": [], UNRESOLVED: marker}


class _RelationIndex:
    """Finds the dbt node a table reference in compiled SQL points at."""

    def __init__(self, nodes: Mapping[str, Mapping[str, Any]], dialect: str) -> None:
        self.by_key: dict[tuple[str, ...], list[str]] = {}
        for uid, node in nodes.items():
            relation = node.get("relation_name")
            if not relation:
                continue
            parts = _table_parts(str(relation), dialect)
            if parts is None:
                continue
            for size in range(1, len(parts) + 1):
                self.by_key.setdefault(parts[-size:], []).append(uid)

    def find(self, table: exp.Table, prefer: Iterable[str]) -> str | None:
        parts = tuple(part.lower() for part in (table.catalog, table.db, table.name) if part)
        candidates = self.by_key.get(parts) or []
        if len(candidates) > 1:
            # a source declared over a seed's table shares its relation: the SQL
            # read source(), so the source is the upstream (it is in depends_on too)
            wanted = set(prefer)
            preferred = [uid for uid in candidates if uid in wanted] or candidates
            candidates = [uid for uid in preferred if uid.startswith("source.")] or preferred
        return candidates[0] if candidates else None


def _table_parts(relation: str, dialect: str) -> tuple[str, ...] | None:
    import sqlglot
    from sqlglot import exp

    try:
        table = exp.to_table(relation, dialect=dialect)
    except sqlglot.errors.SqlglotError:
        return None
    parts = tuple(part.lower() for part in (table.catalog, table.db, table.name) if part)
    return parts or None


def _trace_node(
    node: Mapping[str, Any],
    dialect: str,
    tables: _RelationIndex,
    columns_of: Mapping[str, list[str]],
    known: list[str],
) -> dict[str, Any]:
    """Trace one model or snapshot: ``{"columns": {...}, "problem": str | None}``."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.optimizer.scope import build_scope

    def unresolved(reason: str) -> dict[str, Any]:
        return {
            "columns": {c: {"from": [], UNRESOLVED: reason} for c in known},
            "problem": reason,
        }

    code = node.get("compiled_code")
    if not isinstance(code, str) or not code.strip():
        return unresolved("no compiled SQL in the manifest (run `dbt compile`)")
    try:
        tree = sqlglot.parse_one(code, dialect=dialect)
    except sqlglot.errors.SqlglotError as exc:
        return unresolved(f"sqlglot cannot parse the compiled SQL: {_first_line(exc)}")
    if not isinstance(tree, exp.Query):
        return unresolved("the compiled SQL is not a query")
    uid = str(node["unique_id"])
    parents = list((node.get("depends_on") or {}).get("nodes") or [])
    # an incremental model may read itself ({{ this }}): its declared columns
    schema = _schema([*parents, uid], {**columns_of, uid: known}, tables, dialect)
    root = None
    # sqlglot refuses to qualify a subquery's column when a relation's columns
    # are unknown; then trace without qualifying columns (the tracer resolves a
    # column of a single-relation select, and says "unresolved" otherwise)
    for qualify_columns in (True, False):
        try:
            qualified = qualify(
                tree.copy(),
                dialect=dialect,
                schema=schema,
                qualify_columns=qualify_columns,
                validate_qualify_columns=False,
                quote_identifiers=False,
                identify=False,
            )
            root = build_scope(qualified)
            break
        except (sqlglot.errors.SqlglotError, KeyError, ValueError, TypeError) as exc:
            if not qualify_columns:
                return unresolved(f"sqlglot cannot resolve the compiled SQL: {_first_line(exc)}")
    if root is None:
        return unresolved("the compiled SQL has no query scope")
    tracer = _Tracer(uid, lambda table: tables.find(table, parents))
    names = tracer.output_names(root)
    if "*" in names or not names:
        # the outermost select keeps a `*` sqlglot could not expand: ask for the
        # columns the artifacts declare and trace each through the star
        names = [n for n in names if n != "*"] + [c for c in known if c not in names]
    columns: dict[str, dict[str, Any]] = {}
    for name in names:
        parents_found, reasons = tracer.trace(root, name)
        columns[name] = {
            "from": sorted([list(p) for p in parents_found]),
            UNRESOLVED: "; ".join(dict.fromkeys(reasons)) or None,
        }
    if node.get("resource_type") == "snapshot":
        _snapshot_columns(node, columns)
    return {"columns": columns, "problem": None}


def _schema(
    parents: list[str],
    columns_of: Mapping[str, list[str]],
    tables: _RelationIndex,
    dialect: str,
) -> dict[str, Any]:
    """The sqlglot schema of the relations a node reads: {catalog: {db: {table: cols}}}."""
    schema: dict[str, Any] = {}
    by_uid = {uid: key for key, uids in tables.by_key.items() for uid in uids if len(key) >= 2}
    for parent in parents:
        columns = columns_of.get(parent)
        key = by_uid.get(parent)
        if not columns or key is None:
            continue
        level = schema
        for part in key[:-1]:
            level = level.setdefault(part, {})
        level[key[-1]] = {name: "unknown" for name in columns}
    return _even_depth(schema)


def _even_depth(schema: dict[str, Any]) -> dict[str, Any]:
    """sqlglot wants every table at the same depth: keep the deepest form only."""

    def depth(level: Mapping[str, Any]) -> int:
        values = list(level.values())
        if not values or not isinstance(values[0], dict):
            return 0
        return 1 + max(depth(v) for v in values)

    if not schema:
        return schema
    deepest = max(depth(v) for v in schema.values())
    return {k: v for k, v in schema.items() if depth(v) == deepest}


def _snapshot_columns(node: Mapping[str, Any], columns: dict[str, dict[str, Any]]) -> None:
    """The columns dbt adds to a snapshot, and what they derive from: with the
    timestamp strategy the validity columns come from ``updated_at``, the
    ``dbt_scd_id`` from the unique key and ``updated_at``; with the check
    strategy they are the snapshot's run time (no column)."""
    config = node.get("config") or {}
    configured = config.get("snapshot_meta_column_names") or {}
    names = {k: str(configured.get(k) or v).lower() for k, v in _SNAPSHOT_META.items()}
    updated_at = str(config.get("updated_at") or "").lower()
    keys = config.get("unique_key") or []
    keys = [keys] if isinstance(keys, str) else list(keys)
    timed = config.get("strategy") == "timestamp" and updated_at in columns
    at = [list(pair) for pair in columns[updated_at]["from"]] if timed else []
    identity = {
        tuple(pair) for key in keys for pair in columns.get(str(key).lower(), {}).get("from", [])
    }
    identity |= {tuple(pair) for pair in at}
    for meta in ("dbt_updated_at", "dbt_valid_from", "dbt_valid_to"):
        columns[names[meta]] = {"from": at, UNRESOLVED: None}
    columns[names["dbt_scd_id"]] = {"from": sorted(list(p) for p in identity), UNRESOLVED: None}
    if config.get("hard_deletes") == "new_record":
        columns[names["dbt_is_deleted"]] = {"from": [], UNRESOLVED: None}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


_Trace = tuple[set[tuple[str, str]], list[str]]


class _Tracer:
    """Traces output columns of one node's qualified query to physical tables."""

    def __init__(self, uid: str, find_table: Callable[[exp.Table], str | None]) -> None:
        self.uid = uid
        self.find_table = find_table
        self.memo: dict[tuple[int, str], _Trace] = {}
        self.active: set[tuple[int, str]] = set()

    def output_names(self, scope: Scope) -> list[str]:
        from sqlglot import exp

        expression = scope.expression
        if isinstance(expression, exp.SetOperation):
            return self.output_names(scope.set_operation_scopes[0])
        if not isinstance(expression, exp.Select):
            return []
        names: list[str] = []
        for projection in expression.selects:
            if _is_star(projection):
                names.append("*")
            else:
                names.append(projection.alias_or_name.lower())
        return names

    def trace(self, scope: Scope, name: str) -> _Trace:
        key = (id(scope), name)
        if key in self.memo:
            return self.memo[key]
        if key in self.active:
            return set(), [f"column {name} is defined recursively"]
        self.active.add(key)
        try:
            result = self._trace(scope, name)
        finally:
            self.active.discard(key)
        self.memo[key] = result
        return result

    def _trace(self, scope: Scope, name: str) -> _Trace:
        from sqlglot import exp

        expression = scope.expression
        if isinstance(expression, exp.SetOperation):
            names = self.output_names(scope)
            if name not in names:
                return set(), [f"column {name} is not an output of the union"]
            index = names.index(name)
            found: set[tuple[str, str]] = set()
            reasons: list[str] = []
            for branch in scope.set_operation_scopes:
                branch_names = self.output_names(branch)
                if index >= len(branch_names) or branch_names[index] == "*":
                    reasons.append(f"column {name}: a union branch selects `*` of unknown columns")
                    continue
                more, why = self.trace(branch, branch_names[index])
                found |= more
                reasons += why
            return found, reasons
        if not isinstance(expression, exp.Select):
            return set(), [f"column {name} comes from a {type(expression).__name__.lower()}"]
        for projection in expression.selects:
            if not _is_star(projection) and projection.alias_or_name.lower() == name:
                return self._projection(scope, expression, projection)
        stars = [p for p in expression.selects if _is_star(p)]
        if stars:
            return self._through_star(scope, name, stars)
        return set(), [f"no column {name} in the select"]

    def _through_star(self, scope: Scope, name: str, stars: list[exp.Expr]) -> _Trace:
        """A column read through a `*` sqlglot could not expand: sound only when
        the star covers exactly one relation."""
        from sqlglot import exp

        candidates: set[str] = set()
        for star in stars:
            excluded = {
                e.name.lower() for e in (star.args.get("except") or star.args.get("exclude") or [])
            }
            if name in excluded:
                continue
            if isinstance(star, exp.Column) and star.table:
                candidates.add(star.table)
            else:
                candidates.update(scope.selected_sources)
        if len(candidates) != 1:
            return set(), [
                f"column {name} comes from `select *` over "
                f"{'several relations' if candidates else 'nothing'} with unknown columns"
            ]
        return self._column(scope, candidates.pop(), name)

    def _projection(self, scope: Scope, select: exp.Select, projection: exp.Expr) -> _Trace:
        from sqlglot import exp

        body = projection.this if isinstance(projection, exp.Alias) else projection
        columns = [c for c in _own_columns(body)]
        for window in body.find_all(exp.Window):
            named = window.args.get("alias")
            if named is not None:
                columns += _named_window_columns(select, named.name)
        if select.args.get("group") is not None and _aggregates(body):
            columns += _group_columns(select)
        found: set[tuple[str, str]] = set()
        reasons: list[str] = []
        for column in columns:
            if isinstance(column.this, exp.Star):
                continue
            more, why = self._column(scope, column.table, column.name.lower())
            found |= more
            reasons += why
        for subquery in body.find_all(exp.Subquery):
            child = _child_scope(scope, subquery)
            if child is None:
                reasons.append("a subquery sqlglot could not scope")
                continue
            names = self.output_names(child)
            if names and names[0] != "*":
                more, why = self.trace(child, names[0])
                found |= more
                reasons += why
        return found, reasons

    def _column(self, scope: Scope, table: str, name: str) -> _Trace:
        from sqlglot import exp
        from sqlglot.optimizer.scope import Scope as ScopeType

        if not table:
            if len(scope.sources) == 1:
                table = next(iter(scope.sources))
            else:
                return set(), [f"column {name} is not qualified and the select reads several"]
        owner: Scope | None = scope
        while owner is not None and table not in owner.sources:
            owner = owner.parent
        if owner is None:
            return set(), [f"column {table}.{name} reads a relation sqlglot could not find"]
        source = owner.sources[table]
        if isinstance(source, ScopeType):
            return self.trace(source, name)
        if isinstance(source, exp.Table) and isinstance(source.this, exp.Identifier):
            uid = self.find_table(source)
            if uid == self.uid:
                return set(), []  # an incremental model's own previous state
            if uid is None:
                uid = "relation:" + ".".join(
                    p for p in (source.catalog, source.db, source.name) if p
                )
            return {(uid, name)}, []
        return set(), [f"column {name} comes from a table function or unnest"]


def _is_star(projection: exp.Expr) -> bool:
    from sqlglot import exp

    return isinstance(projection, exp.Star) or (
        isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)
    )


def _own_columns(body: exp.Expr) -> Iterator[exp.Column]:
    """Columns of an expression, leaving out those inside its subqueries."""
    from sqlglot import exp

    for column in body.find_all(exp.Column):
        node: exp.Expr | None = column
        inside = False
        while node is not None and node is not body:
            node = node.parent
            if isinstance(node, exp.Subquery | exp.Select) and node is not body:
                inside = True
                break
        if not inside:
            yield column


def _named_window_columns(select: exp.Select, name: str) -> list[exp.Column]:
    from sqlglot import exp

    for definition in select.args.get("windows") or []:
        if definition.this is not None and definition.this.name.lower() == name.lower():
            columns = [c for c in definition.find_all(exp.Column)]
            # a named window may extend another one: `w2 as (w1 order by x)`
            base = definition.args.get("alias")
            if base is not None and base.name.lower() != name.lower():
                columns += _named_window_columns(select, base.name)
            return columns
    return []


def _aggregates(body: exp.Expr) -> bool:
    """Whether the expression aggregates rows (outside any window function)."""
    from sqlglot import exp

    for aggregate in body.find_all(exp.AggFunc):
        parent: exp.Expr | None = aggregate
        windowed = False
        while parent is not None and parent is not body:
            parent = parent.parent
            if isinstance(parent, exp.Window):
                windowed = True
                break
        if not windowed:
            return True
    return False


def _group_columns(select: exp.Select) -> list[exp.Column]:
    from sqlglot import exp

    group = select.args["group"]
    columns: list[exp.Column] = []
    if group.args.get("all"):
        for projection in select.selects:
            body = projection.this if isinstance(projection, exp.Alias) else projection
            if not _aggregates(body):
                columns += list(_own_columns(body))
        return columns
    for item in group.expressions:
        if isinstance(item, exp.Literal) and item.is_int:
            index = int(item.name) - 1
            if 0 <= index < len(select.selects):
                columns += list(_own_columns(select.selects[index]))
            continue
        columns += list(_own_columns(item))
    return columns


def _child_scope(scope: Scope, subquery: exp.Subquery) -> Scope | None:
    for child in scope.subquery_scopes:
        if child.expression is subquery.this or child.expression.parent is subquery:
            return child
    return None


def _has_compiled_sql(manifest: Mapping[str, Any]) -> bool:
    """Whether the manifest was written by a command that compiles (not ``dbt parse``)."""
    models = [
        node
        for node in (manifest.get("nodes") or {}).values()
        if node.get("resource_type") in _TRACED
    ]
    return not models or any(node.get("compiled_code") for node in models)


# -- the cache -------------------------------------------------------------------


def _stamp(project: Project) -> list[Any]:
    """What the cache is valid for: the artifacts' sizes and mtimes, the project
    file (entities) and the tracer: this module and the installed sqlglot, by
    their files (importing sqlglot would cost more than the whole cached answer)."""
    import importlib.util

    spec = importlib.util.find_spec("sqlglot")
    stamp: list[Any] = [_CACHE_VERSION]
    for path in (
        Path(__file__),
        Path(spec.origin) if spec is not None and spec.origin else Path("sqlglot"),
        project.manifest_path,
        project.target_path / "catalog.json",
        project.root / "dbt_project.yml",
    ):
        try:
            stat = path.stat()
            stamp.append([stat.st_mtime_ns, stat.st_size])
        except OSError:
            stamp.append(None)
    return stamp


def _read_cache(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != _CACHE_VERSION:
        return None
    return data


def _write_cache(path: Path, document: Mapping[str, Any]) -> None:
    """Write atomically: a reader never sees half a cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(document, separators=(",", ":")))
    os.replace(temporary, path)
