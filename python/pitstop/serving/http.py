"""The few ASGI primitives the server needs: read a bounded body, write a
response, turn an error into ``{"error": {"type", "message"}}``.

Raw ASGI rather than a framework: on the lookup routes the HTTP layer is most
of the latency (a lookup is ~25 µs), and each framework layer measured here
adds tens of microseconds (see issue 11's table).
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import date, datetime, time
from decimal import Decimal
from time import monotonic as time_monotonic
from typing import Any

import orjson

from pitstop.errors import InvalidRequestError, PitstopError
from pitstop.serving.errors import (
    MethodNotAllowedError,
    RequestTimeoutError,
    RequestTooLargeError,
    UnauthorizedError,
)

__all__ = [
    "JSON",
    "ClientDisconnected",
    "Deadlines",
    "Receive",
    "Response",
    "Scope",
    "Send",
    "dumps",
    "error_response",
    "loads",
    "read_body",
    "send_response",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
# (status, body, content type, extra headers)
Response = tuple[int, bytes, bytes, list[tuple[bytes, bytes]] | None]

JSON = b"application/json"
_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z | orjson.OPT_SERIALIZE_NUMPY
_MAX_MESSAGE = 2000


class ClientDisconnected(Exception):
    """The client went away before sending its whole body: nothing to answer."""


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def dumps(data: Any) -> bytes:
    """JSON bytes: orjson (naive datetimes as UTC with ``Z``, numpy arrays,
    decimals as text); NaN and infinities become ``null`` (JSON has neither).
    Integers beyond 64 bits, which orjson refuses, take a slower exact path."""
    try:
        return orjson.dumps(data, default=_default, option=_OPTIONS)
    except TypeError:
        return json.dumps(_plain(data), separators=(",", ":"), allow_nan=False).encode()


def _plain(value: Any) -> Any:
    """``value`` with everything stdlib json cannot write made writable."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        text = value.isoformat()
        return text + "Z" if value.tzinfo is None else text
    if isinstance(value, (date, time)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if hasattr(value, "tolist"):  # numpy
        return _plain(value.tolist())
    return _default(value)


def loads(body: bytes) -> Any:
    """Parse a JSON body; malformed JSON (or bytes that are not UTF-8) is a 400."""
    if not body:
        raise InvalidRequestError("the request body is empty; send a JSON object")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequestError(f"the request body is not valid JSON: {exc}") from None


class Deadlines:
    """Deadlines of request bodies in flight, enforced by one periodic `sweep`
    instead of a timer per request (a timer costs several microseconds on
    every request; the sweep's half-second precision is plenty for a limit of
    seconds)."""

    def __init__(self) -> None:
        self.pending: dict[asyncio.Task[Any], float] = {}
        self.expired: set[asyncio.Task[Any]] = set()

    def sweep(self) -> None:
        """Cancel the body reads past their deadline (they answer 408)."""
        now = time_monotonic()
        for task, deadline in list(self.pending.items()):
            if deadline <= now and task not in self.expired:
                self.expired.add(task)
                task.cancel()


async def read_body(
    scope: Scope, receive: Receive, limit: int, timeout: float, deadlines: Deadlines
) -> bytes:
    """The whole request body, at most ``limit`` bytes, within ``timeout`` seconds.

    Raises:
        RequestTooLargeError: the declared or received body is over ``limit``.
        RequestTimeoutError: the client did not send it in time.
        ClientDisconnected: the client went away.
    """
    for key, value in scope["headers"]:
        if key == b"content-length":
            try:
                declared = int(value)
            except ValueError:
                raise InvalidRequestError("the Content-Length header is not a number") from None
            if declared > limit:
                raise RequestTooLargeError(
                    f"the request body has {declared} bytes; the limit is {limit}"
                )
            break
    chunks: list[bytes] = []
    size = 0
    task = asyncio.current_task()
    assert task is not None
    deadlines.pending[task] = time_monotonic() + timeout
    try:
        while True:
            # the only suspension point while the deadline is pending, so a
            # sweep's cancellation always lands here
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnected
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > limit:
                    raise RequestTooLargeError(
                        f"the request body is over the limit of {limit} bytes"
                    )
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
    except asyncio.CancelledError:
        if task not in deadlines.expired:
            raise
        deadlines.expired.discard(task)
        task.uncancel()
        raise RequestTimeoutError(f"the request body did not arrive within {timeout:g} s") from None
    finally:
        del deadlines.pending[task]
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def error_response(exc: PitstopError) -> Response:
    """The one mapping of errors to responses: the error's ``http_status`` and
    ``{"error": {"type": <class name>, "message": ...}}`` (long messages, which
    may quote request input, are cut)."""
    message = str(exc)
    if len(message) > _MAX_MESSAGE:
        message = message[:_MAX_MESSAGE] + "..."
    body = orjson.dumps({"error": {"type": type(exc).__name__, "message": message}})
    headers: list[tuple[bytes, bytes]] | None = None
    if isinstance(exc, UnauthorizedError):
        headers = [(b"www-authenticate", b'Bearer realm="pitstop"')]
    elif isinstance(exc, MethodNotAllowedError):
        headers = [(b"allow", ", ".join(exc.allowed).encode())]
    return exc.http_status, body, JSON, headers


async def send_response(send: Send, response: Response) -> None:
    """Write a whole response (status line, headers, body) in two ASGI messages."""
    status, body, content_type, extra = response
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    if extra:
        headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
