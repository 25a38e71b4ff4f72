"""Registered models, their versions and aliases (``list``, ``show``, ``promote``).

Aliases, not stages: MLflow's stage API is deprecated, and an alias
(``champion``, ``challenger``) is what `load_model("fraud@champion")` and a
server polling `alias_version` follow. Every answer here is plain data
(JSON-ready dicts), so the CLI prints it and a server could return it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pitstop.errors import InvalidRequestError
from pitstop.models.tracking import (
    MlflowSettings,
    client,
    mlflow_errors,
    mlflow_settings,
    parse_model_ref,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

    from pitstop.project import Project

__all__ = [
    "TAG_COMMIT",
    "TAG_SERVICE",
    "TAG_SERVICE_ID",
    "TAG_VIEWS",
    "feature_spec_of",
    "list_models",
    "models_using_view",
    "promote",
    "show_model",
    "training_stats_of",
]

TAG_SERVICE = "pitstop.feature_service"
TAG_VIEWS = "pitstop.feature_views"
TAG_SERVICE_ID = "pitstop.service_unique_id"
TAG_COMMIT = "pitstop.git_commit"
_ALIAS_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def _when(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="seconds")


def _versions(mlflow_client: MlflowClient, name: str) -> list[ModelVersion]:
    found = mlflow_client.search_model_versions(f"name = '{name}'")
    return sorted(found, key=lambda v: int(v.version))


def version_dict(version: ModelVersion, aliases: Iterable[str] = ()) -> dict[str, Any]:
    """One registered version as plain data."""
    tags = dict(version.tags or {})
    views = tags.get(TAG_VIEWS, "")
    return {
        "name": version.name,
        "version": str(version.version),
        "aliases": sorted(aliases),
        "run_id": version.run_id,
        "source": version.source,
        "status": version.status,
        "created": _when(version.creation_timestamp),
        "feature_service": tags.get(TAG_SERVICE),
        "feature_views": [v for v in views.split(",") if v],
        "service_unique_id": tags.get(TAG_SERVICE_ID),
        "git_commit": tags.get(TAG_COMMIT),
    }


def _model_dict(mlflow_client: MlflowClient, name: str) -> dict[str, Any]:
    model = mlflow_client.get_registered_model(name)
    aliases: dict[str, str] = {str(a): str(v) for a, v in (model.aliases or {}).items()}
    by_version: dict[str, list[str]] = {}
    for alias, version in aliases.items():
        by_version.setdefault(version, []).append(alias)
    versions = [
        version_dict(v, by_version.get(str(v.version), ())) for v in _versions(mlflow_client, name)
    ]
    return {
        "name": model.name,
        "description": model.description or "",
        "aliases": aliases,
        "latest_version": versions[-1]["version"] if versions else None,
        "created": _when(model.creation_timestamp),
        "versions": versions,
    }


def _settings_client(project: Project | None) -> tuple[MlflowSettings, MlflowClient]:
    settings = mlflow_settings(project)
    return settings, client(settings)


def list_models(project: Project | None = None) -> list[dict[str, Any]]:
    """Every registered model with its aliases and versions.

    Raises:
        ModelRegistryError: the tracking store is unreachable.
    """
    _, mlflow_client = _settings_client(project)
    with mlflow_errors("listing registered models"):
        names: list[str] = []
        token: str | None = None
        while True:
            page = mlflow_client.search_registered_models(max_results=1000, page_token=token)
            names.extend(m.name for m in page)
            token = page.token
            if not token:
                break
        return [_model_dict(mlflow_client, name) for name in sorted(names)]


def show_model(ref: str, project: Project | None = None) -> dict[str, Any]:
    """``NAME``: the model and all its versions; ``NAME@alias`` or
    ``NAME/VERSION``: that version with its feature spec.

    Raises:
        InvalidRequestError: a malformed reference.
        ModelNotFoundError: no such model, alias or version.
        ModelRegistryError: the tracking store is unreachable.
    """
    parsed = parse_model_ref(ref, allow_bare=True)
    settings, mlflow_client = _settings_client(project)
    with mlflow_errors(f"model {ref}"):
        model = _model_dict(mlflow_client, parsed.name)
        if parsed.alias is None and parsed.version is None:
            return model
        if parsed.alias is not None:
            version = mlflow_client.get_model_version_by_alias(parsed.name, parsed.alias)
        else:
            version = mlflow_client.get_model_version(parsed.name, str(parsed.version))
    number = str(version.version)
    out: dict[str, Any] = next(v for v in model["versions"] if v["version"] == number)
    out["feature_spec"] = feature_spec_of(settings, out["run_id"])
    return out


def _run_json(settings: MlflowSettings, run_id: str | None, path: str) -> dict[str, Any] | None:
    """A JSON artifact of a run, or None when the run has no such file."""
    import json
    import tempfile

    if not run_id:
        return None
    mlflow_client = client(settings)
    with mlflow_errors(f"reading {path} of run {run_id}"), tempfile.TemporaryDirectory() as tmp:
        listed = {f.path for f in mlflow_client.list_artifacts(run_id, path.rpartition("/")[0])}
        if path not in listed:
            return None
        local = mlflow_client.download_artifacts(run_id, path, tmp)
        data = json.loads(Path(local).read_text())
    return data if isinstance(data, dict) else None


def feature_spec_of(settings: MlflowSettings, run_id: str | None) -> dict[str, Any] | None:
    """The feature spec a run logged (``pitstop/feature_spec.json``), without
    the Arrow schema blob."""
    data = _run_json(settings, run_id, "pitstop/feature_spec.json")
    if data is not None:
        data.pop("arrow_schema", None)
    return data


def training_stats_of(settings: MlflowSettings, run_id: str | None) -> dict[str, Any] | None:
    """The training statistics a run logged (``pitstop/training_stats.json``)."""
    return _run_json(settings, run_id, "pitstop/training_stats.json")


def promote(
    name: str, version: str, alias: str = "champion", project: Project | None = None
) -> dict[str, Any]:
    """Point ``alias`` at ``name``'s ``version`` (a server polling
    `alias_version` swaps to it).

    Returns:
        ``{"name", "alias", "version", "previous"}`` (previous: the version the
        alias pointed at before, or None).

    Raises:
        InvalidRequestError: a version that is not a number, a malformed alias.
        ModelNotFoundError: no such model or version.
        ModelRegistryError: the tracking store is unreachable.
    """
    version = str(version)
    if not version.isdigit() or int(version) < 1:
        raise InvalidRequestError(f"version must be a positive number, got {version!r}")
    if not alias or not set(alias) <= _ALIAS_CHARS or alias.isdigit():
        raise InvalidRequestError(
            f"alias {alias!r} must be letters, digits, '_' or '-' (and not only digits)"
        )
    _, mlflow_client = _settings_client(project)
    with mlflow_errors(f"promoting {name}/{version} to @{alias}"):
        mlflow_client.get_model_version(name, version)
        model = mlflow_client.get_registered_model(name)
        previous = (model.aliases or {}).get(alias)
        mlflow_client.set_registered_model_alias(name, alias, version)
    return {
        "name": name,
        "alias": alias,
        "version": version,
        "previous": None if previous is None else str(previous),
    }


def models_using_view(view: str, project: Project | None = None) -> list[dict[str, Any]]:
    """Registered versions whose features come from feature view ``view``.

    Without an MLflow store yet (the embedded default's file does not exist)
    this is an empty list and MLflow is not imported.

    Raises:
        ModelRegistryError: the tracking store is unreachable.
    """
    settings = mlflow_settings(project)
    path = settings.sqlite_path
    if path is not None and not path.exists():
        return []
    out = []
    for model in list_models(project):
        for version in model["versions"]:
            if view in version["feature_views"]:
                out.append(version)
    return out
