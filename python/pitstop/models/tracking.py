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
    "server_command",
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
# MLflow's REST client: "API request to http://host:port/api/2.0/... failed with
# exception ... Max retries exceeded ..." when nothing answers
_UNREACHABLE = re.compile(
    r"API request to (\S+?)/api/\S* failed with exception .*(?:Max retries exceeded|"
    r"Failed to establish|Connection refused|timed out)",
    re.DOTALL,
)
_lock = threading.RLock()
_URI_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
_clients: dict[str, MlflowClient] = {}
_experiments: dict[tuple[str, str], str] = {}


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
        return _sqlite_path(self.tracking_uri)


def _sqlite_path(uri: str) -> Path | None:
    """``sqlite:////abs/file.db`` -> ``/abs/file.db`` (SQLAlchemy's form: three
    slashes, then the path, which is relative unless it starts with one more)."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(unquote(urlparse(uri).path[1:]))


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
    elif uri.startswith("sqlite:"):
        db_path = _sqlite_path(uri)
        if db_path is None or not db_path.is_absolute():
            # relative to whatever folder a command runs in: a second, empty store
            raise ProjectError(
                f"MLflow tracking URI {uri!r}: use an absolute SQLite URI, "
                "sqlite:////abs/path/mlflow.db"
            )
        # a SQLite store keeps its artifacts next to it, absolute
        artifact_root = str(db_path.parent / "mlartifacts")
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
            server = _UNREACHABLE.search(exc.message)
            if server is not None:
                raise ModelRegistryError(
                    f"{what}: the MLflow tracking server {server.group(1)} is unreachable "
                    "(is it running? MLFLOW_TRACKING_URI or var pitstop_mlflow names it)"
                ) from None
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
    cached = _clients.get(settings.tracking_uri)
    if cached is not None:
        return cached
    from mlflow import MlflowClient

    _prepare(settings)
    with mlflow_errors(f"opening the MLflow store {settings.tracking_uri}"):
        made = MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)
    # one client per store and process: a server polls alias_version often
    _clients[settings.tracking_uri] = made
    return made


def experiment_id(settings: MlflowSettings) -> str:
    """The id of the settings' experiment, created with the absolute artifact root."""
    key = (settings.tracking_uri, settings.experiment)
    known = _experiments.get(key)
    if known is not None:
        return known
    mlflow_client = client(settings)
    with mlflow_errors(f"opening experiment '{settings.experiment}'"):
        found = mlflow_client.get_experiment_by_name(settings.experiment)
        if found is not None:
            made = str(found.experiment_id)
        else:
            location = Path(settings.artifact_root).as_uri() if settings.artifact_root else None
            if settings.artifact_root and "://" in settings.artifact_root:
                location = settings.artifact_root
            made = str(
                mlflow_client.create_experiment(settings.experiment, artifact_location=location)
            )
    _experiments[key] = made
    return made


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


def server_command(settings: MlflowSettings, port: int = 5000) -> list[str]:
    """``mlflow server`` on ``settings``' store, on 127.0.0.1 with one worker
    (``mlflow ui`` defaults to 4 workers, which took 26 s to become healthy on
    a 2-core machine)."""
    import sys

    mlflow_bin = Path(sys.executable).with_name("mlflow")
    command = [
        str(mlflow_bin),
        "server",
        "--backend-store-uri",
        settings.tracking_uri,
        "--host",
        "127.0.0.1",
        "--port",
        str(int(port)),
        "--workers",
        "1",
    ]
    if settings.artifact_root:
        root = settings.artifact_root
        command += ["--default-artifact-root", root if "://" in root else Path(root).as_uri()]
    return command
