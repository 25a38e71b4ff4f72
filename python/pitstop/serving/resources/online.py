"""The lookup routes, the hot path: ``POST /get-online-features`` (Feast's
JSON) and ``POST /features/online`` (Pitstop's).

Per request: read the body, parse it with orjson, validate by hand
(`pitstop.serving.lookups`), look up (on the event loop for small requests,
tens of microseconds), write the JSON. Nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pitstop.serving.http import JSON, Response, dumps, loads
from pitstop.serving.lookups import (
    feast_response,
    parse_feast_request,
    parse_pitstop_request,
    pitstop_response,
)
from pitstop.serving.routing import Request, Route

if TYPE_CHECKING:
    from pitstop.serving.app import App

__all__ = ["ROUTES"]


async def get_online_features_feast(app: App, req: Request) -> Response:
    """Feast's ``/get-online-features``."""
    settings = app.settings
    body = await app.read_body(req)
    request = parse_feast_request(loads(body), settings.max_entities)
    result = await app.lookup(request, req.principal)
    return 200, dumps(feast_response(result, request)), JSON, None


async def get_features_online(app: App, req: Request) -> Response:
    """Pitstop's ``/features/online``."""
    settings = app.settings
    body = await app.read_body(req)
    request = parse_pitstop_request(loads(body), settings.max_entities)
    result = await app.lookup(request, req.principal)
    return 200, dumps(pitstop_response(result)), JSON, None


ROUTES = [
    Route("/get-online-features", "POST", get_online_features_feast),
    Route("/features/online", "POST", get_features_online),
]
