"""A small dbt project for the online-store tests, whose feature-view tables
the tests fill directly in DuckDB (so each test controls its data exactly).

Only ``dbt parse`` runs (once per session, for the registry); the tables are
created by `write_view`, under ``main.<view>`` as the manifest names them.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

DBT_PROJECT = """
name: pitstop
version: "1.0.0"
config-version: 2
profile: online_test
model-paths: ["models"]
macro-paths: ["macros"]
vars:
  pitstop_entities:
    customer:
      keys: [{name: customer_id, type: bigint}]
    merchant:
      keys: [{name: merchant_id, type: bigint}]
    customer_merchant:
      keys: [{name: customer_id, type: bigint}, {name: merchant_id, type: bigint}]
    account:
      keys: [{name: account_code, type: varchar}]
models:
  pitstop:
    +materialized: table
"""

PROFILES = """
online_test:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: "{{ env_var('PITSTOP_DUCKDB_PATH') }}"
"""

# view -> (entity, timestamp, created timestamp, ttl, online, kind, [(column, type)])
VIEWS: dict[str, tuple[str, str, str | None, str | None, bool, str, list[tuple[str, str]]]] = {
    "typed_features": (
        "customer",
        "feature_at",
        "ingested_at",
        "1d",
        True,
        "event",
        [
            ("customer_id", "bigint"),
            ("feature_at", "timestamp"),
            ("ingested_at", "timestamp"),
            ("f_int", "bigint"),
            ("f_float", "double"),
            ("f_bool", "boolean"),
            ("f_text", "varchar"),
            ("f_ts", "timestamp"),
            ("f_date", "date"),
            ("f_dec", "decimal(18,4)"),
            ("f_emb", "double[]"),
        ],
    ),
    "customer_v": (
        "customer",
        "feature_at",
        "ingested_at",
        None,
        True,
        "event",
        [
            ("customer_id", "bigint"),
            ("feature_at", "timestamp"),
            ("ingested_at", "timestamp"),
            ("version", "bigint"),
            ("tag", "varchar"),
        ],
    ),
    "merchant_v": (
        "merchant",
        "feature_at",
        None,
        "7d",
        True,
        "event",
        [("merchant_id", "bigint"), ("feature_at", "timestamp"), ("version", "bigint")],
    ),
    "pair_v": (
        "customer_merchant",
        "feature_at",
        None,
        None,
        True,
        "event",
        [
            ("customer_id", "bigint"),
            ("merchant_id", "bigint"),
            ("feature_at", "timestamp"),
            ("version", "bigint"),
        ],
    ),
    "account_v": (
        "account",
        "feature_at",
        None,
        "2h",
        True,
        "event",
        [("account_code", "varchar"), ("feature_at", "timestamp"), ("balance", "double")],
    ),
    "customer_scd2": (
        "customer",
        "valid_from",
        None,
        None,
        True,
        "scd2",
        [
            ("customer_id", "bigint"),
            ("valid_from", "timestamp"),
            ("valid_to", "timestamp"),
            ("tier", "varchar"),
        ],
    ),
    "offline_v": (
        "customer",
        "feature_at",
        None,
        None,
        False,
        "event",
        [("customer_id", "bigint"), ("feature_at", "timestamp"), ("score", "double")],
    ),
}

SERVICE = "fraud_model"
SERVICE_FEATURES = ["customer_v:version", "merchant_v:version", "pair_v:version"]


def build_project(root: Path) -> Path:
    """Write the project under ``root`` and parse it (the manifest the registry reads)."""
    from pitstop.project import Project

    (root / "models").mkdir(parents=True)
    # the real macros (point_in_time_join...), so training sets compile here too
    (root / "macros").symlink_to(Path(__file__).resolve().parents[1] / "macros")
    (root / "dbt_project.yml").write_text(DBT_PROJECT)
    (root / "profiles.yml").write_text(PROFILES)
    for name, (entity, ts, created, ttl, online, kind, columns) in VIEWS.items():
        select = ", ".join(f"cast(null as {dtype}) as {col}" for col, dtype in columns)
        (root / "models" / f"{name}.sql").write_text(f"select {select}\n")
        meta = {
            "entity": entity,
            "timestamp": ts,
            "online": online,
            "owner": "tests",
            "kind": kind,
        }
        if created:
            meta["created_timestamp"] = created
        if ttl:
            meta["ttl"] = ttl
        meta_yaml = "\n".join(f"            {k}: {v if k != 'online' else str(v).lower()}"
                              for k, v in meta.items())  # fmt: skip
        cols_yaml = "\n".join(
            f"      - name: {col}\n        description: {col}\n        data_type: {dtype}"
            for col, dtype in columns
        )
        (root / "models" / f"{name}.yml").write_text(
            textwrap.dedent(
                f"""\
                version: 2
                models:
                  - name: {name}
                    description: test view
                    config:
                      meta:
                        pitstop:
                """
            )
            + meta_yaml
            + "\n    columns:\n"
            + cols_yaml
            + "\n"
        )
    (root / "models" / f"{SERVICE}.sql").write_text("select 1 as label\n")
    features = "\n".join(f"                - {ref}" for ref in SERVICE_FEATURES)
    (root / "models" / f"{SERVICE}.yml").write_text(
        "version: 2\nmodels:\n"
        f"  - name: {SERVICE}\n"
        "    description: a training set\n"
        "    config:\n"
        "      meta:\n"
        "        pitstop:\n"
        "          training_set:\n"
        "            label: label\n"
        "            features:\n"
        f"{features}\n"
    )
    Project(root).run_dbt(["parse"])
    return root


def column_types(view: str) -> list[tuple[str, str]]:
    return VIEWS[view][6]


def write_view(path: Path, view: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Replace table ``main.<view>`` in DuckDB file ``path`` with ``rows``."""
    columns = column_types(view)
    con = duckdb.connect(str(path))
    try:
        ddl = ", ".join(f'"{c}" {t}' for c, t in columns)
        con.execute(f'create or replace table main."{view}" ({ddl})')
        if rows:
            placeholders = ", ".join("?" for _ in columns)
            con.executemany(
                f'insert into main."{view}" values ({placeholders})',
                [[row.get(c) for c, _ in columns] for row in rows],
            )
    finally:
        con.close()


def append_view(path: Path, view: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert more ``rows`` into ``main.<view>``."""
    columns = column_types(view)
    con = duckdb.connect(str(path))
    try:
        placeholders = ", ".join("?" for _ in columns)
        con.executemany(
            f'insert into main."{view}" values ({placeholders})',
            [[row.get(c) for c, _ in columns] for row in rows],
        )
    finally:
        con.close()


def t(text: str) -> datetime:
    """``t("2025-01-02 03:04")`` -> naive UTC datetime."""
    return datetime.fromisoformat(text)
