"""The registry routes: ``GET /features`` and ``GET /features/{view}``.

They describe what dbt declares (entities, views, features, TTL, owner,
descriptions) plus what only the server knows: whether and when a view was
materialized, who may read it, its lineage in the dbt graph, the feature
services and the served models that use it. Views a token may not read are
left out, and asking for one answers 404 exactly like an unknown view.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pitstop.errors import UnknownFeatureViewError
from pitstop.registry import FeatureView, view_dict
from pitstop.serving.errors import NotReadyError
from pitstop.serving.http import JSON, Response, dumps
from pitstop.serving.routing import Request, Route
from pitstop.serving.state import ServingState

if TYPE_CHECKING:
    from pitstop.serving.app import App
    from pitstop.serving.auth import Principal

__all__ = ["ROUTES", "describe_view"]

_EPOCH = datetime(1970, 1, 1)


def describe_view(
    state: ServingState, view: FeatureView, models: list[dict[str, Any]]
) -> dict[str, Any]:
    """One view as the registry routes show it."""
    info = state.views.get(view.name)
    online = set(state.online_views)
    at = state.materialized_at_us(view.name)
    out = view_dict(view)
    out["materialized"] = view.name in online
    out["materialized_at"] = _EPOCH + timedelta(microseconds=at) if at is not None else None
    out["access"] = {
        **state.access.describe(view.name),
        "dbt_group": info.group if info else None,
        "dbt_access": info.access if info else None,
    }
    out["lineage"] = {
        "upstream": [{"type": t, "name": n} for t, n in (info.upstream if info else ())],
        "downstream": [{"type": t, "name": n} for t, n in (info.downstream if info else ())],
    }
    registry = state.registry
    out["services"] = sorted(
        name
        for name, service in (registry.services.items() if registry else ())
        if any(ref.partition(":")[0] == view.name for ref in service.features)
    )
    registered = [dict(m) for m in (info.models if info else ())]
    served = [
        {k: m[k] for k in ("name", "alias", "version")} | {"served": True}
        for m in models
        if view.name in m["views"]
    ]
    out["models"] = registered + served
    return out


def _served_models(app: App) -> list[dict[str, Any]]:
    """Served models with the views they read."""
    if app.models is None:
        return []
    out = []
    for model in app.models.models.values():
        views = model.views
        out.append(
            {"name": model.name, "version": model.version, "alias": model.alias, "views": views}
        )
    return out


def _readable(state: ServingState, principal: Principal | None) -> dict[str, FeatureView]:
    registry = state.registry
    if registry is None:
        raise NotReadyError(f"the registry is not loaded: {state.registry_error}")
    return {
        name: view
        for name, view in registry.views.items()
        if state.access.can_read(principal, name)
    }


async def list_features(app: App, req: Request) -> Response:
    """``GET /features``: everything this token may read."""
    state = app.state
    key = ("registry", req.principal.name if req.principal else None)
    cached = app.cache.get(key)
    if cached is not None:
        return 200, cached, JSON, None
    views = _readable(state, req.principal)
    registry = state.registry
    assert registry is not None
    models = _served_models(app)
    entities = {view.entity.name for view in views.values()}
    services = {
        name: {"features": list(s.features), "label": s.label, "description": s.description}
        for name, s in registry.services.items()
        if all(ref.partition(":")[0] in views for ref in s.features)
    }
    body = dumps(
        {
            "entities": {
                name: {
                    "name": e.name,
                    "keys": [{"name": k.name, "type": k.type} for k in e.keys],
                    "description": e.description,
                }
                for name, e in registry.entities.items()
                if name in entities
            },
            "feature_views": {
                name: describe_view(state, view, models) for name, view in sorted(views.items())
            },
            "services": services,
        }
    )
    app.cache[key] = body
    return 200, body, JSON, None


async def get_feature_view(app: App, req: Request) -> Response:
    """``GET /features/{view}``."""
    state = app.state
    name = req.params["view"]
    views = _readable(state, req.principal)
    view = views.get(name)
    if view is None:
        raise UnknownFeatureViewError(f"unknown feature view '{name}'")
    return 200, dumps(describe_view(state, view, _served_models(app))), JSON, None


ROUTES = [
    Route("/features", "GET", list_features),
    Route("/features/{view}", "GET", get_feature_view),
]
