"""The model registry on MLflow: feature-aware models that predict from entity keys.

``log_model`` logs and registers a fitted model with its feature spec;
``load_model("fraud@champion")`` gives a `FeatureAwareModel` whose ``predict``
takes entity keys and looks its features up online; ``alias_version`` is the
cheap call a server polls to notice a promotion. Importing this package is
cheap: MLflow (seconds to import), pandas and pyarrow load only in the calls
that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pitstop.models.feature_model import FeatureAwareModel, alias_version, load_model
from pitstop.models.spec import ModelFeatureSpec

if TYPE_CHECKING:
    from pitstop.models.log import LoggedModel, log_model

__all__ = [
    "FeatureAwareModel",
    "LoggedModel",
    "ModelFeatureSpec",
    "alias_version",
    "load_model",
    "log_model",
]

_LAZY = {"log_model": "pitstop.models.log", "LoggedModel": "pitstop.models.log"}


def __getattr__(name: str) -> Any:
    # log_model's module imports MLflow: only when it is used
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pitstop.models' has no attribute {name!r}")
