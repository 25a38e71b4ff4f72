"""The routes, one module per resource; `ROUTES` is what the router serves."""

from __future__ import annotations

from pitstop.serving.resources.models import ROUTES as MODELS
from pitstop.serving.resources.online import ROUTES as ONLINE
from pitstop.serving.resources.ops import ROUTES as OPS
from pitstop.serving.resources.registry import ROUTES as REGISTRY
from pitstop.serving.routing import Route

__all__ = ["ROUTES"]

ROUTES: list[Route] = [*ONLINE, *REGISTRY, *MODELS, *OPS]
