"""The HTTP feature server: Feast-compatible lookups, the registry, predictions.

`create_app(settings)` returns a raw ASGI application (served by uvicorn with
uvloop and httptools: ``pitstop serve``). The lookup routes bypass any
framework; the logic they call (`pitstop.online.lookup`, the registry, the
models) knows nothing about HTTP. Importing this package does not import
uvicorn; the server's third-party imports are orjson and prometheus-client.
"""

from __future__ import annotations

from pitstop.serving.app import App, create_app
from pitstop.serving.settings import ServeSettings

__all__ = ["App", "ServeSettings", "create_app"]
