"""The online-store interface and the registry of store kinds.

An online store holds, per feature view, one packed value per entity key
(see `pitstop.online.codec`), plus a small metadata record: the registry
snapshot lookups need (so they never parse the dbt project) and one
watermark per view (so `materialize` is incremental). Both live in the store
itself and are replaced, never appended to, by each run.

Writing goes through an `OnlineWriter`, a unit of work that publishes
atomically: readers see everything a run wrote, or nothing of it, and a
writer that dies without `commit` leaves the store as it was.

A store that is damaged (corrupt pages, a view's table or hash deleted, a
metadata record or value that does not decode) raises `OnlineStoreError`
saying how to recover, never a traceback and never a silent "0 rows".
"""

from __future__ import annotations

import importlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, cast

from pitstop.errors import OnlineStoreError
from pitstop.settings import env as setting

__all__ = [
    "REBUILD_HINT",
    "STORES",
    "Key",
    "OnlineMetadata",
    "OnlineStore",
    "OnlineWriter",
    "Row",
    "WaitCallback",
    "get_online_store",
    "lost_views_error",
    "online_store_config",
    "parse_metadata",
]

Key = int | str
# (encoded key, feature timestamp us, created timestamp us or None, packed value)
Row = tuple[Key, int, int | None, bytes]

# store kind -> "module:Class"; imported only when that kind is used
STORES: dict[str, str] = {
    "sqlite": "pitstop.online.sqlite:SQLiteOnlineStore",
    "redis": "pitstop.online.redis:RedisOnlineStore",
}
DEFAULT_CONFIG: dict[str, Any] = {"type": "sqlite", "path": ".pitstop/online.sqlite"}
ENV_VAR = "PITSTOP_ONLINE_STORE"
#: what to do about a store whose metadata or values are unusable
REBUILD_HINT = "rebuild it with `pitstop materialize --full-refresh`"
#: called with one human-readable line when a writer has to wait for another
WaitCallback = Callable[[str], None]


@dataclass
class OnlineMetadata:
    """What a store knows about itself besides the values.

    Attributes:
        snapshot: the registry snapshot written by the last materialize
            (``{"views": {...}, "services": {...}}``), or ``None`` when empty.
        watermarks: per view, where the last materialize stopped
            (``as_of_us``, ``max_created_us``, ``layout``).
    """

    snapshot: dict[str, Any] | None = None
    watermarks: dict[str, dict[str, Any]] = field(default_factory=dict)


def parse_metadata(
    snapshot: str | bytes | None, watermarks: str | bytes | None, where: str
) -> OnlineMetadata:
    """The stored metadata record (JSON text) as `OnlineMetadata`.

    Raises:
        OnlineStoreError: a record is not the JSON a materialize writes (the
            store was edited or damaged), with the way to recover.
    """
    try:
        snap = json.loads(snapshot) if snapshot else None
        marks = json.loads(watermarks) if watermarks else {}
        if snap is not None and not isinstance(snap, dict):
            raise ValueError("the snapshot is not a JSON object")
        if not isinstance(marks, dict) or not all(isinstance(m, dict) for m in marks.values()):
            raise ValueError("the watermarks are not a JSON object of objects")
    except (ValueError, UnicodeDecodeError) as exc:
        raise OnlineStoreError(
            f"the online store {where} holds unreadable metadata ({exc}); {REBUILD_HINT}"
        ) from None
    return OnlineMetadata(snapshot=snap, watermarks=marks)


def lost_views_error(where: str, views: Sequence[str]) -> OnlineStoreError:
    """The error for views whose table or hash is gone while the metadata lists
    them: an incremental run would write "0 rows" into nothing and lookups would
    fail, so materialize stops and says how to rebuild them."""
    names = ", ".join(views)
    selects = " ".join(f"--select {view}" for view in views)
    return OnlineStoreError(
        f"the online store {where} has lost the values of view(s) {names} (their table or "
        "hash was deleted, or the store was edited or damaged) although its metadata lists "
        f"them; rebuild with `pitstop materialize --full-refresh` (or only those: "
        f"`pitstop materialize --full-refresh {selects}`)"
    )


