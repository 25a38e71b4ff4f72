"""`pitstop.offline.training.training_set` and `pitstop training-set` on the real demo project.

The project is copied and built once for the module (its own DuckDB file and
target directory). The key check: a Python training set for the fraud
service equals the `fraud_training_set` dbt model built by the same macro.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import built_copy

from pitstop.cli import cli
from pitstop.errors import (
    DbtError,
    InvalidEntityKeyError,
    InvalidRequestError,
    UnknownFeatureViewError,
    UnknownServiceError,
)
from pitstop.offline import connect, jinja_literal
from pitstop.offline.training import point_in_time_call, training_set
from pitstop.store import FeatureStore

ROOT = Path(__file__).resolve().parents[1]
SERVICE = "fraud_training_set"
FEATURE_SQL = "select transaction_id, customer_id, merchant_id, feature_at from main.{}"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the project, built (dbt build) into its own DuckDB file."""
    with built_copy(tmp_path_factory.mktemp("training") / "project") as root:
        yield root


@pytest.fixture(scope="module")
def store(built: Path) -> FeatureStore:
    return FeatureStore(built)


def _spine() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [3, None, 7, 7, 12],
            "merchant_id": [5, 5, 9, 9, 1],
            "at": pd.to_datetime(
                [
                    "2025-04-01 00:00",
                    "2025-04-01 00:00",
                    "2025-05-02 10:00",
                    "2025-05-02 10:00",
                    None,
                ]
            ),
            "note": ["a", "null key", "dup", "dup", "null time"],
        }
    )


def test_service_training_set_equals_the_dbt_model(store: FeatureStore) -> None:
    model_sql = f"select * from main.{SERVICE} order by transaction_id"
    con = connect(store.project)
    try:
        model = con.sql(model_sql).to_arrow_table().to_pandas()
    finally:
        con.close()
    python = training_set(
        store.project,
        store.registry,
        FEATURE_SQL.format(SERVICE) + " order by transaction_id",
        service=SERVICE,
    )
    assert isinstance(python, pd.DataFrame)
    assert len(python) == len(model) > 1000
    feature_columns = [c for c in python.columns if "__" in c]
    assert len(feature_columns) == len(store.registry.service(SERVICE).features)
    pd.testing.assert_frame_equal(
        python[["transaction_id", *feature_columns]].reset_index(drop=True),
        model[["transaction_id", *feature_columns]].reset_index(drop=True),
    )


def test_every_spine_row_once_in_order_with_its_columns(store: FeatureStore) -> None:
    spine = _spine()
    result = store.training_set(
        spine, features=["customer_profile:tier", "merchant_daily_stats"], spine_timestamp="at"
    )
    assert isinstance(result, pd.DataFrame)
    assert list(result.columns[:4]) == list(spine.columns)
    pd.testing.assert_frame_equal(result[list(spine.columns)], spine)
    assert "customer_profile__tier" in result.columns
    assert "merchant_daily_stats__amount_sum_1d" in result.columns
    # NULL key and NULL time: kept, with NULL features
    assert pd.isna(result.loc[1, "customer_profile__tier"])
    assert pd.isna(result.loc[4, "merchant_daily_stats__amount_sum_1d"])
    # duplicate spine rows get identical features
    assert result.loc[2].equals(result.loc[3])


def test_arrow_in_arrow_out_and_default_impl_agree(store: FeatureStore) -> None:
    spine = pa.Table.from_pandas(_spine(), preserve_index=False)
    refs = ["customer_profile", "customer_transaction_windows", "merchant_risk_snapshot"]
    asof = store.training_set(spine, features=refs, output="arrow")
    portable = store.training_set(spine, features=refs, output="arrow", impl="default")
    assert isinstance(asof, pa.Table)
    assert asof.equals(portable)
    assert asof.num_rows == spine.num_rows


def test_sql_spine_and_options(store: FeatureStore) -> None:
    sql = (
        "select customer_id as cust, timestamp '2025-06-01' as at from range(1, 40) t(customer_id)"
    )
    late = store.training_set(
        sql,
        features=["customer_profile:tier"],
        key_map={"customer_profile": {"customer_id": "cust"}},
        naming="short",
    )
    assert isinstance(late, pd.DataFrame)
    assert list(late.columns) == ["cust", "at", "tier"]
    assert late["tier"].notna().any()


