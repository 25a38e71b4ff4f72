"""Every environment variable Pitstop reads, declared and read in one place.

Modules ask `env(NAME)` instead of touching ``os.environ``: an undeclared
name is a programming error, and a test checks that the README lists every
declared variable, so a user can find each knob without reading the code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["ENV_VARS", "env"]

# name -> what it does (the README's "Environment variables" table says the same)
ENV_VARS: dict[str, str] = {
    "PITSTOP_PROJECT_DIR": "the dbt project to use (default: nearest dbt_project.yml upwards)",
    "PITSTOP_ONLINE_STORE": (
        "online store, wins over var pitstop_online_store: redis://host:port/db or "
        "sqlite:path (relative to the project)"
    ),
    "PITSTOP_DUCKDB_PATH": "the DuckDB file dbt builds into and Pitstop reads",
    "PITSTOP_MATERIALIZE_MEMORY": "DuckDB memory limit of materialize (default 1GB), e.g. 2GB",
    "PITSTOP_LOCK_TIMEOUT": ("seconds a materialize waits for another one to finish (default 600)"),
    "PITSTOP_SPARK_MASTER": "spark.master of the spark target (default local[*])",
    "PITSTOP_SPARK_DIR": (
        "where the spark target keeps its warehouse, Derby metastore and scratch files "
        "(default target/spark, relative to the project root)"
    ),
    "PITSTOP_FAULT": (
        "tests only: the named fault point at which a run stops and waits to be killed"
    ),
    "PITSTOP_FAULT_FILE": "tests only: file touched when PITSTOP_FAULT is reached",
    "PITSTOP_SERVE_TOKENS": (
        "pitstop serve: API tokens as `NAME SHA256 [GROUP,...]` entries separated by ; or "
        "newlines (hashes only, never the tokens)"
    ),
    "PITSTOP_SERVE_TOKENS_FILE": "pitstop serve: a file of such token entries, one per line",
    "JAVA_HOME": "Java's own: the JDK Spark starts on a spark target (default: java on PATH)",
    "DBT_PROFILES_DIR": "dbt's own: where profiles.yml is (default: the project root)",
    "DBT_TARGET_PATH": "dbt's own: the target directory (default: target-path of the project)",
    "MLFLOW_TRACKING_URI": "MLflow's own: the tracking server or database",
}


def env(
    name: str, default: str | None = None, environ: Mapping[str, str] | None = None
) -> str | None:
    """The value of a declared environment variable (``default`` when unset or empty).

    Raises:
        KeyError: ``name`` is not declared in `ENV_VARS` (a bug, not user input).
    """
    if name not in ENV_VARS:
        raise KeyError(f"environment variable {name} is not declared in pitstop.settings")
    value = (os.environ if environ is None else environ).get(name)
    return value if value else default
