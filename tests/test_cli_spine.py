"""`pitstop spine`: a spine from a training model (keys, time, label) or from
SQL, written to Parquet, that `pitstop training-set` takes as is."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from _online_project import t, write_view
from click.testing import CliRunner, Result

from pitstop.cli import cli


@pytest.fixture
def project(
    online_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """The online test project; its training model `fraud_model` is a table of
    transactions (keys, two timestamps, a label), its views hold a few rows."""
    db = tmp_path / "offline.duckdb"
    monkeypatch.setenv("DBT_PROFILES_DIR", str(online_project))
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    monkeypatch.setenv("PITSTOP_DUCKDB_PATH", str(db))
    for view in ("customer_v", "merchant_v", "pair_v"):
        write_view(db, view, [])
    write_view(
        db,
        "customer_v",
        [{"customer_id": 1, "feature_at": t("2025-01-01"), "ingested_at": t("2025-01-01"),
          "version": 10, "tag": "a"}],
    )  # fmt: skip
    con = duckdb.connect(str(db))
    try:
        con.execute(
            "create table main.fraud_model as select * from (values "
            "(3, 1, 7, timestamp '2025-03-01', timestamp '2025-03-02', true), "
            "(1, 1, 7, timestamp '2025-01-05', timestamp '2025-01-06', false), "
            "(2, 2, 8, timestamp '2025-02-01', timestamp '2025-02-02', false)) "
            "t(transaction_id, customer_id, merchant_id, paid_at, read_at, label)"
        )
    finally:
        con.close()
    yield online_project


def _spine(project: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--project-dir", str(project), "spine", *args])


def test_spine_from_a_training_model(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "spine.parquet"
    done = _spine(project, "--service", "fraud_model", "--timestamp", "read_at", "--out", str(out))
    assert done.exit_code == 0, done.output
    assert "wrote 3 rows (customer_id, merchant_id, read_at, label)" in done.output
    table = pq.read_table(out)
    assert table.column_names == ["customer_id", "merchant_id", "read_at", "label"]
    assert table.column("read_at").to_pylist() == [
        datetime(2025, 1, 6), datetime(2025, 2, 2), datetime(2025, 3, 2)
    ]  # fmt: skip
    # ... which training-set takes as written
    train = tmp_path / "train.parquet"
    done = CliRunner().invoke(
        cli,
        ["--project-dir", str(project), "training-set", "--spine", str(out),
         "--service", "fraud_model", "--out", str(train)],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    result = pq.read_table(train)
    assert result.num_rows == 3
    assert result.column("customer_v__version").to_pylist() == [10, None, 10]
    assert result.column("label").to_pylist() == [False, False, True]


def test_limit_and_one_time_for_every_entity(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "spine.parquet"
    args = ["--service", "fraud_model", "--out", str(out)]
    done = _spine(project, *args, "--timestamp", "paid_at", "--limit", "2")
    assert done.exit_code == 0, done.output
    assert pq.read_table(out).column("paid_at").to_pylist() == [
        datetime(2025, 1, 5), datetime(2025, 2, 1)
    ]  # fmt: skip
    done = _spine(project, *args, "--at", "2025-06-01")
    assert done.exit_code == 0, done.output
    table = pq.read_table(out)
    assert table.column_names == ["customer_id", "merchant_id", "spine_at"]
    assert table.to_pylist() == [
        {"customer_id": 1, "merchant_id": 7, "spine_at": datetime(2025, 6, 1)},
        {"customer_id": 2, "merchant_id": 8, "spine_at": datetime(2025, 6, 1)},
    ]


def test_spine_from_sql(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "spine.parquet"
    sql = "select range as customer_id, timestamp '2025-06-01' as at from range(5)"
    done = _spine(project, "--sql", sql, "--limit", "3", "--out", str(out))
    assert done.exit_code == 0, done.output
    assert pq.read_table(out).column("customer_id").to_pylist() == [0, 1, 2]
    done = _spine(project, "--sql", "select 1 as customer_id where false", "--out", str(out))
    assert done.exit_code == 0, done.output
    assert "has no rows" in done.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--service", "fraud_model"], "pass --timestamp COLUMN (one of paid_at, read_at"),
        (["--service", "fraud_model", "--timestamp", "label"], "--timestamp 'label' is not a"),
        (["--service", "nope"], "UnknownServiceError: unknown training model 'nope'"),
        (["--sql", "select 1", "--service", "fraud_model"], "exactly one of --service or --sql"),
        (["--sql", "select 1", "--at", "2025-01-01"], "go with --service"),
        (["--sql", "create table x (i int)"], "InvalidRequestError"),
        (["--sql", "select * from no_such_table"], "Error:"),
    ],
)
def test_errors_are_one_line(project: Path, tmp_path: Path, args: list[str], message: str) -> None:
    done = _spine(project, *args, "--out", str(tmp_path / "spine.parquet"))
    assert done.exit_code == 1, done.output
    assert message in done.output
    assert isinstance(done.exception, SystemExit)
    assert not (tmp_path / "spine.parquet").exists()