def test_argument_errors(store: FeatureStore) -> None:
    spine = _spine()
    with pytest.raises(InvalidRequestError, match="exactly one"):
        store.training_set(spine, features=["customer_profile"], service=SERVICE)
    with pytest.raises(UnknownServiceError):
        store.training_set(spine, service="no_such_training_set")
    with pytest.raises(UnknownFeatureViewError):
        store.training_set(spine, features=["no_such_view"])
    with pytest.raises(InvalidEntityKeyError, match="customer_id"):
        store.training_set(spine.drop(columns="customer_id"), features=["customer_profile"])
    two_times = spine.assign(other=spine["at"])
    with pytest.raises(InvalidRequestError, match="several timestamp columns"):
        store.training_set(two_times, features=["customer_profile"])
    with pytest.raises(InvalidEntityKeyError, match="no column"):
        store.training_set(
            spine,
            features=["customer_profile"],
            key_map={"customer_profile": {"customer_id": 'customer_id" --'}},
        )
    with pytest.raises(InvalidRequestError, match="plain identifier"):
        point_in_time_call(["customer_profile"], spine_timestamp='at" --')
    with pytest.raises(InvalidRequestError, match="output"):
        store.training_set(spine, features=["customer_profile"], output="csv")  # type: ignore[arg-type]


def test_compile_time_errors_name_macro_and_argument(store: FeatureStore) -> None:
    spine = _spine().rename(columns={"note": "country"})
    with pytest.raises(DbtError, match="point_in_time_join: naming: output column 'country'"):
        store.training_set(spine, features=["customer_profile"], naming="short")
    with pytest.raises(DbtError, match="point_in_time_join: ttl"):
        store.training_set(spine, features=["customer_profile"], ttl={"merchant_daily_stats": "1d"})


def test_jinja_literals_cannot_escape() -> None:
    assert jinja_literal(["a'b", 'c"}} {{ d']) == '["a\'b", "c\\"}} {{ d"]'
    assert jinja_literal({"v": None, "w": True}) == '{"v": none, "w": true}'


def test_cli_writes_parquet(built: Path, tmp_path: Path) -> None:
    spine_path = tmp_path / "spine.parquet"
    pq.write_table(pa.Table.from_pandas(_spine(), preserve_index=False), spine_path)
    out = tmp_path / "out" / "train.parquet"
    runner = CliRunner()
    args = ["--project-dir", str(built), "training-set", "--spine", str(spine_path)]
    result = runner.invoke(
        cli, [*args, "--features", "customer_profile:tier,merchant_daily_stats", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert table.num_rows == 5
    assert "customer_profile__tier" in table.column_names
    assert "wrote 5 rows" in result.output


def test_cli_errors_are_one_paragraph(built: Path, tmp_path: Path) -> None:
    spine_path = tmp_path / "spine.parquet"
    pq.write_table(pa.table({"customer_id": [1], "at": [datetime(2025, 3, 1)]}), spine_path)
    runner = CliRunner()
    base = ["--project-dir", str(built), "training-set", "--spine", str(spine_path)]
    result = runner.invoke(cli, [*base, "--service", "nope", "--out", str(tmp_path / "o.parquet")])
    assert result.exit_code != 0
    assert "UnknownServiceError" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(cli, [*base, "--out", str(tmp_path / "o.parquet")])
    assert result.exit_code != 0
    assert "exactly one of --service or --features" in result.output


@pytest.mark.parametrize("bad", ["0d", "30 days", 0, -5, True, 1.9, 3600, "99999999999999999999d"])
def test_ttl_overrides_accept_what_views_accept(store: FeatureStore, bad: object) -> None:
    with pytest.raises(InvalidRequestError, match="ttl for view 'merchant_daily_stats'"):
        store.training_set(
            _spine(), features=["merchant_daily_stats"], ttl={"merchant_daily_stats": bad}
        )


def test_cli_rejects_a_spine_that_is_not_parquet(built: Path, tmp_path: Path) -> None:
    spine_path = tmp_path / "spine.parquet"
    spine_path.write_text("customer_id,at\n1,2025-03-01\n")
    result = CliRunner().invoke(
        cli,
        ["--project-dir", str(built), "training-set", "--spine", str(spine_path),
         "--service", SERVICE, "--out", str(tmp_path / "o.parquet")],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "is not a readable Parquet file" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_database_locked_by_another_process_is_a_clean_error(built: Path, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    import duckdb

    spine_path = tmp_path / "spine.parquet"
    pq.write_table(pa.Table.from_pandas(_spine(), preserve_index=False), spine_path)
    # this process holds the file read-write (a writer, like a running dbt build)
    holder = duckdb.connect(str(built / "pitstop.duckdb"))
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pitstop", "--project-dir", str(built), "training-set",
             "--spine", str(spine_path), "--features", "customer_profile:tier",
             "--out", str(tmp_path / "o.parquet")],
            capture_output=True, text=True, check=False,
            env={**os.environ, "PITSTOP_DUCKDB_PATH": str(built / "pitstop.duckdb")},
        )  # fmt: skip
    finally:
        holder.close()
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "lock" in proc.stderr.lower()
    assert proc.stderr.startswith("Error: ProjectError: cannot open"), proc.stderr
