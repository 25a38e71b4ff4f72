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

A second writer waits for the first (up to ``lock_timeout``), says so through
its ``on_wait`` callback, and names the first one from the small
``<file>.writer`` record (pid, host, start) the holder keeps while it runs.
A writer runs SQLite's ``quick_check``: after emptying the views a run
rebuilds (dropping a table walks its pages, so damage there fails the drop),
on what the run keeps, before writing; in a run that empties nothing, on the
store as last committed, from a connection of its own alongside the run, and
before committing. A damaged file is an `OnlineStoreError` telling to delete
and rebuild it, with nothing published, never a run that reports "0 rows".
The file and its ``-wal``/``-shm`` companions are created ``0600`` (owner
only) whatever the umask: feature values are often personal data.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any

from pitstop.errors import MaterializationError, OnlineStoreError, PitstopError
from pitstop.online.base import (
    REBUILD_HINT,
    Key,
    OnlineMetadata,
    OnlineStore,
    OnlineWriter,
    Row,
    WaitCallback,
    parse_metadata,
)
from pitstop.online.codec import INT64_MIN

__all__ = ["SQLiteOnlineStore"]

_META_DDL = "create table if not exists pitstop_meta (key text primary key, value text not null)"
# SQLite's default SQLITE_MAX_VARIABLE_NUMBER is 32766 since 3.32
_MAX_PARAMS = 30_000
# owner read/write only: the values are often personal data
FILE_MODE = 0o600
_DAMAGED = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
_BUSY = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
_VIEW_PREFIX = "view__"
_first = itemgetter(0)
_dumps = json.dumps
_orjson_dumps: Callable[[Any], bytes] | None
try:
    from orjson import dumps as _orjson_dumps
except ImportError:  # orjson comes with the serving extra; json is the fallback
    _orjson_dumps = None


