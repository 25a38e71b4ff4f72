"""Build a throwaway Feast 0.67 repository from a JSON benchmark config.

Shared by ``offline.py`` and ``online.py``. Runs inside ``bench/.feast-venv``
only (Feast is never a Pitstop dependency), so it imports nothing from
``pitstop``. The repository lives in a temporary directory: a file registry,
a SQLite online store and one ``FileSource`` per feature view pointing at the
caller's Parquet file, registered in-process with ``FeatureStore.apply`` (no
``feast apply`` CLI, no ``feature_store.yaml``).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import warnings
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

# Feast reads these at import time; set them before anything imports feast.
os.environ.setdefault("FEAST_USAGE", "False")
os.environ.setdefault("DO_NOT_TRACK", "1")

PROJECT = "pitstop_bench"


class ConfigError(ValueError):
    """The benchmark config JSON is malformed."""


@dataclass(frozen=True)
class ViewSpec:
    """One feature view of the config, validated."""

    name: str
    path: str
    entities: list[str]
    timestamp_column: str
    created_timestamp_column: str | None
    ttl_seconds: int
    features: list[str]
    join_key_map: dict[str, str]


def load_config(arg: str) -> dict[str, Any]:
    """Read the config from inline JSON (starts with ``{``) or from a file path."""
    text = arg if arg.lstrip().startswith("{") else Path(arg).read_text()
    config = json.loads(text)
    if not isinstance(config, dict):
        raise ConfigError("config must be a JSON object")
    return config


def _require(obj: dict[str, Any], key: str, where: str) -> Any:
    if key not in obj or obj[key] in (None, ""):
        raise ConfigError(f"{where}: missing required key {key!r}")
    return obj[key]


def _parquet_schema(path: str) -> Any:
    """Arrow schema of a Parquet file, a directory of them, or a glob."""
    import pyarrow.dataset as ds

    return ds.dataset(_expand(path), format="parquet").schema


def _expand(path: str) -> str | list[str]:
    """DuckDB understands globs, pyarrow.dataset does not: expand them here."""
    if any(ch in path for ch in "*?["):
        import glob

        files = sorted(glob.glob(path))
        if not files:
            raise ConfigError(f"no file matches {path!r}")
        return files
    return path


def parse_views(config: dict[str, Any]) -> list[ViewSpec]:
    """Validate ``config["feature_views"]`` and fill in defaults from the Parquet schema."""
    raw_views = _require(config, "feature_views", "config")
    if not isinstance(raw_views, list) or not raw_views:
        raise ConfigError("config: feature_views must be a non-empty list")
    views: list[ViewSpec] = []
    for i, raw in enumerate(raw_views):
        where = f"feature_views[{i}]"
        name = str(_require(raw, "name", where))
        path = str(_require(raw, "path", where))
        entities = raw.get("entities") or raw.get("entity")
        if isinstance(entities, str):
            entities = [entities]
        if not entities:
            raise ConfigError(f"{where}: missing required key 'entities'")
        ts_col = str(_require(raw, "timestamp_column", where))
        created = raw.get("created_timestamp_column") or None
        ttl = int(raw.get("ttl_seconds") or 0)
        schema = _parquet_schema(path)
        missing = [
            c for c in [*entities, ts_col, *([created] if created else [])] if c not in schema.names
        ]
        if missing:
            raise ConfigError(f"{where}: columns {missing} not in {path}")
        features = raw.get("features")
        if not features:
            skip = {*entities, ts_col, created}
            features = [c for c in schema.names if c not in skip]
        absent = [f for f in features if f not in schema.names]
        if absent:
            raise ConfigError(f"{where}: features {absent} not in {path}")
        join_key_map = dict(raw.get("join_key_map") or {})
        views.append(
            ViewSpec(name, path, list(entities), ts_col, created, ttl, list(features), join_key_map)
        )
    names = [v.name for v in views]
    if len(set(names)) != len(names):
        raise ConfigError(f"config: duplicate feature view names {names}")
    return views


def _feast_type(arrow_type: Any) -> Any:
    """Map an Arrow column type to the Feast type used in the view schema."""
    import pyarrow as pa
    from feast import types as ft

    if pa.types.is_boolean(arrow_type):
        return ft.Bool
    if pa.types.is_int64(arrow_type) or pa.types.is_uint32(arrow_type):
        return ft.Int64
    if pa.types.is_integer(arrow_type):
        return ft.Int32
    if pa.types.is_float32(arrow_type):
        return ft.Float32
    if pa.types.is_floating(arrow_type):
        return ft.Float64
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return ft.String
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        return ft.Bytes
    if pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type):
        return ft.UnixTimestamp
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        inner = _feast_type(arrow_type.value_type)
        return ft.Array(inner)
    raise ConfigError(f"unsupported column type {arrow_type}")


def _value_type(arrow_type: Any) -> Any:
    """Map an entity key column's Arrow type to a Feast ValueType."""
    import pyarrow as pa
    from feast import ValueType

    if pa.types.is_int64(arrow_type):
        return ValueType.INT64
    if pa.types.is_integer(arrow_type):
        return ValueType.INT32
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return ValueType.STRING
    raise ConfigError(f"unsupported entity key type {arrow_type} (use int or string)")


def build_store(
    views: list[ViewSpec], repo_dir: Path, offline_store: str = "duckdb"
) -> tuple[Any, Any]:
    """Create the FeatureStore in ``repo_dir`` and register entities, views and a service.

    Returns the store and the ``FeatureService`` named ``bench_service`` that
    holds every view (with its ``join_key_map`` projection, if any); both
    scripts request features through it, as a trained model would.
    """
    from feast import Entity, FeatureService, FeatureStore, FeatureView, Field, FileSource
    from feast.infra.offline_stores.dask import DaskOfflineStoreConfig
    from feast.infra.offline_stores.duckdb import DuckDBOfflineStoreConfig
    from feast.infra.online_stores.sqlite import SqliteOnlineStoreConfig
    from feast.repo_config import RegistryConfig, RepoConfig

    # ibis 12 calls DuckDB 2.0's deprecated fetch_arrow_table() on every query;
    # silence it (after importing feast, which resets the filters) so stderr
    # stays for real problems.
    warnings.filterwarnings("ignore", message=".*fetch_arrow_table.*")

    if offline_store == "duckdb":
        offline_cfg: Any = DuckDBOfflineStoreConfig()
    elif offline_store == "file":
        offline_cfg = DaskOfflineStoreConfig()
    else:
        raise ConfigError(f"store must be 'duckdb' or 'file', not {offline_store!r}")

    repo_dir.mkdir(parents=True, exist_ok=True)
    config = RepoConfig(
        project=PROJECT,
        provider="local",
        # cache_ttl_seconds=0 keeps the registry cached for the process lifetime,
        # so no refresh lands inside a timed loop.
        registry=RegistryConfig(path=str(repo_dir / "registry.db"), cache_ttl_seconds=0),
        offline_store=offline_cfg,
        online_store=SqliteOnlineStoreConfig(path=str(repo_dir / "online.db")),
        entity_key_serialization_version=3,
        repo_path=repo_dir,
    )
    store = FeatureStore(config=config)

    entities: dict[str, Any] = {}
    feature_views: list[Any] = []
    for view in views:
        schema = _parquet_schema(view.path)
        view_entities = []
        for key in view.entities:
            if key not in entities:
                entities[key] = Entity(
                    name=key, join_keys=[key], value_type=_value_type(schema.field(key).type)
                )
            view_entities.append(entities[key])
        fields = [Field(name=k, dtype=_feast_type(schema.field(k).type)) for k in view.entities]
        fields += [Field(name=f, dtype=_feast_type(schema.field(f).type)) for f in view.features]
        source = FileSource(
            name=f"{view.name}_source",
            path=str(Path(view.path).resolve()) if "*" not in view.path else view.path,
            timestamp_field=view.timestamp_column,
            created_timestamp_column=view.created_timestamp_column or "",
        )
        feature_views.append(
            FeatureView(
                name=view.name,
                entities=view_entities,
                ttl=timedelta(seconds=view.ttl_seconds),
                schema=fields,
                source=source,
                online=True,
            )
        )
    projected = [
        fv.with_join_key_map(v.join_key_map) if v.join_key_map else fv
        for fv, v in zip(feature_views, views, strict=True)
    ]
    service = FeatureService(name="bench_service", features=projected)
    store.apply([*entities.values(), *feature_views, service])
    return store, service


def feature_refs(views: list[ViewSpec]) -> list[str]:
    """``view:feature`` references for every requested feature."""
    return [f"{v.name}:{f}" for v in views for f in v.features]


def peak_rss_mb() -> float:
    """Peak resident set size of this process plus waited-for children, in MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024, 1)  # ru_maxrss is KiB on Linux


def feast_version() -> str:
    import importlib.metadata

    return importlib.metadata.version("feast")


def emit(result: dict[str, Any]) -> None:
    """Print the one-line JSON result on the real stdout.

    The scripts run Feast under ``contextlib.redirect_stdout(sys.stderr)``
    because Feast ``print``s progress (materialize, inferred timestamp
    columns); stdout carries only this line.
    """
    out = sys.__stdout__ or sys.stdout
    out.write(json.dumps(result) + "\n")
    out.flush()
