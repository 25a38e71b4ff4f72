"""One error root for the whole package.

Every error a user can cause is a `PitstopError` subclass that carries the
HTTP status the server answers with, so the CLI and the server translate
errors in one place each and nothing else needs to know about HTTP.
"""

from __future__ import annotations

__all__ = [
    "ContractError",
    "DbtError",
    "EngineError",
    "InvalidEntityKeyError",
    "InvalidRequestError",
    "MaterializationError",
    "ModelNotFoundError",
    "ModelRegistryError",
    "NotFoundError",
    "OnlineStoreError",
    "PitstopError",
    "ProjectError",
    "StaleModelError",
    "UnknownFeatureError",
    "UnknownFeatureViewError",
    "UnknownServiceError",
]


class PitstopError(Exception):
    """Root of every error Pitstop raises on purpose."""

    http_status: int = 500


class ProjectError(PitstopError):
    """The project directory, its configuration or its profile is unusable."""

    http_status = 500


class EngineError(ProjectError):
    """The engine the target runs on (Spark, its Java) cannot be started or used."""

    http_status = 500


class ContractError(PitstopError):
    """A feature view, entity or training set breaks the registry contract."""

    http_status = 422


class DbtError(PitstopError):
    """A dbt invocation (parse, compile, run) failed."""

    http_status = 500


class NotFoundError(PitstopError):
    """Something a request names does not exist (a view, feature, service, model)."""

    http_status = 404


class UnknownFeatureViewError(NotFoundError):
    """A feature view name that the registry does not know."""

    http_status = 404


class UnknownFeatureError(NotFoundError):
    """A feature reference that names no feature of its view."""

    http_status = 404


class UnknownServiceError(NotFoundError):
    """A feature service (training set) name that the registry does not know."""

    http_status = 404


class InvalidEntityKeyError(PitstopError):
    """Entity keys are missing, misnamed or of the wrong type."""

    http_status = 400


class InvalidRequestError(PitstopError):
    """A request is malformed in a way no narrower error describes."""

    http_status = 400


class OnlineStoreError(PitstopError):
    """The online store cannot be reached or is not in the expected state."""

    http_status = 503


class MaterializationError(PitstopError):
    """A materialization failed; the online store was left as it was."""

    http_status = 500


class ModelNotFoundError(NotFoundError):
    """A registered model, version or alias that the model registry does not know."""

    http_status = 404


class StaleModelError(PitstopError):
    """A model's feature spec no longer matches the registry or the online store."""

    http_status = 409


class ModelRegistryError(PitstopError):
    """The MLflow tracking server or model registry cannot be reached or used."""

    http_status = 503
