"""Adopting Pitstop in an existing dbt project (README, "Adopting Pitstop in an
existing dbt project"): tests/consumer_project is a dbt project of another
shape (a `device` entity keyed by a string, one feature view, one training
model) that installs Pitstop with one packages.yml entry. After `dbt deps` and
`dbt build`, the macros, the contract and the `pitstop` CLI work on its models,
and none of Pitstop's demo resources is built in it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DATABASE = "target/device_fleet.duckdb"  # where the consumer's profile builds


def _run(
    args: list[str], project: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A subprocess as a user would run it: in the consumer project, its
    profiles.yml found through DBT_PROFILES_DIR, no Pitstop variables set."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PITSTOP_") and key not in ("DBT_TARGET_PATH", "DBT_PROFILES_DIR")
    }
    env.update(
        {
            "DBT_PROFILES_DIR": str(project),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
            "DO_NOT_TRACK": "1",
            **(extra_env or {}),
        }
    )
    return subprocess.run(args, cwd=project, env=env, capture_output=True, text=True, check=False)


def _pitstop(
    project: Path, *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return _run([str(BIN / "pitstop"), "--project-dir", str(project), *args], project, extra_env)


def _rows(project: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(project / DATABASE), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def consumer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The consumer project copied to a temp dir (packages.yml pointing at this
    repository), after `dbt deps` and `dbt build`."""
    project = tmp_path_factory.mktemp("consumer") / "device_fleet"
    shutil.copytree(
        ROOT / "tests" / "consumer_project",
        project,
        ignore=shutil.ignore_patterns("target", "dbt_packages", "logs", "package-lock.yml"),
    )
    packages = project / "packages.yml"
    assert "local: ../.." in packages.read_text()
    packages.write_text(f"packages:\n  - local: {ROOT}\n")
    for command in (["deps"], ["build"]):
        done = _run([str(BIN / "dbt"), *command], project)
        assert done.returncode == 0, done.stdout + done.stderr
    return project


@pytest.fixture(scope="module")
def spine(consumer: Path) -> Path:
    path = consumer / "spine.parquet"
    with duckdb.connect() as con:
        con.execute(
            "copy (select * from (values "
            "('dev-a', timestamp '2025-03-01 12:30:00'), "
            "('dev-b', timestamp '2025-03-02 09:00:00'), "
            "('dev-z', timestamp '2025-03-02 09:00:00')"
            ") as s(device_id, inspected_at)) "
            f"to '{path}' (format parquet)"
        )
    return path


