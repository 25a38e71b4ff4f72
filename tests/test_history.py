"""`pitstop.offline.history.feature_history` on the demo warehouse built by dbt."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import copy_project, isolated

from pitstop.errors import (
    InvalidEntityKeyError,
    InvalidRequestError,
    UnknownFeatureError,
    UnknownFeatureViewError,
)
from pitstop.store import FeatureStore

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FeatureStore]:
    """A copy of the project with the views under test built into its own DuckDB."""
    dest = copy_project(tmp_path_factory.mktemp("history") / "project")
    with isolated(dest):
        fs = FeatureStore(dest)
        fs.project.run_dbt(
            [
                "build",
                "--select",
                "+customer_profile",
                "+merchant_daily_stats",
                "--indirect-selection",
                "cautious",
            ]
        )
        yield fs


def _table(store: FeatureStore, sql: str) -> pd.DataFrame:
    # dbt ran in this process and holds the file read-write: share that mode
    con = duckdb.connect(os.fspath(store.project.duckdb_path))
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def test_scd2_history_is_the_views_own_intervals(store: FeatureStore) -> None:
    history = store.feature_history("customer_profile", keys=[2, 8])
    expected = _table(
        store,
        "select customer_id, is_deleted, tier, country, credit_limit, valid_from, valid_to "
        "from customer_profile where customer_id in (2, 8) order by customer_id, valid_from",
    )
    pd.testing.assert_frame_equal(history.reset_index(drop=True), expected, check_dtype=False)
    # customer 2 was deleted and re-inserted: the deleted period is its own interval
    deleted = history[(history.customer_id == 2) & history.is_deleted]
    assert len(deleted) == 1
    assert deleted.tier.isna().all()


def test_event_history_respects_ttl_and_never_overlaps(store: FeatureStore) -> None:
    history = store.feature_history("merchant_daily_stats", keys=pd.DataFrame({"merchant_id": [1]}))
    rows = _table(
        store,
        "select * from merchant_daily_stats where merchant_id = 1 order by window_end_at",
    )
    assert len(history) > 0
    ttl = dt.timedelta(days=7, microseconds=1)
    for prev, cur in zip(history.itertuples(), history.iloc[1:].itertuples(), strict=False):
        assert prev.valid_to <= cur.valid_from
    for row in history.itertuples():
        # each interval starts at a feature row and carries that row's values
        source = rows[rows.window_end_at == row.valid_from]
        assert len(source) == 1
        assert source.transaction_count_1d.iloc[0] == row.transaction_count_1d
        # ... and ends at the next row or at the TTL, inclusive of timestamp + ttl
        later = rows[rows.window_end_at > row.valid_from].window_end_at
        if pd.isna(row.valid_to):
            pytest.fail("an event view with a TTL has no open interval")
        nxt = later.iloc[0] if len(later) else None
        assert row.valid_to <= row.valid_from + ttl
        if nxt is not None and nxt - row.valid_from < ttl:
            # merged runs end later; a single run ends at the next row
            assert row.valid_to >= nxt


def test_range_clips_intervals(store: FeatureStore) -> None:
    start, end = dt.datetime(2025, 3, 1), dt.datetime(2025, 4, 1)
    full = store.feature_history("customer_profile", keys=[{"customer_id": 2}])
    clipped = store.feature_history(
        "customer_profile", keys=[{"customer_id": 2}], start=start, end="2025-04-01T00:00:00"
    )
    assert (clipped.valid_from >= start).all()
    assert (clipped.valid_to <= end).all()
    overlapping = full[(full.valid_from < end) & (full.valid_to.isna() | (full.valid_to > start))]
    assert len(clipped) == len(overlapping)
    assert list(clipped.tier.fillna("-")) == list(overlapping.tier.fillna("-"))


def test_feature_subset_and_all_entities(store: FeatureStore) -> None:
    history = store.feature_history("customer_profile", features=["tier"])
    assert list(history.columns) == ["customer_id", "tier", "valid_from", "valid_to"]
    assert history.customer_id.nunique() == 500


def test_errors_name_the_problem(store: FeatureStore) -> None:
    with pytest.raises(UnknownFeatureViewError):
        store.feature_history("no_such_view")
    with pytest.raises(UnknownFeatureError, match="no feature 'nope'"):
        store.feature_history("customer_profile", features=["nope"])
    with pytest.raises(InvalidEntityKeyError, match="customer_id"):
        store.feature_history("customer_profile", keys=pd.DataFrame({"merchant_id": [1]}))
    with pytest.raises(InvalidRequestError, match="before"):
        store.feature_history("customer_profile", start="2025-02-01", end="2025-01-01")
    with pytest.raises(InvalidRequestError, match="ISO"):
        store.feature_history("customer_profile", start="yesterday")


@pytest.mark.slow
def test_history_cli_prints_intervals_and_rejects_bad_keys(store: FeatureStore) -> None:
    from click.testing import CliRunner

    from pitstop.cli import cli

    runner = CliRunner()
    base = ["--project-dir", str(store.project.root), "history", "customer_profile"]
    result = runner.invoke(cli, [*base, "customer_id=42", "--end", "2025-07-01", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows and all(r["customer_id"] == 42 for r in rows)
    assert all(r["valid_from"] < r["valid_to"] for r in rows)
    for bad in ("customer_id=abc", "merchant_id=1"):
        result = runner.invoke(cli, [*base, bad])
        assert result.exit_code == 1
        assert "InvalidEntityKeyError" in result.output
