"""Where MLflow keeps runs and registered models, and talking to it safely.

The embedded default is one SQLite file inside the project
(``.pitstop/mlflow.db``) for tracking and the registry, with an **absolute**
artifact root next to it (``.pitstop/mlartifacts``): MLflow's own default
(``./mlruns`` relative to the working directory) breaks as soon as a command
runs from another folder. ``MLFLOW_TRACKING_URI`` wins, then var
``pitstop_mlflow`` of ``dbt_project.yml``.

MLflow is imported only inside functions (it takes seconds to import), its
fluent API's global URIs are set only for the duration of a call, and every
MLflow failure leaves as a `PitstopError`: unknown names as
`ModelNotFoundError`, an unreachable or broken store as `ModelRegistryError`.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from pitstop.errors import (
    InvalidRequestError,
    ModelNotFoundError,
    ModelRegistryError,
    PitstopError,
    ProjectError,
)
from pitstop.settings import env

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from pitstop.project import Project

__all__ = [
    "DEFAULT_EXPERIMENT",
    "MlflowSettings",
    "ModelRef",
    "client",
    "mlflow_errors",
    "mlflow_settings",
    "parse_model_ref",
    "using",
]

# telemetry off before MLflow is ever imported; a dead tracking server fails in
# seconds instead of MLflow's default of seven retries with exponential backoff
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

DEFAULT_EXPERIMENT = "pitstop"
_DB = ".pitstop/mlflow.db"
_ARTIFACTS = ".pitstop/mlartifacts"
_NAME_RE = re.compile(r"[A-Za-z0-9_.\-]+")
_lock = threading.RLock()
_URI_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


@dataclass(frozen=True)
class MlflowSettings:
    """Where tracking and the registry live.

    Attributes:
        tracking_uri: MLflow's tracking (and registry) URI.
        artifact_root: absolute artifact location of new experiments, or None
            to let a tracking server decide.
        experiment: the experiment runs are logged to.
    """

    tracking_uri: str
    artifact_root: str | None
    experiment: str = DEFAULT_EXPERIMENT

    @property
    def sqlite_path(self) -> Path | None:
        """The database file of a ``sqlite:///`` store (None for servers)."""
        if not self.tracking_uri.startswith("sqlite:///"):
            return None
        return Path(unquote(urlparse(self.tracking_uri).path))


def mlflow_settings(project: Project | None = None) -> MlflowSettings:
    """The MLflow settings: ``MLFLOW_TRACKING_URI``, else var ``pitstop_mlflow``
    (a URI, or ``{tracking_uri, artifact_root, experiment}``), else the
    embedded SQLite store of ``project`` (found from the working directory or
    ``PITSTOP_PROJECT_DIR`` when not given).

    Raises:
        ProjectError: no tracking URI is set and there is no project to hold the
            default store, or var pitstop_mlflow is malformed.
    """
    configured: Mapping[str, Any] = {}
    if project is not None:
        raw = project.vars.get("pitstop_mlflow")
        if isinstance(raw, str):
            configured = {"tracking_uri": raw}
        elif isinstance(raw, Mapping):
            unknown = set(raw) - {"tracking_uri", "artifact_root", "experiment"}
            if unknown:
                raise ProjectError(
                    "dbt_project.yml, var pitstop_mlflow: unknown field(s) "
                    f"{', '.join(sorted(map(str, unknown)))} (allowed: tracking_uri, "
                    "artifact_root, experiment)"
                )
            configured = raw
        elif raw is not None:
            raise ProjectError(
                "dbt_project.yml, var pitstop_mlflow: expected a tracking URI or a mapping "
                "{tracking_uri, artifact_root, experiment}"
            )
    experiment = str(configured.get("experiment") or DEFAULT_EXPERIMENT)
    uri = env("MLFLOW_TRACKING_URI") or configured.get("tracking_uri")
    root = project.root if project is not None else None
    if uri is None:
        if root is None:
            from pitstop.project import Project

            try:
                root = Project.find().root
            except ProjectError:
                raise ProjectError(
                    "no MLflow tracking store: set MLFLOW_TRACKING_URI or run inside a "
                    "Pitstop project (its default store is .pitstop/mlflow.db)"
                ) from None
        db = root / _DB
        return MlflowSettings(f"sqlite:///{db}", str(root / _ARTIFACTS), experiment)
    uri = str(uri)
    artifact_root = configured.get("artifact_root")
    if artifact_root is not None:
        path = Path(str(artifact_root))
        if not path.is_absolute() and "://" not in str(artifact_root):
            path = (root or Path.cwd()) / path
            artifact_root = str(path)
    elif uri.startswith("sqlite:///"):
        # a SQLite store keeps its artifacts next to it, absolute
        artifact_root = str(Path(unquote(urlparse(uri).path)).parent / "mlartifacts")
    elif uri.startswith("sqlite:"):
        raise ProjectError(
            f"MLflow tracking URI {uri!r}: use an absolute SQLite URI, sqlite:////abs/path.db"
        )
    return MlflowSettings(uri, str(artifact_root) if artifact_root else None, experiment)