class OnlineWriter(ABC):
    """One materialize run's unit of work on a store.

    Creating it takes the store's writer exclusivity (a second concurrent
    materialize waits or fails, it never interleaves). Nothing is visible to
    readers before `commit`; leaving the ``with`` block without committing, or
    the process dying, discards everything.
    """

    #: `write_columns` binds values fastest as ``bytearray`` (materialize then
    #: packs them so); else as ``bytes``
    bytearray_values: bool = False

    @abstractmethod
    def metadata(self) -> OnlineMetadata:
        """The metadata as of the start of this unit of work."""

    @abstractmethod
    def reset(self, view: str, integer_key: bool) -> None:
        """Start ``view`` from empty (first run, full refresh or a schema change).

        Args:
            view: the feature view.
            integer_key: the entity has a single integer key (stores may keep it native).
        """

    @abstractmethod
    def write(self, view: str, rows: Sequence[Row]) -> int:
        """Upsert rows of ``view``; never replaces a value whose
        (feature timestamp, created timestamp) is newer than the row's.

        Returns:
            how many entity values were written (rows that lost to a newer
            stored value are not counted).
        """

    def write_columns(
        self,
        view: str,
        keys: Sequence[Key],
        ts: Sequence[int],
        cts: Sequence[int | None],
        values: Sequence[bytes] | Sequence[bytearray],
    ) -> int:
        """`write` given the rows as columns (how `materialize` has them), so
        that a store can bind them without building a tuple per row; the
        default builds the tuples. ``values`` are ``bytearray`` when the writer
        says it binds those fastest (`bytearray_values`)."""
        blobs: Sequence[bytes] = (
            [bytes(value) for value in values]
            if self.bytearray_values
            else cast("Sequence[bytes]", values)
        )
        return self.write(view, list(zip(keys, ts, cts, blobs, strict=True)))

    @abstractmethod
    def drop(self, view: str) -> None:
        """Delete ``view`` and all its values, published with `commit` (a view
        removed from the project or no longer ``online``)."""

    @abstractmethod
    def missing(self, views: Sequence[str]) -> list[str]:
        """Of ``views``, which have no table / hash in the store although the
        metadata says they hold values: the store was damaged or edited."""

    def check(self) -> None:  # noqa: B027 - optional hook, Redis checks itself
        """Verify the store's integrity before anything is written (may take a
        while on a big store: materialize runs it while DuckDB reads the first view).

        Raises:
            OnlineStoreError: the store is damaged, with the way to recover.
        """

    @abstractmethod
    def commit(self, snapshot: dict[str, Any], watermarks: dict[str, dict[str, Any]]) -> None:
        """Publish every write of this unit of work with the new metadata, atomically."""

    @abstractmethod
    def abort(self) -> None:
        """Discard every write of this unit of work and release exclusivity."""

    def __enter__(self) -> OnlineWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.abort()


