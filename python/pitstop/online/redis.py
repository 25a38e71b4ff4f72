"""Online store on a Redis server (the ``redis`` package is imported lazily).

Keys (``prefix`` defaults to ``pitstop``):

* ``<prefix>:view:<view>`` -- a hash, encoded entity key -> packed value
  (see `pitstop.online.codec`);
* ``<prefix>:meta`` -- a hash with the registry snapshot and the watermarks (JSON);
* ``<prefix>:stage:<run>:<view>`` / ``<prefix>:trash:<run>:<view>`` -- a
  run's private staging copy and the replaced copy; both carry an expiry, so a
  crashed run's leftovers disappear by themselves.

Atomic publication: a materialize run ``WATCH``es the meta key, writes fully
rebuilt views into staging hashes with pipelined ``HSET``s (invisible to
readers), decides incremental upserts against the stored timestamps, and
finally publishes everything in one ``MULTI``/``EXEC``: ``RENAME`` staging to
live, the incremental ``HSET``s and the new metadata. Redis runs a
transaction without interleaving other clients' commands, so a reader sees the
old state or the new one; a client that dies before ``EXEC`` has its queued
transaction discarded by the server; and a concurrent run that committed in
between makes ``EXEC`` fail (``WATCH``) instead of mixing two runs.
Lookups read all views in one ``MULTI``/``EXEC`` pipeline: one round trip, one
consistent snapshot.

Concurrent runs do not wait for each other (``lock_timeout`` does not apply):
the one that commits second fails with nothing published. A view removed from
the project is ``UNLINK``ed in the same ``MULTI``/``EXEC``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from pitstop.errors import MaterializationError, OnlineStoreError
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
from pitstop.online.codec import INT64_MIN, unpack

__all__ = ["RedisOnlineStore"]

_CHUNK = 10_000
_CREDENTIALS = re.compile(r"//[^@/]*@")
_DB_PATH = re.compile(r"/?[0-9]*", re.ASCII)


def _redacted(url: str) -> str:
    """``url`` without a user or password (``redis://***@host:port/db``)."""
    return _CREDENTIALS.sub("//***@", url)


def _redis_module() -> Any:
    try:
        import redis
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise OnlineStoreError(
            "the redis online store needs the redis package: pip install 'pitstop[redis]'"
        ) from exc
    return redis


class RedisOnlineStore(OnlineStore):
    """Online store on Redis.

    Config keys: ``url`` (``redis://host:port/db``, required), ``prefix``
    (key prefix, default ``pitstop``), ``staging_ttl_s`` (expiry of a run's
    staging copies, default 86400).
    """

    kind = "redis"

    def __init__(self, config: Mapping[str, Any]) -> None:
        if not config.get("url"):
            raise OnlineStoreError("the redis online store needs a `url` (redis://host:port/db)")
        self.url = str(config["url"])
        try:
            # parsed now so that a malformed URL is one clear error, not a
            # ValueError from deep inside the client on first use
            self._url_parts: dict[str, Any] = _redis_module().connection.parse_url(self.url)
            path = urlsplit(self.url).path
            if self.url.startswith(("redis://", "rediss://")) and not _DB_PATH.fullmatch(path):
                # redis-py ignores a database that is not a number and uses db 0
                raise ValueError(f"database {path.lstrip('/')!r} is not a number")
        except (ValueError, TypeError) as exc:
            raise OnlineStoreError(
                f"the redis online store URL {_redacted(self.url)!r} is malformed: {exc}; "
                "expected redis://host:port/db, e.g. redis://127.0.0.1:6379/0"
            ) from None
        self.prefix = str(config.get("prefix", "pitstop"))
        self.staging_ttl_s = int(config.get("staging_ttl_s", 86_400))
        self.meta_key = f"{self.prefix}:meta"
        self._client: Any = None

    def describe(self) -> str:
        # never print credentials that may be part of the URL
        kwargs = self._url_parts
        where = kwargs.get("path") or f"{kwargs.get('host', '?')}:{kwargs.get('port', 6379)}"
        return f"redis {where} db {kwargs.get('db', 0)} prefix {self.prefix}"

    def view_key(self, view: str) -> str:
        return f"{self.prefix}:view:{view}"

    def client(self) -> Any:
        """The shared ``redis.Redis`` client (thread-safe connection pool)."""
        if self._client is None:
            self._client = _redis_module().Redis.from_url(self.url)
        return self._client

    def read(self, requests: Sequence[tuple[str, Sequence[Key]]]) -> list[dict[Key, bytes]]:
        redis = _redis_module()
        pipe = self.client().pipeline(transaction=True)
        asked = [(view, keys) for view, keys in requests if keys]
        for view, keys in asked:
            pipe.hmget(self.view_key(view), keys)
        try:
            replies = iter(pipe.execute() if asked else [])
        except redis.RedisError as exc:
            raise OnlineStoreError(f"reading the redis online store failed: {exc}") from exc
        out: list[dict[Key, bytes]] = []
        for _, keys in requests:
            if not keys:
                out.append({})
                continue
            values = next(replies)
            out.append({k: v for k, v in zip(keys, values, strict=True) if v is not None})
        return out

    def metadata(self) -> OnlineMetadata:
        redis = _redis_module()
        try:
            values = self.client().hgetall(self.meta_key)
        except redis.RedisError as exc:
            raise OnlineStoreError(f"reading the redis online store failed: {exc}") from exc
        return _metadata(values, self)

    def writer(
        self, lock_timeout: float | None = None, on_wait: WaitCallback | None = None
    ) -> OnlineWriter:
        # runs do not wait for each other here: WATCH makes the later commit fail
        return _RedisWriter(self)

    def teardown(self) -> None:
        client = self.client()
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{self.prefix}:*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                client.unlink(*batch)
                batch = []
        if batch:
            client.unlink(*batch)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _metadata(values: Mapping[bytes, bytes], store: RedisOnlineStore) -> OnlineMetadata:
    return parse_metadata(values.get(b"snapshot"), values.get(b"watermarks"), store.describe())


def _version(blob: bytes) -> tuple[int, int]:
    row = unpack(blob)
    ts, cts = row[1], row[2]
    if type(ts) is not int or (cts is not None and type(cts) is not int):
        raise TypeError("the timestamps of the packed value are not integers")
    return ts, INT64_MIN if cts is None else cts


class _RedisWriter(OnlineWriter):
    """See the module docstring for the protocol."""

    def __init__(self, store: RedisOnlineStore) -> None:
        self.redis = _redis_module()
        self.store = store
        self.client = store.client()
        self.run = uuid.uuid4().hex[:12]
        self.watch = self.client.pipeline(transaction=True)
        try:
            self.watch.watch(store.meta_key)
            self._metadata_error: OnlineStoreError | None = None
            try:
                self._metadata = _metadata(self.watch.hgetall(store.meta_key), store)
            except OnlineStoreError as exc:
                # raised by metadata(): a full refresh may rebuild over it
                self._metadata, self._metadata_error = OnlineMetadata(), exc
        except self.redis.RedisError as exc:
            self.watch.reset()
            raise OnlineStoreError(f"cannot reach the redis online store: {exc}") from exc
        self.staged: dict[str, str] = {}  # view -> staging key
        self.staged_rows: dict[str, int] = {}
        self.pending: dict[str, dict[Key, bytes]] = {}  # incremental winners per view
        self.dropped: set[str] = set()
        self._open = True

    def metadata(self) -> OnlineMetadata:
        if self._metadata_error is not None:
            raise self._metadata_error
        return self._metadata

    def missing(self, views: Sequence[str]) -> list[str]:
        if not views:
            return []
        pipe = self.client.pipeline(transaction=False)
        for view in views:
            pipe.exists(self.store.view_key(view))
        try:
            found = pipe.execute()
        except self.redis.RedisError as exc:
            raise OnlineStoreError(f"reading the redis online store failed: {exc}") from exc
        return [view for view, exists in zip(views, found, strict=True) if not exists]

    def drop(self, view: str) -> None:
        self.dropped.add(view)
        self.pending.pop(view, None)
        stage = self.staged.pop(view, None)
        self.staged_rows.pop(view, None)
        if stage is not None:
            self.client.unlink(stage)

    def reset(self, view: str, integer_key: bool) -> None:
        key = f"{self.store.prefix}:stage:{self.run}:{view}"
        self.client.unlink(key)
        self.staged[view] = key
        self.staged_rows[view] = 0
        self.pending.pop(view, None)

    def write(self, view: str, rows: Sequence[Row]) -> int:
        try:
            if view in self.staged:
                return self._stage(view, rows)
            return self._upsert(view, rows)
        except self.redis.RedisError as exc:
            raise MaterializationError(f"writing view '{view}' to redis failed: {exc}") from exc

    def _stage(self, view: str, rows: Sequence[Row]) -> int:
        key = self.staged[view]
        pipe = self.client.pipeline(transaction=False)
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            pipe.hset(key, mapping={row[0]: row[3] for row in chunk})
        pipe.expire(key, self.store.staging_ttl_s)
        pipe.execute()
        self.staged_rows[view] += len(rows)
        return len(rows)

    def _upsert(self, view: str, rows: Sequence[Row]) -> int:
        """Keep only rows at least as new as the stored value; queued until commit."""
        live = self.store.view_key(view)
        pending = self.pending.setdefault(view, {})
        written = 0
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            stored = self.client.hmget(live, [row[0] for row in chunk])
            for row, old in zip(chunk, stored, strict=True):
                new_version = (row[1], INT64_MIN if row[2] is None else row[2])
                try:
                    if old is None or new_version >= _version(old):
                        pending[row[0]] = row[3]
                        written += 1
                except (ValueError, TypeError, EOFError, IndexError) as exc:
                    raise OnlineStoreError(
                        f"the redis online store holds a value of view '{view}' for key "
                        f"{row[0]!r} that does not decode ({exc}): the store was edited or "
                        f"damaged; {REBUILD_HINT}"
                    ) from None
        return written

    def commit(self, snapshot: dict[str, Any], watermarks: dict[str, dict[str, Any]]) -> None:
        prefix = self.store.prefix
        try:
            live_exists = {
                view: bool(self.watch.exists(self.store.view_key(view))) for view in self.staged
            }
            trash: list[str] = []
            self.watch.multi()
            for view in sorted(self.dropped):
                self.watch.unlink(self.store.view_key(view))
            for view, stage in self.staged.items():
                live = self.store.view_key(view)
                if live_exists[view]:
                    old = f"{prefix}:trash:{self.run}:{view}"
                    self.watch.rename(live, old)
                    self.watch.expire(old, 300)
                    trash.append(old)
                if self.staged_rows[view]:
                    self.watch.rename(stage, live)
                    self.watch.persist(live)
            for view, values in self.pending.items():
                items = list(values.items())
                for start in range(0, len(items), _CHUNK):
                    chunk = dict(items[start : start + _CHUNK])
                    self.watch.hset(self.store.view_key(view), mapping=chunk)
            self.watch.hset(
                self.store.meta_key,
                mapping={
                    "format": "1",
                    "snapshot": json.dumps(snapshot, sort_keys=True),
                    "watermarks": json.dumps(watermarks, sort_keys=True),
                },
            )
            self.watch.execute()
        except self.redis.WatchError as exc:
            self.abort()
            raise MaterializationError(
                "another materialize committed to the redis online store during this run; "
                "nothing of this run was published, run it again"
            ) from exc
        except self.redis.RedisError as exc:
            self.abort()
            raise MaterializationError(f"publishing to redis failed: {exc}") from exc
        self._open = False
        self.watch.reset()
        if trash:
            # freed in a background thread of the server, never blocking readers
            self.client.unlink(*trash)

    def abort(self) -> None:
        if not self._open:
            return
        self._open = False
        try:
            self.watch.reset()
            if self.staged:
                self.client.unlink(*self.staged.values())
        except self.redis.RedisError:
            pass  # the staging keys expire on their own
