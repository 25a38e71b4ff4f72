"""A tiny router: exact paths in a dict, a few ``{param}`` templates, 404/405.

Starlette's router would do, but its per-request cost sits on the lookup
routes; this one costs a dict lookup for them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pitstop.serving.errors import MethodNotAllowedError, RouteNotFoundError

if TYPE_CHECKING:
    from pitstop.serving.auth import Principal
    from pitstop.serving.http import Receive, Response, Scope

__all__ = ["Request", "Route", "Router"]


class Request:
    """What a handler gets: the ASGI scope and receive channel, the path
    parameters and the authenticated principal (``None`` when auth is off)."""

    __slots__ = ("params", "principal", "receive", "scope")

    def __init__(
        self,
        scope: Scope,
        receive: Receive,
        params: dict[str, str],
        principal: Principal | None,
    ) -> None:
        self.scope = scope
        self.receive = receive
        self.params = params
        self.principal = principal


# (the application, the request) -> response; the application is typed Any
# here so that the router does not import it back
Handler = Callable[[Any, Request], Awaitable["Response"]]


@dataclass(frozen=True)
class Route:
    """One operation: path template, method, handler; ``public`` routes need no token."""

    template: str
    method: str
    handler: Handler
    public: bool = False

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.template.strip("/").split("/"))


class Router:
    """Resolves ``(method, path)`` to a route and its path parameters."""

    def __init__(self, routes: Sequence[Route]) -> None:
        self.exact: dict[str, dict[str, Route]] = {}
        self.templates: list[tuple[tuple[str, ...], dict[str, Route]]] = []
        by_template: dict[str, dict[str, Route]] = {}
        for route in routes:
            by_template.setdefault(route.template, {})[route.method] = route
        for template, methods in by_template.items():
            if "{" in template:
                self.templates.append((tuple(template.strip("/").split("/")), methods))
            else:
                self.exact[template] = methods

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route for ``method`` and ``path`` and its parameters.

        An exact path wins over every template (so ``GET /features/online`` is
        405, not the view named ``online``); a template matches when its literal
        segments are equal and its parameters are non-empty.

        Raises:
            RouteNotFoundError: no route has this path.
            MethodNotAllowedError: some route has it, with other methods.
        """
        allowed: list[str] = []
        methods = self.exact.get(path)
        if methods is not None:
            # a concrete path shadows the templates, as in OpenAPI path matching
            route = methods.get(method)
            if route is not None:
                return route, {}
            unique = tuple(methods)
            raise MethodNotAllowedError(
                f"{method} is not allowed on {path}; allowed: {', '.join(unique)}", unique
            )
        segments = path.strip("/").split("/")
        for parts, methods in self.templates:
            params = _match(parts, segments)
            if params is None:
                continue
            route = methods.get(method)
            if route is not None:
                return route, params
            allowed.extend(methods)
        if allowed:
            unique = tuple(dict.fromkeys(allowed))
            raise MethodNotAllowedError(
                f"{method} is not allowed on {path}; allowed: {', '.join(unique)}", unique
            )
        raise RouteNotFoundError(f"no route {path}; see /docs")


def _match(parts: tuple[str, ...], segments: list[str]) -> dict[str, Any] | None:
    if len(parts) != len(segments):
        return None
    params: dict[str, str] = {}
    for part, segment in zip(parts, segments, strict=True):
        if part.startswith("{"):
            if not segment:
                return None
            params[part[1:-1]] = segment
        elif part != segment:
            return None
    return params