class OnlineStore(ABC):
    """A key-value store for the latest feature values of each entity.

    Subclasses register under a name in `STORES` and are built from a config
    mapping (``{"type": <name>, ...}``) by `get_online_store`.
    """

    kind: ClassVar[str]

    @abstractmethod
    def writer(
        self, lock_timeout: float | None = None, on_wait: WaitCallback | None = None
    ) -> OnlineWriter:
        """Begin a unit of work (see `OnlineWriter`).

        Args:
            lock_timeout: seconds to wait for another writer to finish (stores
                whose writers wait for each other; default: the store's own).
            on_wait: called once with a human-readable line when the writer has
                to wait, so that a wait is never silent.

        Raises:
            OnlineStoreError: the store is unreachable, damaged, or still held by
                another writer after ``lock_timeout``.
        """

    @abstractmethod
    def read(self, requests: Sequence[tuple[str, Sequence[Key]]]) -> list[dict[Key, bytes]]:
        """Packed values for many keys of many views, from **one** consistent
        snapshot and in one round trip (one query / one pipeline).

        Args:
            requests: ``(view, encoded keys)`` pairs; keys are unique per view.

        Returns:
            one mapping per request, encoded key -> packed value, holding only
            the keys that were found.

        Raises:
            OnlineStoreError: the store is unreachable or was never materialized.
        """

    def read_one(
        self, views: tuple[str, ...], keys: Sequence[Key | None]
    ) -> Sequence[bytes | None]:
        """The single-entity form of `read`: one key (or ``None``) per view, the
        packed value or ``None`` per view. Stores override it when they can do
        it with less work; the default goes through `read`."""
        pairs = zip(views, keys, strict=True)
        found = self.read([(view, () if key is None else (key,)) for view, key in pairs])
        return [f.get(k) if k is not None else None for f, k in zip(found, keys, strict=True)]

    def read_rows(
        self, views: tuple[str, ...], keys: Sequence[Sequence[Key | None]]
    ) -> list[list[bytes | None]]:
        """The batch form of `read_one`: per view a list of keys (``None`` and
        repeats allowed), answered per view by a list aligned with it (the
        packed value or ``None``), from one snapshot. Lookups of many entities
        use it so that no per-key mapping is built in Python; stores override
        it when they can answer in request order directly (the default goes
        through `read`)."""
        requests: list[tuple[str, Sequence[Key]]] = []
        for view, view_keys in zip(views, keys, strict=True):
            unique: list[Any] = list(dict.fromkeys(view_keys))
            if None in unique:
                unique.remove(None)
            requests.append((view, unique))
        found = self.read(requests)
        out: list[list[bytes | None]] = []
        for f, view_keys in zip(found, keys, strict=True):
            get: Any = f.get  # found never holds None: a None key maps to None
            out.append(list(map(get, view_keys)) if f else [None] * len(view_keys))
        return out

    @abstractmethod
    def metadata(self) -> OnlineMetadata:
        """The registry snapshot and watermarks as last committed."""

    @abstractmethod
    def teardown(self) -> None:
        """Delete everything this store holds (values and metadata)."""

    def close(self) -> None:  # noqa: B027 - optional hook, most stores need nothing
        """Release connections; the store may be used again afterwards."""

    def describe(self) -> str:
        """A one-line human description (no secrets)."""
        return self.kind


def online_store_config(
    project_vars: Mapping[str, Any],
    root: Path,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The online-store config of a project.

    ``PITSTOP_ONLINE_STORE`` wins (``redis://host:port/db``, ``sqlite:///abs/path``,
    ``sqlite:relative/path`` or a plain ``*.sqlite``/``*.db`` path), then var
    ``pitstop_online_store`` of ``dbt_project.yml``, then SQLite at
    ``.pitstop/online.sqlite``. Relative SQLite paths are relative to ``root``.
    """
    raw = setting(ENV_VAR, environ=env)
    if raw:
        config = _config_from_text(raw)
    else:
        configured = project_vars.get("pitstop_online_store")
        if configured is None:
            config = dict(DEFAULT_CONFIG)
        elif isinstance(configured, str):
            config = _config_from_text(configured)
        elif isinstance(configured, Mapping):
            config = dict(configured)
        else:
            raise OnlineStoreError(
                "dbt_project.yml, var pitstop_online_store: expected a mapping like "
                "{type: sqlite, path: .pitstop/online.sqlite} or a URL"
            )
    kind = config.get("type")
    if kind not in STORES:
        raise OnlineStoreError(
            f"online store type {kind!r} is unknown (known: {', '.join(sorted(STORES))})"
        )
    if kind == "sqlite":
        path = Path(str(config.get("path") or DEFAULT_CONFIG["path"]))
        config["path"] = str(path if path.is_absolute() else root / path)
    return config


def _config_from_text(text: str) -> dict[str, Any]:
    if text.startswith(("redis://", "rediss://", "unix://")):
        return {"type": "redis", "url": text}
    if text.startswith("sqlite:"):
        # sqlite:///abs/path, sqlite://rel/path and sqlite:rel/path
        path = text[len("sqlite:") :]
        return {"type": "sqlite", "path": path[2:] if path.startswith("//") else path}
    if text.endswith((".sqlite", ".sqlite3", ".db")):
        return {"type": "sqlite", "path": text}
    raise OnlineStoreError(f"{ENV_VAR}={text!r} is neither a redis:// URL nor a sqlite: path")


def get_online_store(config: Mapping[str, Any]) -> OnlineStore:
    """Build the store named by ``config["type"]`` (imported on first use)."""
    kind = config.get("type")
    if kind not in STORES:
        raise OnlineStoreError(
            f"online store type {kind!r} is unknown (known: {', '.join(sorted(STORES))})"
        )
    module_name, _, class_name = STORES[str(kind)].partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    store: OnlineStore = cls(config)
    return store
