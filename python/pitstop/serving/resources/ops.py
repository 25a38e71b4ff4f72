"""Operations routes: ``/health``, ``/ready``, ``/metrics``, ``/openapi.json``, ``/docs``.

Health, readiness and the docs need no token (probes and humans); metrics
need one when auth is on (they name the views).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from pitstop.serving.errors import RouteNotFoundError
from pitstop.serving.http import JSON, Response, dumps
from pitstop.serving.openapi import docs_page, openapi
from pitstop.serving.routing import Request, Route

if TYPE_CHECKING:
    from pitstop.serving.app import App

__all__ = ["ROUTES"]

_HEALTHY = dumps({"status": "ok"})
_READY_PROBE_S = 2.0


async def health(app: App, req: Request) -> Response:
    """Liveness: answering at all is the answer."""
    return 200, _HEALTHY, JSON, None


async def ready(app: App, req: Request) -> Response:
    """Readiness: the registry is loaded and the online store answers now."""
    state = app.state
    checks: dict[str, Any] = {
        "registry": "ok" if state.registry is not None else state.registry_error,
    }
    store_ok = state.lookup is not None
    if store_ok and app.loader is not None:
        try:
            await asyncio.wait_for(asyncio.to_thread(app.loader.check_store), _READY_PROBE_S)
        except Exception as exc:  # unreachable, timed out: not ready, never a 500
            store_ok = False
            checks["online_store"] = f"{type(exc).__name__}: {exc}"
    if "online_store" not in checks:
        checks["online_store"] = "ok" if store_ok else state.store_error
    if app.models is not None:
        checks["models"] = {
            m["name"]: "ok" if m["version"] is not None else m["error"]
            for m in app.models.describe()
        }
    is_ready = state.registry is not None and store_ok
    payload = {
        "ready": is_ready,
        "checks": checks,
        "online_views": len(state.online_views),
        "generation": state.generation,
    }
    return (200 if is_ready else 503), dumps(payload), JSON, None


async def metrics(app: App, req: Request) -> Response:
    """Prometheus text format."""
    body, content_type = app.metrics.render()
    return 200, body, content_type.encode(), None


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pitstop")
    except PackageNotFoundError:  # a source checkout without an install
        return "0.0.0"


def _example(app: App) -> dict[str, Any] | None:
    """A real online view readable by every token, for the documents' examples
    (they are public: a restricted view's name stays out of them)."""
    from pitstop.online.codec import INTEGER_TYPES

    state = app.state
    snapshot = state.lookup.snapshot if state.lookup is not None else None
    if snapshot is None:
        return None
    for name in sorted(snapshot.views):
        if name in state.access.readers:
            continue
        spec = snapshot.views[name]
        row = {key: 1 if kind in INTEGER_TYPES else "a" for key, kind in spec.keys}
        feature = f"{name}:{spec.features[0].name}" if spec.features else name
        return {
            "view": name,
            "features": [feature],
            "entities": {key: [value] for key, value in row.items()},
            "row": row,
        }
    return None


def _documents(app: App) -> tuple[bytes, bytes]:
    cached = app.cache.get("docs")
    if cached is None:
        document = openapi(app.settings.auth, _version(), _example(app))
        cached = app.cache["docs"] = (dumps(document), docs_page(document))
    docs: tuple[bytes, bytes] = cached
    return docs


async def openapi_json(app: App, req: Request) -> Response:
    """The OpenAPI document."""
    if not app.settings.docs:
        raise RouteNotFoundError("the API documentation is turned off")
    return 200, _documents(app)[0], JSON, None


async def docs(app: App, req: Request) -> Response:
    """The human-readable API page."""
    if not app.settings.docs:
        raise RouteNotFoundError("the API documentation is turned off")
    return 200, _documents(app)[1], b"text/html; charset=utf-8", None


ROUTES = [
    Route("/health", "GET", health, public=True),
    Route("/ready", "GET", ready, public=True),
    Route("/metrics", "GET", metrics),
    Route("/openapi.json", "GET", openapi_json, public=True),
    Route("/docs", "GET", docs, public=True),
]
