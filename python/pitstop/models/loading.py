"""Reading a registered feature-aware model back from MLflow (imports MLflow).

Kept apart from `pitstop.models.pyfunc` (the class that is pickled) so that
loading does not import the pyfunc module by name: unpickling does.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import Any

import mlflow.pyfunc

from pitstop.errors import StaleModelError
from pitstop.models.spec import ModelFeatureSpec
from pitstop.models.tracking import MlflowSettings, mlflow_errors, using

__all__ = ["Loaded", "load_pyfunc"]


@dataclass(frozen=True)
class Loaded:
    """What a logged feature-aware model holds."""

    model: Any
    spec: ModelFeatureSpec


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
    ):
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
