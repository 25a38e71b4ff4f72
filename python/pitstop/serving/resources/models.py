"""The model routes: ``GET /models`` and ``POST /models/{name}/predict``.

Entity keys in; the model looks its features up online and predicts; the
answer names the model version and alias that produced it, so a caller can
tell which version served it across a promotion.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from pitstop.serving.errors import ModelNotServedError
from pitstop.serving.http import JSON, Response, dumps, loads
from pitstop.serving.lookups import entity_rows_of
from pitstop.serving.routing import Request, Route

if TYPE_CHECKING:
    from pitstop.serving.app import App

__all__ = ["ROUTES"]


async def list_models(app: App, req: Request) -> Response:
    """``GET /models``."""
    models = app.models.describe() if app.models is not None else []
    return 200, dumps({"models": models}), JSON, None


async def predict(app: App, req: Request) -> Response:
    """``POST /models/{name}/predict``."""
    settings = app.settings
    name = req.params["name"]
    if app.models is None:
        raise ModelNotServedError(
            f"model '{name}' is not served here (start the server with --model {name})"
        )
    served = app.models.get(name)
    if req.principal is not None:
        app.state.access.check(req.principal, served.views)
    body = await app.read_body(req)
    rows, as_of = entity_rows_of(loads(body), settings.max_entities)
    result = await app.run_blocking(functools.partial(served.predict, rows, as_of))
    return 200, dumps(result), JSON, None


ROUTES = [
    Route("/models", "GET", list_models),
    Route("/models/{name}/predict", "POST", predict),
]
