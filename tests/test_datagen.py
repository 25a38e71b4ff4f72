"""The demo data generator: deterministic, same shape as the seeds, readable by dbt."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from pitstop.datagen import SCALES, Scale, generate
from pitstop.project import Project

TABLES = ("customer_changes", "merchants", "transactions", "chargebacks")
TINY = Scale(customers=200, merchants=20, transactions=3_000)


def test_seed_csvs_are_what_the_generator_writes(tmp_path: Path, project_root: Path) -> None:
    generate(tmp_path, SCALES["seed"], fmt="csv")
    for table in TABLES:
        name = f"raw_{table}.csv"
        assert (tmp_path / name).read_bytes() == (project_root / "seeds" / name).read_bytes(), (
            f"seeds/{name} is stale: regenerate with "
            "`python -m pitstop.datagen --scale seed --format csv --out seeds`"
        )


def test_parquet_is_deterministic_and_chunked(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", TINY, chunk_rows=1_000)
    second = generate(tmp_path / "b", TINY, chunk_rows=1_000)
    assert first == second
    assert first["transactions"] == 3_000
    assert len(list((tmp_path / "a" / "transactions").glob("part-*.parquet"))) == 3
    for table in TABLES:
        a = pq.read_table(tmp_path / "a" / table)
        b = pq.read_table(tmp_path / "b" / table)
        assert a.equals(b), table


def test_domain_invariants(tmp_path: Path) -> None:
    generate(tmp_path, TINY)
    con = duckdb.connect()
    q = lambda sql: con.execute(  # noqa: E731
        sql.format(d=tmp_path)
    ).fetchall()
    # deletes carry no attributes; every customer starts with an insert
    assert q(
        "select count(*) from '{d}/customer_changes/*.parquet' "
        "where operation = 'delete' and (tier is not null or credit_limit is not null)"
    ) == [(0,)]
    assert q(
        "select count(*) from (select customer_id, arg_min(operation, changed_at) as op "
        "from '{d}/customer_changes/*.parquet' group by 1) where op <> 'insert'"
    ) == [(0,)]
    # late rows and ties on changed_at exist, so the temporal macros meet them
    assert q(
        "select count(*) > 0 from '{d}/customer_changes/*.parquet' "
        "where ingested_at > changed_at + interval 1 day"
    ) == [(True,)]
    assert q(
        "select count(*) > 0 from (select customer_id, changed_at from "
        "'{d}/customer_changes/*.parquet' group by all having count(*) > 1)"
    ) == [(True,)]
    # labels arrive after the transaction
    assert q(
        "select count(*) from '{d}/chargebacks/*.parquet' c join '{d}/transactions/*.parquet' t "
        "using (transaction_id) where c.reported_at < t.transacted_at + interval 2 day"
    ) == [(0,)]


@pytest.mark.slow
def test_dbt_reads_parquet_when_switched_by_var(tmp_path: Path, project_copy: Path) -> None:
    counts = generate(tmp_path / "data", TINY)
    project = Project(project_copy)
    dbt_vars = {"pitstop_data": "parquet", "pitstop_parquet_dir": str(tmp_path / "data")}
    project.run_dbt(["build", "--vars", json.dumps(dbt_vars), "--exclude", "resource_type:seed"])
    con = duckdb.connect(str(project.duckdb_path))
    for table in TABLES:
        rows = con.execute(f"select count(*) from stg_payments__{table}").fetchall()
        assert rows == [(counts[table],)], table
