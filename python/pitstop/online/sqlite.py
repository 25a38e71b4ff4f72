"""The embedded default online store: one SQLite file.

Layout: a table per feature view, ``"view__<name>"`` with columns ``k`` (the
encoded entity key; ``INTEGER PRIMARY KEY`` when the entity has a single
integer key, else ``TEXT PRIMARY KEY ... WITHOUT ROWID``), ``ts`` and ``cts``
(feature and created timestamps in microseconds, used to keep newer values
over older ones) and ``v`` (the packed value, see `pitstop.online.codec`);
plus ``pitstop_meta(key, value)`` holding the registry snapshot and the
watermarks as JSON.

Atomicity comes from SQLite itself: the database runs in WAL mode, a
materialize run is **one** write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``)
covering every view and the watermarks, and every lookup is one statement
(or one read transaction), so a reader in another process keeps reading the
previous snapshot while the writer works and then sees the new one whole.
A writer killed at any point leaves an uncommitted WAL tail that SQLite
ignores and discards, i.e. the store and its watermarks as they were.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from pitstop.errors import MaterializationError, OnlineStoreError
from pitstop.online.base import Key, OnlineMetadata, OnlineStore, OnlineWriter, Row
from pitstop.online.codec import INT64_MIN

__all__ = ["SQLiteOnlineStore"]

_META_DDL = "create table if not exists pitstop_meta (key text primary key, value text not null)"
# SQLite's default SQLITE_MAX_VARIABLE_NUMBER is 32766 since 3.32
_MAX_PARAMS = 30_000


def _table(view: str) -> str:
    return '"view__' + view.replace('"', '""') + '"'


@lru_cache(maxsize=1024)
def _select_sql(views: tuple[str, ...], counts: tuple[int, ...]) -> str:
    parts = []
    for i, (view, count) in enumerate(zip(views, counts, strict=True)):
        where = "k = ?" if count == 1 else f"k in ({','.join('?' * count)})"
        # _table quotes the view name; keys are bound parameters
        parts.append(f"select {i}, k, v from {_table(view)} where {where}")  # noqa: S608
    return " union all ".join(parts)


@lru_cache(maxsize=1024)
def _key_value_sql(view: str, count: int) -> str:
    where = "k = ?" if count == 1 else f"k in ({','.join('?' * count)})"
    return f"select k, v from {_table(view)} where {where}"  # noqa: S608 - quoted name


@lru_cache(maxsize=1024)
def _one_sql(views: tuple[str, ...]) -> str:
    return " union all ".join(
        f"select {i}, v from {_table(view)} where k = ?"  # noqa: S608 - quoted name
        for i, view in enumerate(views)
    )


class SQLiteOnlineStore(OnlineStore):
    """Online store in one SQLite file (WAL mode).

    Config keys: ``path`` (the file; created on first materialize),
    ``busy_timeout_s`` (how long a second writer waits, default 600),
    ``mmap_mb`` (memory-mapped reads, default 1024).
    """

    kind = "sqlite"

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.path = Path(str(config["path"]))
        self.busy_timeout_s = float(config.get("busy_timeout_s", 600))
        self.mmap_bytes = int(config.get("mmap_mb", 1024)) * 1024 * 1024
        self._local = threading.local()

    def describe(self) -> str:
        return f"sqlite {self.path}"

    # -- reading -------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if not self.path.exists():
                raise OnlineStoreError(
                    f"the online store {self.path} does not exist yet; run `pitstop materialize`"
                )
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                cached_statements=512,
                timeout=self.busy_timeout_s,
            )
            conn.execute("pragma query_only = 1")
            conn.execute(f"pragma mmap_size = {self.mmap_bytes}")
            self._local.conn = conn
        return conn

    def read(self, requests: Sequence[tuple[str, Sequence[Key]]]) -> list[dict[Key, bytes]]:
        conn = self._reader()
        views: list[str] = []
        counts: list[int] = []
        params: list[Key] = []
        for view, keys in requests:
            views.append(view)
            counts.append(len(keys))
            params.extend(keys)
        out: list[dict[Key, bytes]] = [{} for _ in requests]
        try:
            if len(params) <= _MAX_PARAMS and len(params) < 50 * len(requests):
                sql = _select_sql(tuple(views), tuple(counts))
                for i, key, value in conn.execute(sql, params).fetchall():
                    out[i][key] = value
            else:
                # big batches: one statement per view inside one read transaction
                # (one snapshot), each result turned into a dict in C
                out = self._read_batch(conn, requests)
        except sqlite3.Error as exc:
            raise OnlineStoreError(f"reading the online store {self.path} failed: {exc}") from exc
        return out

    @staticmethod
    def _read_batch(
        conn: sqlite3.Connection, requests: Sequence[tuple[str, Sequence[Key]]]
    ) -> list[dict[Key, bytes]]:
        out: list[dict[Key, bytes]] = []
        conn.execute("begin")
        try:
            for view, keys in requests:
                found: dict[Key, bytes] = {}
                for start in range(0, len(keys), _MAX_PARAMS):
                    chunk = list(keys[start : start + _MAX_PARAMS])
                    sql = _key_value_sql(view, len(chunk))
                    found.update(conn.execute(sql, chunk).fetchall())
                out.append(found)
        finally:
            conn.execute("commit")
        return out

    def read_one(self, views: tuple[str, ...], keys: Sequence[Key | None]) -> list[bytes | None]:
        # a NULL key matches nothing, so no special case is needed for it
        try:
            rows = self._reader().execute(_one_sql(views), keys).fetchall()
        except sqlite3.Error as exc:
            raise OnlineStoreError(f"reading the online store {self.path} failed: {exc}") from exc
        out: list[bytes | None] = [None] * len(views)
        for i, value in rows:
            out[i] = value
        return out

    def metadata(self) -> OnlineMetadata:
        if not self.path.exists():
            return OnlineMetadata()
        try:
            return _read_metadata(self._reader())
        except sqlite3.Error as exc:
            raise OnlineStoreError(f"reading the online store {self.path} failed: {exc}") from exc

    # -- writing -------------------------------------------------------------

    def writer(self) -> OnlineWriter:
        return _SQLiteWriter(self)

    def teardown(self) -> None:
        self.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _read_metadata(conn: sqlite3.Connection) -> OnlineMetadata:
    exists = conn.execute(
        "select 1 from sqlite_master where type = 'table' and name = 'pitstop_meta'"
    ).fetchall()
    if not exists:
        return OnlineMetadata()
    values = dict(conn.execute("select key, value from pitstop_meta").fetchall())
    snapshot = json.loads(values["snapshot"]) if "snapshot" in values else None
    watermarks = json.loads(values.get("watermarks", "{}"))
    return OnlineMetadata(snapshot=snapshot, watermarks=watermarks)


class _SQLiteWriter(OnlineWriter):
    """One write transaction from construction to `commit` (see module docstring)."""

    def __init__(self, store: SQLiteOnlineStore) -> None:
        self.store = store
        store.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(
                store.path, isolation_level=None, timeout=store.busy_timeout_s
            )
            self.conn.execute("pragma journal_mode = wal")
            # NORMAL is durable against process crashes in WAL mode (only an OS
            # crash can lose the last commit, never corrupt or tear it)
            self.conn.execute("pragma synchronous = normal")
            self.conn.execute("pragma cache_size = -262144")
            self.conn.execute("begin immediate")
            self.conn.execute(_META_DDL)
        except sqlite3.Error as exc:
            raise OnlineStoreError(f"cannot open the online store {store.path}: {exc}") from exc
        self._open = True
        self._fresh: set[str] = set()

    def metadata(self) -> OnlineMetadata:
        return _read_metadata(self.conn)

    def reset(self, view: str, integer_key: bool) -> None:
        table = _table(view)
        self.conn.execute(f"drop table if exists {table}")
        if integer_key:
            self.conn.execute(
                f"create table {table} (k integer primary key, ts integer not null, "
                "cts integer, v blob not null)"
            )
        else:
            self.conn.execute(
                f"create table {table} (k text primary key, ts integer not null, "
                "cts integer, v blob not null) without rowid"
            )
        self._fresh.add(view)

    def write(self, view: str, rows: Sequence[Row]) -> int:
        table = _table(view)
        before = self.conn.total_changes
        try:
            if view in self._fresh:
                # a reset table only receives one row per key per run (the
                # materialize query deduplicates), so a plain insert suffices
                self.conn.executemany(
                    f"insert into {table} values (?, ?, ?, ?)",  # noqa: S608 - quoted name
                    rows,
                )
            else:
                self.conn.executemany(
                    f"insert into {table} values (?, ?, ?, ?) on conflict (k) do update set "  # noqa: S608
                    "ts = excluded.ts, cts = excluded.cts, v = excluded.v "
                    "where excluded.ts > ts or (excluded.ts = ts and "
                    f"coalesce(excluded.cts, {INT64_MIN}) >= coalesce(cts, {INT64_MIN}))",
                    rows,
                )
        except sqlite3.Error as exc:
            raise MaterializationError(
                f"writing view '{view}' to {self.store.path} failed: {exc}"
            ) from exc
        return self.conn.total_changes - before

    def commit(self, snapshot: dict[str, Any], watermarks: dict[str, dict[str, Any]]) -> None:
        self.conn.executemany(
            "insert or replace into pitstop_meta values (?, ?)",
            [
                ("format", "1"),
                ("snapshot", json.dumps(snapshot, sort_keys=True)),
                ("watermarks", json.dumps(watermarks, sort_keys=True)),
            ],
        )
        self.conn.execute("commit")
        self._open = False
        # fold the WAL back into the database while no write is pending
        self.conn.execute("pragma wal_checkpoint(passive)").fetchall()
        self.conn.close()

    def abort(self) -> None:
        if self._open:
            self._open = False
            try:
                self.conn.execute("rollback")
            finally:
                self.conn.close()
