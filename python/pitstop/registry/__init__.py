"""The feature registry: entities, feature views, features and feature services.

dbt is the source of truth: `Registry.load` reads them from the project's
manifest (`pitstop.registry.manifest`) and validates them against the
contract (`pitstop.registry.contract`).
"""

from __future__ import annotations

from pitstop.registry.contract import (
    Entity,
    EntityKey,
    Feature,
    FeatureService,
    FeatureView,
    Registry,
    column_name,
    is_identifier,
    ref_from_column,
    view_dict,
)
from pitstop.times import parse_ttl

__all__ = [
    "Entity",
    "EntityKey",
    "Feature",
    "FeatureService",
    "FeatureView",
    "Registry",
    "column_name",
    "is_identifier",
    "parse_ttl",
    "ref_from_column",
    "view_dict",
]
