"""Switching the demo's source (seeds -> a Parquet folder) must not leave an
incremental model or the snapshot holding the old source's history: the
source guard refuses the incremental run with a clear message, --full-refresh
rebuilds, and the entity_coverage test catches a feature view that lost its
entities (as a table built before the guard would)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import copy_project

from pitstop.datagen import Scale, generate

DBT = str(Path(sys.executable).with_name("dbt"))
# the views these two depend on, and only the tests whose parents are all selected
SUBSET = ["--select", "+customer_profile", "+merchant_risk_snapshot"]
SUBSET += ["--indirect-selection", "cautious"]


def _dbt(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(project),
        "PITSTOP_DUCKDB_PATH": str(project / "switch.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DO_NOT_TRACK": "1",
    }
    env.pop("DBT_TARGET_PATH", None)
    return subprocess.run(
        [DBT, *args], cwd=project, env=env, capture_output=True, text=True, check=False
    )


def _scalar(project: Path, sql: str) -> object:
    with duckdb.connect(str(project / "switch.duckdb"), read_only=True) as con:
        rows = con.execute(sql).fetchall()
    return rows[0][0]


def _parquet(folder: Path, customers: int, seed: int) -> str:
    """Write a Parquet dataset and return the --vars that read it."""
    generate(folder, Scale(customers=customers, merchants=80, transactions=4_000), "parquet", seed)
    return f"{{pitstop_data: parquet, pitstop_parquet_dir: '{folder}'}}"


@pytest.mark.slow
def test_switching_the_source_refuses_then_full_refresh_rebuilds(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    shutil.copy2(project / "profiles.example.yml", project / "profiles.yml")
    # more customers than the seeds hold, so that lost entities show
    parquet = _parquet(tmp_path / "parquet", customers=2_000, seed=7)
    built = _dbt(project, "build", *SUBSET)
    assert built.returncode == 0, built.stdout
    count = "select count(distinct customer_id) from main.customer_profile"
    seeded = _scalar(project, count)

    refused = _dbt(project, "build", *SUBSET, "--vars", parquet)
    assert refused.returncode != 0
    assert (
        "pitstop: incremental model 'int_customers_historized' was built from source 'seeds'"
        in refused.stdout
    )
    assert "--full-refresh" in refused.stdout
    assert "pitstop: snapshot 'merchants_snapshot' holds history captured from source 'seeds'" in (
        refused.stdout
    )
    assert _scalar(project, count) == seeded  # nothing was added to the seeds' history

    rebuilt = _dbt(project, "build", *SUBSET, "--full-refresh", "--vars", parquet)
    assert rebuilt.returncode == 0, rebuilt.stdout
    staged = "select count(distinct customer_id) from main.stg_payments__customer_changes"
    assert _scalar(project, staged) == 2_000
    assert _scalar(project, count) == 2_000
    # the snapshot restarted: one state per Parquet merchant, none from the seeds
    assert _scalar(project, "select count(*) from main.merchants_snapshot") == 80

    # the same source again: incremental runs go through
    again = _dbt(project, "build", *SUBSET, "--vars", parquet)
    assert again.returncode == 0, again.stdout

    # a table built before the guard existed has no recorded source: the guard
    # lets a switch through, and the coverage test is what catches the damage
    other = _parquet(tmp_path / "other", customers=3_000, seed=11)
    with duckdb.connect(str(project / "switch.duckdb")) as con:
        con.execute("delete from main.pitstop_source_state")
    mixed = _dbt(project, "run", *SUBSET, "--vars", other)
    assert mixed.returncode == 0, mixed.stdout
    tested = _dbt(
        project, "test", "--select", "customer_profile", "--vars", other, "--store-failures"
    )
    assert tested.returncode != 0
    assert "FAIL 1 customer_profile_covers_every_customer" in tested.stdout
    failure = str(
        _scalar(
            project,
            "select failure from main_dbt_test__audit.customer_profile_covers_every_customer",
        )
    )
    assert failure.startswith("feature view customer_profile has rows for ")
    assert failure.endswith(" of the 3000 customer_id of stg_payments__customer_changes")
