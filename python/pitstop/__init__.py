"""Pitstop: a SQL-first feature store that is a dbt project.

The public API is deliberately small: `FeatureStore`, the types its calls
return, and the errors they raise. Importing this package stays cheap: dbt,
DuckDB, pandas, MLflow, Redis and FastAPI load only inside the features that
need them.
"""

from __future__ import annotations

from pitstop.errors import (
    ContractError,
    DbtError,
    InvalidEntityKeyError,
    InvalidRequestError,
    MaterializationError,
    NotFoundError,
    OnlineStoreError,
    PitstopError,
    ProjectError,
    UnknownFeatureError,
    UnknownFeatureViewError,
    UnknownServiceError,
)
from pitstop.online.lookup import OnlineFeatures, Status
from pitstop.online.materialize import MaterializeResult
from pitstop.store import FeatureStore

__all__ = [
    "ContractError",
    "DbtError",
    "FeatureStore",
    "InvalidEntityKeyError",
    "InvalidRequestError",
    "MaterializationError",
    "MaterializeResult",
    "NotFoundError",
    "OnlineFeatures",
    "OnlineStoreError",
    "PitstopError",
    "ProjectError",
    "Status",
    "UnknownFeatureError",
    "UnknownFeatureViewError",
    "UnknownServiceError",
]

__version__ = "0.1.0"
