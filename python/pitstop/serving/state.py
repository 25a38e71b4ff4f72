"""What the server serves from, and how it follows new builds and materializations.

A `ServingState` is an immutable value: the registry read from dbt's manifest,
the per-view access policy, and the online lookup state with the store's
registry snapshot. `StateLoader.refresh` builds the next value when the
manifest file or the store's metadata changed; the server swaps one reference,
so a request in flight keeps the state it started with (old plans keep
working against the old snapshot, new requests see the new one) and no
request ever sees half a reload. A reload that fails (a manifest being
rewritten, a store briefly unreachable) keeps the previous state and is
retried at the next check.

No HTTP here: the server calls `refresh` from a background task.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pitstop.errors import PitstopError
from pitstop.online.base import OnlineStore, get_online_store, online_store_config
from pitstop.online.lookup import OnlineLookup
from pitstop.online.spec import RegistrySnapshot
from pitstop.project import Project
from pitstop.registry import Registry
from pitstop.serving.auth import AccessPolicy

__all__ = ["ServingState", "StateLoader", "ViewInfo"]

log = logging.getLogger("pitstop.serving")

_Stamp = tuple[int, int, int]


@dataclass(frozen=True)
class ViewInfo:
    """What the manifest says about a view beyond the registry contract."""

    unique_id: str
    group: str | None
    access: str | None
    upstream: tuple[tuple[str, str], ...]  # (resource type, name)
    downstream: tuple[tuple[str, str], ...]
    # registered models reading the view, from the ml exposures
    # `pitstop models exposures` writes (meta.feature_views)
    models: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class ServingState:
    """One consistent view of the registry and the online store.

    Attributes:
        registry: the registry (``None`` until a manifest could be read).
        access: who may read which view.
        views: per view, manifest details (group, access, lineage).
        lookup: the online lookup state (``None`` while the store is empty or
            unreachable).
        snapshot: the store's registry snapshot as stored (to notice changes).
        watermarks: per view, the last materialization's watermark.
        registry_error, store_error: why either part is missing or stale.
        generation: increases with every swap (tests and /ready report it).
    """

    registry: Registry | None = None
    access: AccessPolicy = field(default_factory=lambda: AccessPolicy({}, {}))
    views: Mapping[str, ViewInfo] = field(default_factory=dict)
    lookup: OnlineLookup | None = None
    snapshot: Any = None
    watermarks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    registry_error: str | None = "not loaded yet"
    store_error: str | None = "not loaded yet"
    manifest_stamp: tuple[_Stamp | None, _Stamp | None] | None = None
    generation: int = 0

    @property
    def online_views(self) -> tuple[str, ...]:
        """The views the online store holds."""
        snapshot = self.lookup.snapshot if self.lookup is not None else None
        return tuple(snapshot.views) if snapshot is not None else ()

    def materialized_at_us(self, view: str) -> int | None:
        """The ``as_of`` (µs since the epoch) of ``view``'s last materialization."""
        mark = self.watermarks.get(view)
        value = mark.get("as_of_us") if mark else None
        return value if isinstance(value, int) else None