@pytest.mark.slow
def test_demo_resources_are_not_built_in_a_consumer(consumer: Path) -> None:
    tables = {name for (name,) in _rows(consumer, "select table_name from duckdb_tables()")}
    views = {
        name
        for (name,) in _rows(consumer, "select view_name from duckdb_views() where not internal")
    }
    assert tables == {
        "raw_device_readings",
        "raw_device_inspections",
        "device_health",
        "device_failure_training_set",
    }
    assert views == {"stg_devices__readings"}
    assert not {"customer_profile", "stg_payments__transactions", "merchants_snapshot"} & (
        tables | views
    )
    assert "pitstop_source_state" not in tables  # the demo's hooks are off too
    schemas = {name for (name,) in _rows(consumer, "select schema_name from duckdb_schemas()")}
    assert "raw_parquet" not in schemas and "main_raw" not in schemas
    # nothing of Pitstop's but its macros: no model, seed, snapshot, source,
    # analysis, data test or unit test of the demo in the consumer's graph
    listed = _run(
        [
            str(BIN / "dbt"), "ls", "--quiet", "--resource-type", "all",
            "--output", "json", "--output-keys", "package_name name resource_type",
        ],
        consumer,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stdout
    nodes = [json.loads(line) for line in listed.stdout.splitlines() if line.startswith("{")]
    assert {"device_health", "device_failure_training_set"} <= {n["name"] for n in nodes}
    assert [n for n in nodes if n["package_name"] == "pitstop"] == []


@pytest.mark.slow
def test_pitstop_macros_build_the_consumer_training_set(consumer: Path) -> None:
    rows = _rows(
        consumer,
        "select inspection_id, device_id, is_failed, device_health__temperature_c_max_24h, "
        "device_health__battery_pct_min_24h, device_health__event_count_1h "
        "from device_failure_training_set order by inspection_id",
    )
    assert rows == [
        (1, "dev-a", False, None, None, None),  # before the device's first reading
        (2, "dev-a", True, 35.5, 80, 1),
        (3, "dev-b", False, 18.5, 40, 1),
        (4, "dev-c", False, None, None, None),  # its only reading comes an hour later
        (5, "dev-d", False, None, None, None),  # a device with no readings
    ]


@pytest.mark.slow
def test_features_list_reads_the_consumer_contract(consumer: Path) -> None:
    listed = _pitstop(consumer, "features", "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].startswith(
        "device_health  entity=device keys=device_id timestamp=as_of_at ttl=2d online=true"
    )
    assert "temperature_c_max_24h (double)" in listed.stdout
    assert "customer_profile" not in listed.stdout
    assert (
        "service device_failure_training_set: device_health:temperature_c_max_24h, "
        "device_health:battery_pct_min_24h, device_health:event_count_1h"
    ) in lines


def _check_training_set_materialize_get(
    consumer: Path, spine: Path, extra_env: dict[str, str] | None
) -> None:
    out = consumer / "train.parquet"
    made = _pitstop(
        consumer,
        "training-set",
        "--spine", str(spine),
        "--service", "device_failure_training_set",
        "--out", str(out),
        extra_env=extra_env,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    with duckdb.connect() as con:
        rows = con.execute(f"select * from '{out}' order by device_id").fetchall()
    assert rows == [
        ("dev-a", datetime(2025, 3, 1, 12, 30), 35.5, 80, 1),
        ("dev-b", datetime(2025, 3, 2, 9, 0), 18.5, 40, 1),
        ("dev-z", datetime(2025, 3, 2, 9, 0), None, None, None),
    ]

    materialized = _pitstop(consumer, "materialize", "--full-refresh", extra_env=extra_env)
    assert materialized.returncode == 0, materialized.stderr
    assert "3 entities written" in materialized.stdout + materialized.stderr
    assert (consumer / "target" / "online.sqlite").is_file()

    got = _pitstop(
        consumer,
        "get", "device_id=dev-a",
        "--features", "device_health",
        "--as-of", "2025-03-02",
        extra_env=extra_env,
    )  # fmt: skip
    assert got.returncode == 0, got.stderr
    features = json.loads(got.stdout)["features"]
    assert features["device_health:temperature_c_max_24h"]["value"] == 35.5
    assert features["device_health:event_count_24h"]["value"] == 3
    assert {f["status"] for f in features.values()} == {"PRESENT"}
    missing = _pitstop(
        consumer, "get", "device_id=dev-z", "--features", "device_health", extra_env=extra_env
    )
    assert missing.returncode == 0, missing.stderr
    statuses = {f["status"] for f in json.loads(missing.stdout)["features"].values()}
    assert statuses == {"NOT_FOUND"}


@pytest.mark.slow
def test_cli_uses_the_database_of_the_consumer_profile(consumer: Path, spine: Path) -> None:
    _check_training_set_materialize_get(consumer, spine, extra_env=None)


@pytest.mark.slow
def test_cli_training_set_materialize_get_with_the_database_named(
    consumer: Path, spine: Path
) -> None:
    """The same commands with PITSTOP_DUCKDB_PATH naming the database, which
    overrides the profile's path."""
    _check_training_set_materialize_get(
        consumer, spine, extra_env={"PITSTOP_DUCKDB_PATH": str(consumer / DATABASE)}
    )
