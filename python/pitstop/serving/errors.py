"""Errors only the HTTP server raises, under the package's one error root.

Each carries the HTTP status it is answered with, like every `PitstopError`,
so the server keeps a single handler: ``{"error": {"type", "message"}}`` with
``http_status``. None of them is a 5xx caused by what a client sent.
"""

from __future__ import annotations

from pitstop.errors import NotFoundError, PitstopError

__all__ = [
    "ForbiddenError",
    "LookupTimeoutError",
    "MethodNotAllowedError",
    "ModelNotServedError",
    "NotReadyError",
    "PredictionError",
    "RequestTimeoutError",
    "RequestTooLargeError",
    "RouteNotFoundError",
    "ServeConfigError",
    "UnauthorizedError",
]


class UnauthorizedError(PitstopError):
    """The request carries no API token, or one the server does not know."""

    http_status = 401


class ForbiddenError(PitstopError):
    """The API token is valid but may not read a feature view the request needs."""

    http_status = 403


class RouteNotFoundError(NotFoundError):
    """No route has this path."""

    http_status = 404


class ModelNotServedError(NotFoundError):
    """The server does not serve a model of this name."""

    http_status = 404


class MethodNotAllowedError(PitstopError):
    """The path exists but not with this HTTP method."""

    http_status = 405

    def __init__(self, message: str, allowed: tuple[str, ...]) -> None:
        super().__init__(message)
        self.allowed = allowed


class PredictionError(PitstopError):
    """The model raised on these entities (e.g. a feature it cannot take is missing)."""

    http_status = 422


class RequestTimeoutError(PitstopError):
    """The client took longer than the request time limit to send its body."""

    http_status = 408


class RequestTooLargeError(PitstopError):
    """The body or the number of entities is above the server's limit."""

    http_status = 413


class NotReadyError(PitstopError):
    """The registry or the online store is not loaded (yet); retry later."""

    http_status = 503


class LookupTimeoutError(PitstopError):
    """A lookup ran longer than the request time limit (the store is slow or overloaded)."""

    http_status = 503


class ServeConfigError(PitstopError):
    """The server's own configuration (tokens, limits) is unusable."""

    http_status = 500
