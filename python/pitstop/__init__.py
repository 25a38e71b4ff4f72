"""Pitstop: a SQL-first feature store that is a dbt project.

The public API is deliberately small; everything else is reachable through
`FeatureStore`. Importing this package stays cheap: dbt, MLflow, Redis and
FastAPI load only inside the features that need them.
"""

from __future__ import annotations

from pitstop.errors import (
    ContractError,
    DbtError,
    InvalidEntityKeyError,
    InvalidRequestError,
    MaterializationError,
    OnlineStoreError,
    PitstopError,
    ProjectError,
    UnknownFeatureError,
    UnknownFeatureViewError,
    UnknownServiceError,
)
from pitstop.store import FeatureStore

__all__ = [
    "ContractError",
    "DbtError",
    "FeatureStore",
    "InvalidEntityKeyError",
    "InvalidRequestError",
    "MaterializationError",
    "OnlineStoreError",
    "PitstopError",
    "ProjectError",
    "UnknownFeatureError",
    "UnknownFeatureViewError",
    "UnknownServiceError",
]

__version__ = "0.1.0"
