"""Reading a registered feature-aware model back from MLflow (imports MLflow).

Kept apart from `pitstop.models.pyfunc` (the class that is pickled) so that
loading does not import the pyfunc module by name: unpickling does.
"""

from __future__ import annotations

import tempfile
import warnings
from dataclasses import dataclass
from typing import Any

import mlflow.pyfunc

from pitstop.errors import StaleModelError
from pitstop.models.spec import ModelFeatureSpec
from pitstop.models.tracking import (
    MlflowSettings,
    ModelRef,
    client,
    mlflow_errors,
    parse_model_ref,
    using,
)

__all__ = ["Loaded", "load_pyfunc", "load_version", "resolve_version"]


@dataclass(frozen=True)
class Loaded:
    """What a logged feature-aware model holds (and, from `load_version`, which
    registered version it is)."""

    model: Any
    spec: ModelFeatureSpec
    name: str = ""
    version: str = ""
    alias: str | None = None
    run_id: str | None = None


def resolve_version(settings: MlflowSettings, ref: ModelRef) -> Any:
    """The MLflow `ModelVersion` a parsed reference names.

    Raises:
        ModelNotFoundError: no such model, alias or version.
        ModelRegistryError: the tracking store is unreachable.
    """
    mlflow_client = client(settings)
    with mlflow_errors(f"model {ref}"):
        if ref.alias is not None:
            return mlflow_client.get_model_version_by_alias(ref.name, ref.alias)
        return mlflow_client.get_model_version(ref.name, str(ref.version))


def load_version(settings: MlflowSettings, ref: str) -> Loaded:
    """Resolve ``ref`` (``NAME@alias`` / ``NAME/VERSION``) and load that version."""
    parsed = parse_model_ref(ref)
    version = resolve_version(settings, parsed)
    loaded = load_pyfunc(settings, parsed.name, str(version.version))
    return Loaded(
        loaded.model,
        loaded.spec,
        name=parsed.name,
        version=str(version.version),
        alias=parsed.alias,
        run_id=version.run_id,
    )


def load_pyfunc(settings: MlflowSettings, name: str, version: str) -> Loaded:
    """Download and unpickle registered version ``name/version``.

    Raises:
        ModelNotFoundError, ModelRegistryError: from MLflow.
        StaleModelError: the version is not a Pitstop feature-aware model.
    """
    with (
        mlflow_errors(f"loading model {name}/{version}"),
        tempfile.TemporaryDirectory() as tmp,
        using(settings),
        warnings.catch_warnings(),
    ):
        # MLflow suggests type hints on predict: the model validates its rows itself
        warnings.simplefilter("ignore", UserWarning)
        loaded = mlflow.pyfunc.load_model(
            f"models:/{name}/{version}", suppress_warnings=True, dst_path=tmp
        )
        python_model: Any = getattr(loaded._model_impl, "python_model", None)
    if not isinstance(getattr(python_model, "spec_json", None), str):
        raise StaleModelError(
            f"model {name}/{version} is not a feature-aware model (log it with "
            "pitstop.models.log_model)"
        )
    return Loaded(python_model.model, ModelFeatureSpec.loads(python_model.spec_json))