def _code(exc: sqlite3.Error) -> int | None:
    """The primary SQLite result code of ``exc`` (extended codes folded)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def _damaged(path: Path, detail: object) -> OnlineStoreError:
    return OnlineStoreError(
        f"the online store {path} is damaged ({detail}); it cannot be repaired in place: "
        f"delete it (rm {path} {path}-wal {path}-shm) and run `pitstop materialize` "
        "to rebuild it from the offline store"
    )


def _error(
    path: Path, exc: sqlite3.Error, doing: str, cls: type[PitstopError] = OnlineStoreError
) -> PitstopError:
    """``exc`` as a Pitstop error: damage gets the recovery advice, a missing
    view table the rebuild hint, anything else ``cls`` with what was being done."""
    if _code(exc) in _DAMAGED:
        return _damaged(path, exc)
    if "no such table" in str(exc):
        return OnlineStoreError(
            f"{doing} {path} failed: {exc} (a view's table is missing: the store was "
            f"edited or damaged); {REBUILD_HINT}"
        )
    return cls(f"{doing} {path} failed: {exc}")


def _create_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (SQLite creates its
    -wal and -shm files with the database file's mode)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, FILE_MODE)  # exactly 0600, whatever the umask
    finally:
        os.close(fd)


def _json_array(keys: Sequence[Key | None]) -> str:
    """``keys`` as a JSON array for ``json_each``: by orjson when installed (a
    batch's 1,000 integers in a twentieth of json's time, measured), else json."""
    if _orjson_dumps is not None:
        try:
            return _orjson_dumps(keys).decode()
        except TypeError:  # orjson.JSONEncodeError: an int beyond 64 bits, a lone surrogate
            pass
    return _dumps(keys)


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
    # one row holding one scalar subquery per view: the values come back in
    # view order, None where the key is absent (cheaper than a union of rows)
    subqueries = (f"(select v from {_table(view)} where k = ?)" for view in views)  # noqa: S608
    return "select " + ", ".join(subqueries)


@lru_cache(maxsize=1024)
def _rows_sql(views: tuple[str, ...]) -> str:
    # per view, its keys as one JSON array parameter, each probed by primary
    # key in array order; the left join yields exactly one row per key (NULL
    # when absent), so the result is the request, aligned, view after view
    return " union all ".join(
        f"select t.v from json_each(?) j left join {_table(view)} t on t.k = j.value"  # noqa: S608
        for view in views
    )


# rows per INSERT statement of a materialize run (4 parameters each)
_ROWS_PER_INSERT = 200


@lru_cache(maxsize=256)
def _insert_sql(view: str, rows: int, upsert: bool, created: bool = True) -> str:
    """INSERT of ``rows`` rows into a view's table; ``upsert``: keep the stored
    value where its (feature timestamp, created timestamp) is newer; not
    ``created``: no row has a created timestamp, the statement writes NULL
    (3 parameters per row instead of 4)."""
    row = "(?, ?, ?, ?)" if created else "(?, ?, null, ?)"
    sql = f"insert into {_table(view)} values " + ", ".join([row] * rows)  # noqa: S608
    if upsert:
        sql += (
            " on conflict (k) do update set ts = excluded.ts, cts = excluded.cts, v = excluded.v "
            "where excluded.ts > ts or (excluded.ts = ts and "
            f"coalesce(excluded.cts, {INT64_MIN}) >= coalesce(cts, {INT64_MIN}))"
        )
    return sql


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
        views: list[str] = []
        counts: list[int] = []
        params: list[Key] = []
        for view, keys in requests:
            views.append(view)
            counts.append(len(keys))
            params.extend(keys)
        out: list[dict[Key, bytes]] = [{} for _ in requests]
        try:
            conn = self._reader()
            if len(params) <= _MAX_PARAMS and len(params) < 50 * len(requests):
                sql = _select_sql(tuple(views), tuple(counts))
                for i, key, value in conn.execute(sql, params).fetchall():
                    out[i][key] = value
            else:
                # big batches: one statement per view inside one read transaction
                # (one snapshot), each result turned into a dict in C
                out = self._read_batch(conn, requests)
        except sqlite3.Error as exc:
            raise _error(self.path, exc, "reading the online store") from exc
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

    def read_one(
        self, views: tuple[str, ...], keys: Sequence[Key | None]
    ) -> Sequence[bytes | None]:
        # a NULL key matches nothing, so no special case is needed for it; the
        # thread's one cursor is reused (a new one per call costs 0.2 µs), and
        # fetchone leaves no statement open: its one row fetched, the next step
        # finds the end and resets it
        try:
            cursor: sqlite3.Cursor | None = getattr(self._local, "cursor", None)
            if cursor is None:
                cursor = self._local.cursor = self._reader().cursor()
            row: tuple[bytes | None, ...] = cursor.execute(_one_sql(views), keys).fetchone()
        except sqlite3.Error as exc:
            raise _error(self.path, exc, "reading the online store") from exc
        return row

    def read_rows(
        self, views: tuple[str, ...], keys: Sequence[Sequence[Key | None]]
    ) -> list[list[bytes | None]]:
        # one statement (one snapshot) whatever the number of views and keys;
        # views sharing one key list (same entity) share its JSON text
        texts: dict[int, str] = {}
        params = []
        for view_keys in keys:
            text = texts.get(id(view_keys))
            if text is None:
                text = texts[id(view_keys)] = _json_array(view_keys)
            params.append(text)
        try:
            rows = self._reader().execute(_rows_sql(views), params).fetchall()
        except sqlite3.Error as exc:
            raise _error(self.path, exc, "reading the online store") from exc
        values: list[bytes | None] = list(map(_first, rows))
        if len(values) != sum(map(len, keys)):
            raise OnlineStoreError(
                f"reading the online store {self.path} returned {len(values)} rows for "
                f"{sum(map(len, keys))} keys (a view's table lost its primary key: the store "
                f"was edited or damaged); {REBUILD_HINT}"
            )
        out = []
        start = 0
        for view_keys in keys:
            end = start + len(view_keys)
            out.append(values[start:end])
            start = end
        return out

    def metadata(self) -> OnlineMetadata:
        if not self.path.exists():
            return OnlineMetadata()
        try:
            return _read_metadata(self._reader(), self.path)
        except sqlite3.Error as exc:
            raise _error(self.path, exc, "reading the online store") from exc

    # -- writing -------------------------------------------------------------

    def writer(
        self, lock_timeout: float | None = None, on_wait: WaitCallback | None = None
    ) -> OnlineWriter:
        timeout = self.busy_timeout_s if lock_timeout is None else lock_timeout
        return _SQLiteWriter(self, timeout, on_wait)

    def teardown(self) -> None:
        self.close()
        for suffix in ("", "-wal", "-shm", ".writer"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.cursor = None
            conn.close()
            self._local.conn = None


def _read_metadata(conn: sqlite3.Connection, path: Path) -> OnlineMetadata:
    exists = conn.execute(
        "select 1 from sqlite_master where type = 'table' and name = 'pitstop_meta'"
    ).fetchall()
    if not exists:
        return OnlineMetadata()
    values = dict(conn.execute("select key, value from pitstop_meta").fetchall())
    return parse_metadata(values.get("snapshot"), values.get("watermarks"), str(path))


def _quick_check(conn: sqlite3.Connection, path: Path) -> None:
    """SQLite's ``quick_check`` on ``conn``'s view of the file: damage is an
    `OnlineStoreError` saying how to recover."""
    try:
        problems = [row[0] for row in conn.execute("pragma quick_check(5)").fetchall()]
    except sqlite3.Error as exc:
        raise _damaged(path, exc) from exc
    if problems != ["ok"]:
        raise _damaged(path, "quick_check: " + "; ".join(problems))


def _holder_path(path: Path) -> Path:
    return Path(f"{path}.writer")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _holder(path: Path) -> str:
    """Who holds the write lock, from the record its writer keeps (best effort)."""
    try:
        record = json.loads(_holder_path(path).read_text())
        pid, host, since = int(record["pid"]), str(record["host"]), str(record["since"])
    except (OSError, ValueError, KeyError, TypeError):
        return "another process (it left no record of itself)"
    if host == socket.gethostname() and not _pid_alive(pid):
        return f"another process (the last recorded writer, pid {pid}, has exited)"
    return f"pitstop materialize, pid {pid} on {host}, running since {since}"


class _SQLiteWriter(OnlineWriter):
    """One write transaction from construction to `commit` (see module docstring)."""

    bytearray_values = True

    def __init__(
        self, store: SQLiteOnlineStore, timeout: float, on_wait: WaitCallback | None
    ) -> None:
        self.store = store
        path = store.path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _create_private(path)
        except OSError as exc:
            raise OnlineStoreError(f"cannot create the online store {path}: {exc}") from exc
        self._open = False
        try:
            self.conn = sqlite3.connect(path, isolation_level=None, timeout=timeout)
        except sqlite3.Error as exc:
            raise _error(path, exc, "opening the online store") from exc
        try:
            self.conn.execute("pragma journal_mode = wal")
            # NORMAL is durable against process crashes in WAL mode (only an OS
            # crash can lose the last commit, never corrupt or tear it)
            self.conn.execute("pragma synchronous = normal")
            # 64 MiB: a full refresh spills its pages to the WAL as it goes
            # (they are written at commit anyway) instead of holding them all
            self.conn.execute("pragma cache_size = -65536")
            self._lock(timeout, on_wait)
            self.conn.execute(_META_DDL)
        except BaseException as exc:
            if self._open:
                self.abort()
            else:
                self.conn.close()
            if isinstance(exc, sqlite3.Error):
                raise _error(path, exc, "opening the online store") from exc
            raise
        self._fresh: set[str] = set()
        self._checking: tuple[threading.Thread, list[BaseException]] | None = None

    def _lock(self, timeout: float, on_wait: WaitCallback | None) -> None:
        """``BEGIN IMMEDIATE``: take the write lock, saying so when it has to wait."""
        path = self.store.path
        self.conn.execute("pragma busy_timeout = 0")
        try:
            self.conn.execute("begin immediate")
        except sqlite3.OperationalError as exc:
            if _code(exc) not in _BUSY:
                raise
            holder = _holder(path)
            if timeout > 0:
                if on_wait is not None:
                    on_wait(
                        f"the online store {path} is being written by {holder}; waiting up to "
                        f"{timeout:g} s for it to finish (--lock-timeout / PITSTOP_LOCK_TIMEOUT)"
                    )
                self.conn.execute(f"pragma busy_timeout = {int(timeout * 1000)}")
                try:
                    self.conn.execute("begin immediate")
                except sqlite3.OperationalError as again:
                    if _code(again) not in _BUSY:
                        raise
                else:
                    self._locked()
                    return
            raise OnlineStoreError(
                f"gave up after {timeout:g} s waiting for the online store {path}: it is being "
                f"written by {_holder(path)}. Let that run finish, or wait longer with "
                "--lock-timeout SECONDS or PITSTOP_LOCK_TIMEOUT (lock_timeout= in Python)"
            ) from None
        self._locked()

    def _locked(self) -> None:
        self._open = True
        self.conn.execute(f"pragma busy_timeout = {int(self.store.busy_timeout_s * 1000)}")
        record = json.dumps(
            {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "since": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )
        holder = _holder_path(self.store.path)
        try:
            fd = os.open(holder, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
            with os.fdopen(fd, "w") as out:
                out.write(record)
        except OSError:
            pass  # only used to name the holder in a waiting writer's message

    def _release(self) -> None:
        holder = _holder_path(self.store.path)
        try:
            if json.loads(holder.read_text()).get("pid") == os.getpid():
                holder.unlink()
        except (OSError, ValueError, AttributeError):
            pass

    def metadata(self) -> OnlineMetadata:
        try:
            return _read_metadata(self.conn, self.store.path)
        except sqlite3.Error as exc:
            raise _error(self.store.path, exc, "reading the online store") from exc

    def check(self) -> None:
        if self._fresh:
            # views were emptied: check, in this transaction, what the run keeps
            _quick_check(self.conn, self.store.path)
            return
        # nothing emptied (an incremental run): check the store as last committed,
        # on a connection of its own, while the run reads DuckDB and writes, so
        # that the run does not wait for a check of the whole file; `commit`
        # waits for it, and a damaged store aborts the run with nothing published
        failures: list[BaseException] = []
        path, timeout = self.store.path, self.store.busy_timeout_s

        def run() -> None:
            try:
                conn = sqlite3.connect(path, timeout=timeout)
                try:
                    _quick_check(conn, path)
                finally:
                    conn.close()
            except BaseException as exc:  # raised by commit, in the run's thread
                failures.append(exc)

        thread = threading.Thread(target=run, name="pitstop-quick-check", daemon=True)
        thread.start()
        self._checking = (thread, failures)

    def _checked(self) -> None:
        """Wait for a check `check` started; raise what it found."""
        if self._checking is None:
            return
        thread, failures = self._checking
        self._checking = None
        thread.join()
        if failures:
            found = failures[0]
            if isinstance(found, PitstopError):
                raise found
            raise _damaged(self.store.path, found)

    def missing(self, views: Sequence[str]) -> list[str]:
        try:
            tables = {
                row[0]
                for row in self.conn.execute(
                    "select name from sqlite_master where type = 'table'"
                ).fetchall()
            }
        except sqlite3.Error as exc:
            raise _error(self.store.path, exc, "reading the online store") from exc
        return [view for view in views if _VIEW_PREFIX + view not in tables]

    def drop(self, view: str) -> None:
        try:
            self.conn.execute(f"drop table if exists {_table(view)}")
        except sqlite3.Error as exc:
            raise _error(
                self.store.path, exc, f"dropping view '{view}' from", MaterializationError
            ) from exc
        self._fresh.discard(view)

    def reset(self, view: str, integer_key: bool) -> None:
        table = _table(view)
        kind = "integer" if integer_key else "text"
        suffix = "" if integer_key else " without rowid"
        try:
            self.conn.execute(f"drop table if exists {table}")
            self.conn.execute(
                f"create table {table} (k {kind} primary key, ts integer not null, "
                f"cts integer, v blob not null){suffix}"
            )
        except sqlite3.Error as exc:
            raise _error(
                self.store.path, exc, f"resetting view '{view}' in", MaterializationError
            ) from exc
        self._fresh.add(view)

    def write(self, view: str, rows: Sequence[Row]) -> int:
        # a reset table only receives one row per key per run (the materialize
        # query deduplicates), so a plain insert suffices there
        before = self.conn.total_changes
        try:
            self.conn.executemany(_insert_sql(view, 1, view not in self._fresh), rows)
        except sqlite3.Error as exc:
            raise _error(
                self.store.path, exc, f"writing view '{view}' to", MaterializationError
            ) from exc
        return self.conn.total_changes - before

    def write_columns(
        self,
        view: str,
        keys: Sequence[Key],
        ts: Sequence[int],
        cts: Sequence[int | None],
        values: Sequence[bytes] | Sequence[bytearray],
    ) -> int:
        # many rows per INSERT statement: binding them costs the sqlite3 module
        # about a third less per row than executemany's one statement per row.
        # It binds int, float, str and bytearray as they are, but looks any
        # other value (bytes, None) up in its adapter registry first, which
        # costs as much again as the insert: values are bound as bytearray
        # (materialize packs them so, see `bytearray_values`), and a batch
        # without created timestamps has them as a NULL literal in the statement
        count = len(keys)
        created = cts.count(None) != count
        width = 4 if created else 3
        if count and type(values[0]) is not bytearray:
            values = list(map(bytearray, values))
        flat: list[Any] = [None] * (width * count)
        if created:
            flat[0::4], flat[1::4], flat[2::4], flat[3::4] = keys, ts, cts, values
        else:
            flat[0::3], flat[1::3], flat[2::3] = keys, ts, values
        upsert = view not in self._fresh
        whole = count - count % _ROWS_PER_INSERT
        step = width * _ROWS_PER_INSERT
        execute = self.conn.execute
        before = self.conn.total_changes
        try:
            if whole:
                sql = _insert_sql(view, _ROWS_PER_INSERT, upsert, created)
                for start in range(0, width * whole, step):
                    execute(sql, flat[start : start + step])
            if whole < count:
                execute(_insert_sql(view, count - whole, upsert, created), flat[width * whole :])
        except sqlite3.Error as exc:
            raise _error(
                self.store.path, exc, f"writing view '{view}' to", MaterializationError
            ) from exc
        return self.conn.total_changes - before

    def commit(self, snapshot: dict[str, Any], watermarks: dict[str, dict[str, Any]]) -> None:
        self._checked()
        try:
            self.conn.executemany(
                "insert or replace into pitstop_meta values (?, ?)",
                [
                    ("format", "1"),
                    ("snapshot", json.dumps(snapshot, sort_keys=True)),
                    ("watermarks", json.dumps(watermarks, sort_keys=True)),
                ],
            )
            self.conn.execute("commit")
        except sqlite3.Error as exc:
            raise _error(self.store.path, exc, "committing to", MaterializationError) from exc
        self._open = False
        self._release()
        try:
            # fold the WAL back into the database while no write is pending
            self.conn.execute("pragma wal_checkpoint(passive)").fetchall()
        except sqlite3.Error:
            pass  # the commit is durable; the next checkpoint folds it
        finally:
            self.conn.close()

    def abort(self) -> None:
        if self._checking is not None:  # its findings no longer matter
            self._checking[0].join()
            self._checking = None
        if self._open:
            self._open = False
            self._release()
            try:
                self.conn.execute("rollback")
            except sqlite3.Error:
                pass  # closing discards an open transaction anyway
            finally:
                self.conn.close()
