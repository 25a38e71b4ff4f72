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
Lookups read all views with one ``EVALSHA`` of a small read-only Lua script
(loaded once; reloaded after ``NOSCRIPT``): one round trip, one consistent
snapshot (a script runs atomically), one flat reply aligned with the request.
A server that refuses scripts (ACLs) is read with a ``MULTI``/``EXEC``
pipeline of ``HMGET``s instead, as is a single lookup with a ``None`` key.

Concurrent runs do not wait for each other (``lock_timeout`` does not apply):
the one that commits second fails with nothing published. A view removed from
the project is ``UNLINK``ed in the same ``MULTI``/``EXEC``.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import re
import threading
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
_loads = marshal.loads
_dumps = json.dumps
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
        # (script, views) -> the packed start of its EVALSHA command
        self._heads: dict[tuple[str, tuple[str, ...]], bytes] = {}
        self._redis = _redis_module()
        # lookups: one connection per thread (see _command), all closed by close()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[Any] = []
        self._scripts = True  # False once the server refused scripts: pipelines then

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

    def read_one(
        self, views: tuple[str, ...], keys: Sequence[Key | None]
    ) -> Sequence[bytes | None]:
        if None in keys or not self._scripts:
            return super().read_one(views, keys)
        reply = self._eval("one", views, keys)  # type: ignore[arg-type]
        if reply is None:  # scripts refused: the MULTI/EXEC pipeline
            return super().read_one(views, keys)
        values: list[bytes | None] = reply
        return values

    def read_rows(
        self, views: tuple[str, ...], keys: Sequence[Sequence[Key | None]]
    ) -> list[list[bytes | None]]:
        if not self._scripts:
            return super().read_rows(views, keys)
        args: list[str] = []
        sent: list[Sequence[Key | None]] = []
        texts: dict[int, str] = {}  # views of one entity share their key list
        for view_keys in keys:
            text = texts.get(id(view_keys))
            asked = view_keys
            if None in view_keys:  # a None key is never sent: NOT_FOUND
                asked = [k for k in view_keys if k is not None]
            sent.append(asked)
            if text is None:
                # keys as JSON strings (Lua numbers would lose big integers)
                text = texts[id(view_keys)] = _dumps(list(map(str, asked)), ensure_ascii=False)
            args.append(text)
        reply = self._eval("rows", views, args)
        if reply is None:
            return super().read_rows(views, keys)
        out: list[list[bytes | None]] = []
        start = 0
        for view_keys, asked in zip(keys, sent, strict=True):
            values: list[bytes | None] = reply[start : start + len(asked)]
            start += len(asked)
            if asked is not view_keys:
                found = iter(values)
                values = [None if k is None else next(found) for k in view_keys]
            out.append(values)
        return out

    def _eval(self, name: str, views: tuple[str, ...], args: Sequence[Key]) -> Any:
        """Run lookup script ``name`` (`_SCRIPTS`) on the hashes of ``views``
        with ``args``: ``EVALSHA`` of its SHA1, loading the script after the
        server answered NOSCRIPT (first use, restart, SCRIPT FLUSH); None when
        the server refuses scripts (ACLs, a proxy)."""
        redis = self._redis
        head = self._heads.get((name, views))
        if head is None:
            # the command up to its arguments, in RESP, once per script and views
            words = [b"EVALSHA", _SHAS[name].encode(), b"%d" % len(views)]
            words += [self.view_key(view).encode() for view in views]
            head = self._heads[(name, views)] = b"".join(map(_bulk, words))
        encoded = [b"%d" % k if type(k) is int else str(k).encode() for k in args]
        packed = b"*%d\r\n" % (3 + len(views) + len(args)) + head
        packed += b"".join(map(_bulk, encoded))
        try:
            try:
                reply = self._command(packed, encoded, views, name)
            except redis.exceptions.NoScriptError:
                self.client().script_load(_SCRIPTS[name])
                reply = self._command(packed, encoded, views, name)
            values: list[bytes | None] = _loads(reply)
            return values
        except redis.exceptions.ResponseError as exc:
            refused = isinstance(exc, redis.exceptions.NoPermissionError)
            if not refused and "unknown command" not in str(exc).lower():
                raise OnlineStoreError(f"reading the redis online store failed: {exc}") from exc
            self._scripts = False  # the server refuses scripts: pipelines from now on
            return None
        except redis.RedisError as exc:
            raise OnlineStoreError(f"reading the redis online store failed: {exc}") from exc
        except (ValueError, TypeError, EOFError) as exc:  # not what the script returns
            raise OnlineStoreError(
                f"the redis online store ({self.describe()}) answered a lookup with a "
                f"reply that is not the lookup script's ({exc}); is the URL a Redis server?"
            ) from None

    def _command(self, packed: bytes, args: list[bytes], views: tuple[str, ...], name: str) -> Any:
        """Send the packed ``EVALSHA`` and read its reply on this thread's own
        lookup connection (opened from the client's connection settings, so
        the same server, database, credentials and TLS), without redis-py's
        per-command layers: checking a connection out of the pool and back,
        argument encoding, retry wrapper, response callbacks and metrics cost
        more client time than the loopback round trip itself (measured). A
        connection error (e.g. a connection the server closed) is retried once
        through the client, with its own retry policy."""
        local = self._local
        conn = getattr(local, "conn", None)
        if conn is None or local.pid != os.getpid():  # a fork needs its own socket
            pool = self.client().connection_pool
            conn = local.conn = pool.connection_class(**pool.connection_kwargs)
            local.pid = os.getpid()
            with self._lock:
                self._connections.append(conn)
        try:
            conn.send_packed_command([packed])
            return conn.read_response()
        except (self._redis.ConnectionError, self._redis.TimeoutError):
            pass  # redis-py closed the connection; its next command reconnects it
        hashes = [self.view_key(view) for view in views]
        return self.client().execute_command("EVALSHA", _SHAS[name], len(views), *hashes, *args)

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
        with self._lock:
            connections, self._connections = self._connections, []
            self._local = threading.local()
        for conn in connections:
            conn.disconnect()
        if self._client is not None:
            self._client.close()
            self._client = None