@contextmanager
def mlflow_errors(what: str) -> Iterator[None]:
    """Turn MLflow's and the network's exceptions into `PitstopError`s.

    ``RESOURCE_DOES_NOT_EXIST`` becomes `ModelNotFoundError` (404); anything
    that says the store cannot be reached or used becomes `ModelRegistryError`
    (503), prefixed with ``what`` was being done.
    """
    try:
        yield
    except PitstopError:
        raise
    except Exception as exc:
        from mlflow.exceptions import MlflowException

        if isinstance(exc, MlflowException):
            code = str(getattr(exc, "error_code", ""))
            message = _first_line(exc.message)
            if code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
                raise ModelNotFoundError(f"{what}: {message}") from None
            if code == "INVALID_PARAMETER_VALUE" and "not found" in message.lower():
                raise ModelNotFoundError(f"{what}: {message}") from None
            raise ModelRegistryError(f"{what}: {message}") from None
        if isinstance(exc, (OSError, ConnectionError)) or type(exc).__module__.startswith(
            ("requests", "urllib3", "sqlalchemy")
        ):
            raise ModelRegistryError(
                f"{what}: the MLflow tracking store is unreachable or unusable "
                f"({type(exc).__name__}: {_first_line(str(exc))})"
            ) from None
        raise


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else text
    return line if len(line) <= 400 else line[:400] + "..."


def _prepare(settings: MlflowSettings) -> None:
    path = settings.sqlite_path
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    if settings.artifact_root and "://" not in settings.artifact_root:
        Path(settings.artifact_root).mkdir(parents=True, exist_ok=True)


def client(settings: MlflowSettings) -> MlflowClient:
    """An `MlflowClient` for ``settings`` (tracking and registry on the same URI)."""
    from mlflow import MlflowClient

    _prepare(settings)
    with mlflow_errors(f"opening the MLflow store {settings.tracking_uri}"):
        return MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)


def experiment_id(settings: MlflowSettings) -> str:
    """The id of the settings' experiment, created with the absolute artifact root."""
    mlflow_client = client(settings)
    with mlflow_errors(f"opening experiment '{settings.experiment}'"):
        found = mlflow_client.get_experiment_by_name(settings.experiment)
        if found is not None:
            return str(found.experiment_id)
        location = Path(settings.artifact_root).as_uri() if settings.artifact_root else None
        if settings.artifact_root and "://" in settings.artifact_root:
            location = settings.artifact_root
        return str(mlflow_client.create_experiment(settings.experiment, artifact_location=location))


@contextmanager
def using(settings: MlflowSettings) -> Iterator[str]:
    """Point MLflow's fluent API at ``settings`` for the block (restored after);
    yields the experiment id. One block at a time per process: the fluent
    API's URIs are process-global."""
    import mlflow
    import mlflow.tracking._model_registry.utils as registry_utils
    import mlflow.tracking._tracking_service.utils as tracking_utils

    with _lock:
        exp_id = experiment_id(settings)
        # MLflow's setters also write MLFLOW_TRACKING_URI / MLFLOW_REGISTRY_URI
        # into the environment: put back exactly what was there (or nothing)
        saved_env = {name: os.environ.get(name) for name in _URI_VARIABLES}
        saved_tracking = tracking_utils._tracking_uri
        saved_registry = registry_utils._registry_uri
        mlflow.set_tracking_uri(settings.tracking_uri)
        mlflow.set_registry_uri(settings.tracking_uri)
        try:
            yield exp_id
        finally:
            mlflow.set_tracking_uri(saved_tracking)  # type: ignore[arg-type]  # None unsets
            registry_utils._registry_uri = saved_registry
            for name, value in saved_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


@dataclass(frozen=True)
class ModelRef:
    """A registered model version named by alias (``NAME@alias``) or number
    (``NAME/VERSION``)."""

    name: str
    alias: str | None = None
    version: str | None = None

    def __str__(self) -> str:
        return f"{self.name}@{self.alias}" if self.alias else f"{self.name}/{self.version}"

    @property
    def uri(self) -> str:
        return f"models:/{self}"


def parse_model_ref(ref: str, allow_bare: bool = False) -> ModelRef:
    """``NAME@alias``, ``NAME/VERSION`` or either with a ``models:/`` prefix.

    Args:
        ref: the reference.
        allow_bare: also accept a bare ``NAME`` (then alias and version are None).

    Raises:
        InvalidRequestError: anything else (e.g. a version that is not a number).
    """
    if not isinstance(ref, str):
        raise InvalidRequestError(f"model reference must be a string, got {ref!r}")
    text = ref.removeprefix("models:/")
    name, at, alias = text.partition("@")
    version: str | None = None
    if not at:
        name, slash, version_text = text.partition("/")
        if slash:
            if not version_text.isdigit() or int(version_text) < 1:
                raise InvalidRequestError(
                    f"model reference {ref!r}: the version must be a positive number "
                    "(NAME/VERSION), or use NAME@alias"
                )
            version = str(int(version_text))
    if not _NAME_RE.fullmatch(name) or (at and not _NAME_RE.fullmatch(alias)):
        raise InvalidRequestError(
            f"model reference {ref!r} must be NAME@alias, NAME/VERSION or models:/NAME@alias"
        )
    if not at and version is None and not allow_bare:
        raise InvalidRequestError(
            f"model reference {ref!r} names no version: use NAME@alias (e.g. {name}@champion) "
            f"or NAME/VERSION (e.g. {name}/1)"
        )
    return ModelRef(name=name, alias=alias if at else None, version=version)