def _stamp(path: Path) -> _Stamp | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class StateLoader:
    """Builds `ServingState` values for one project and its online store."""

    def __init__(self, project: Project, store: OnlineStore | None = None) -> None:
        self.project = project
        self.store = store or get_online_store(online_store_config(project.vars, project.root))

    @classmethod
    def for_project_dir(cls, project_dir: str | Path | None, target: str | None) -> StateLoader:
        return cls(Project.find(project_dir, target=target))

    def refresh(self, state: ServingState) -> ServingState:
        """The state after re-reading what changed since ``state`` (or ``state``
        itself when nothing did). Blocking: run it off the event loop."""
        new = self._refresh_registry(state)
        new = self._refresh_store(new)
        if new is not state:
            new = replace(new, generation=state.generation + 1)
        return new

    # -- the manifest --------------------------------------------------------

    def _refresh_registry(self, state: ServingState) -> ServingState:
        project = self.project
        stamp = (_stamp(project.manifest_path), _stamp(project.target_path / "catalog.json"))
        if stamp == state.manifest_stamp and state.registry is not None:
            return state
        from pitstop.registry.manifest import read_catalog, read_manifest

        try:
            # a fresh Project re-reads dbt_project.yml (entities live in its vars)
            fresh = Project(project.root, target=project.target)
            manifest = read_manifest(fresh, parse_if_stale=False)
            registry = Registry.from_manifest(manifest, fresh.vars, read_catalog(fresh))
            access = AccessPolicy.from_manifest(manifest, registry.views)
            views = _view_infos(manifest, registry)
        except PitstopError as exc:
            message = f"{type(exc).__name__}: {exc}"
            if message != state.registry_error:
                log.warning("registry not reloaded (keeping the previous one): %s", message)
            # the stamp is not recorded, so the next check tries again
            return replace(state, registry_error=message)
        log.info("registry loaded: %d feature views", len(registry.views))
        return replace(
            state,
            registry=registry,
            access=access,
            views=views,
            registry_error=None,
            manifest_stamp=stamp,
        )

    # -- the online store ----------------------------------------------------

    def _refresh_store(self, state: ServingState) -> ServingState:
        try:
            meta = self.store.metadata()
            snapshot = RegistrySnapshot.from_json(meta.snapshot)
        except Exception as exc:  # a store client's own errors too: keep serving
            message = f"{type(exc).__name__}: {exc}"
            if message != state.store_error:
                log.warning("online store metadata unreadable: %s", message)
            return replace(state, store_error=message)
        if snapshot is None:
            message = (
                f"the online store ({self.store.kind}) holds nothing yet; run `pitstop materialize`"
            )
            if state.lookup is None and state.store_error == message:
                return state
            return replace(state, lookup=None, snapshot=None, store_error=message)
        if (
            state.lookup is not None
            and meta.snapshot == state.snapshot
            and meta.watermarks == state.watermarks
            and state.store_error is None
        ):
            return state
        lookup = state.lookup
        if lookup is None or meta.snapshot != state.snapshot:
            # a new lookup state: plans resolved against the new snapshot, while
            # requests holding the old one finish with it
            lookup = OnlineLookup(self.store)
            lookup.snapshot = snapshot
            log.info("online snapshot loaded: %d views", len(snapshot.views))
        return replace(
            state,
            lookup=lookup,
            snapshot=meta.snapshot,
            watermarks=dict(meta.watermarks),
            store_error=None,
        )

    def check_store(self) -> None:
        """A live round trip to the store (``/ready``); raises on failure."""
        self.store.metadata()

    def close(self) -> None:
        self.store.close()


def _view_infos(manifest: Mapping[str, Any], registry: Registry) -> dict[str, ViewInfo]:
    nodes: Mapping[str, Any] = manifest.get("nodes") or {}
    everything: dict[str, Any] = {**nodes}
    for section in ("sources", "exposures", "metrics", "semantic_models", "saved_queries"):
        everything.update(manifest.get(section) or {})
    parents: Mapping[str, list[str]] = manifest.get("parent_map") or {}
    children: Mapping[str, list[str]] = manifest.get("child_map") or {}

    def label(unique_id: str) -> tuple[str, str]:
        node = everything.get(unique_id) or {}
        kind = str(node.get("resource_type") or unique_id.split(".", 1)[0])
        name = str(node.get("name") or unique_id.rsplit(".", 1)[-1])
        if kind == "source" and node.get("source_name"):
            name = f"{node['source_name']}.{name}"
        return kind, name

    models: dict[str, list[Mapping[str, Any]]] = {}
    for exposure in (manifest.get("exposures") or {}).values():
        if exposure.get("type") != "ml":
            continue
        meta = exposure.get("meta") or (exposure.get("config") or {}).get("meta") or {}
        for view_name in meta.get("feature_views") or ():
            models.setdefault(str(view_name), []).append(
                {
                    "name": meta.get("mlflow_model", exposure.get("name")),
                    "alias": meta.get("alias"),
                    "version": meta.get("version"),
                    "exposure": exposure.get("name"),
                }
            )

    infos: dict[str, ViewInfo] = {}
    for view in registry.views.values():
        node = nodes.get(view.unique_id) or {}
        config = node.get("config") or {}
        infos[view.name] = ViewInfo(
            unique_id=view.unique_id,
            group=node.get("group") or config.get("group"),
            access=node.get("access") or config.get("access"),
            upstream=tuple(sorted(label(u) for u in parents.get(view.unique_id, ()))),
            downstream=tuple(sorted(label(u) for u in children.get(view.unique_id, ()))),
            models=tuple(models.get(view.name, ())),
        )
    return infos


def now_us() -> int:
    """The current time in µs since the epoch."""
    return time.time_ns() // 1000