# Lookup scripts. A script runs atomically (one snapshot of every view, like
# MULTI/EXEC) and answers in one round trip. Its reply is ONE bulk string: the
# values found, aligned with the request, as a `marshal`-encoded list of bytes
# and None (``[`` + count, then per value ``s`` + length + bytes, or ``N``;
# 32-bit little-endian integers). The client then parses a single bulk, as for
# a GET, and splits it with one C call, instead of parsing one reply element
# per key in Python (most of a redis-py batch's cost).
_SCRIPTS = {
    # KEYS: the views' hashes; ARGV[i]: the key to read from KEYS[i]
    "one": """
local parts = {}
for i = 1, #KEYS do
  local v = redis.call('HGET', KEYS[i], ARGV[i])
  if v then
    parts[i] = 's' .. struct.pack('<i4', #v) .. v
  else
    parts[i] = 'N'
  end
end
return '[' .. struct.pack('<i4', #KEYS) .. table.concat(parts)
""",
    # KEYS: the views' hashes; ARGV[i]: the keys to read from KEYS[i] as a JSON
    # array of strings (one argument per view: packing thousands of arguments
    # costs the client more than the whole script); HMGET in slices, as Lua's
    # unpack has a limit of a few thousand values
    "rows": """
local parts = {}
local heads = {}
local n = 0
local k = 1
for i = 1, #KEYS do
  local keys = cjson.decode(ARGV[i])
  local first = 1
  while first <= #keys do
    local upto = math.min(first + 3999, #keys)
    local part = redis.call('HMGET', KEYS[i], unpack(keys, first, upto))
    for j = 1, #part do
      local v = part[j]
      if v then
        local size = #v
        local head = heads[size]
        if not head then
          head = 's' .. struct.pack('<i4', size)
          heads[size] = head
        end
        parts[k] = head
        parts[k + 1] = v
        k = k + 2
      else
        parts[k] = 'N'
        k = k + 1
      end
    end
    n = n + #part
    first = upto + 1
  end
end
return '[' .. struct.pack('<i4', n) .. table.concat(parts)
""",
}


# Redis names a script by the SHA1 of its text
_SHAS = {name: hashlib.sha1(text.encode()).hexdigest() for name, text in _SCRIPTS.items()}


def _bulk(word: bytes) -> bytes:
    """One RESP bulk string."""
    return b"$%d\r\n%b\r\n" % (len(word), word)


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
