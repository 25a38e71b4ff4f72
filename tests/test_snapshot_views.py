"""A real dbt snapshot as a feature view: the point-in-time join and feature
history see each state the snapshot recorded, over its validity interval."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pitstop.store import FeatureStore

CHANGED_AT = pd.Timestamp("2025-03-01 00:00:00")


@pytest.mark.slow
def test_point_in_time_join_follows_snapshot_versions(project_copy: Path) -> None:
    store = FeatureStore(project_copy)
    project = store.project
    project.run_dbt(
        ["build", "--select", "+merchant_risk_snapshot", "--indirect-selection", "cautious"]
    )

    # the mutable source changes: one low-risk merchant turns high-risk
    con = duckdb.connect(str(project.duckdb_path))
    try:
        merchant_id, before, onboarded_at = con.execute(
            "select merchant_id, risk_level, onboarded_at from main_raw.raw_merchants "
            "where risk_level <> 'high' and onboarded_at < ? order by merchant_id limit 1",
            [CHANGED_AT],
        ).fetchall()[0]
        con.execute(
            "update main_raw.raw_merchants set risk_level = 'high', updated_at = ? "
            "where merchant_id = ?",
            [CHANGED_AT, merchant_id],
        )
    finally:
        con.close()
    project.run_dbt(["snapshot"])
    project.run_dbt(["run", "--select", "merchant_risk_snapshot"])

    times = [
        onboarded_at - pd.Timedelta(seconds=1),  # before the merchant existed
        onboarded_at,  # valid_from is inclusive
        CHANGED_AT - pd.Timedelta(seconds=1),
        CHANGED_AT,  # the old version's valid_to is exclusive
        CHANGED_AT + pd.Timedelta(days=30),
    ]
    spine = pd.DataFrame({"merchant_id": [merchant_id] * len(times), "event_timestamp": times})
    result = store.training_set(
        spine,
        features=["merchant_risk_snapshot:risk_level", "merchant_risk_snapshot:is_high_risk"],
        spine_timestamp="event_timestamp",
        output="arrow",
    ).to_pydict()
    assert result["merchant_risk_snapshot__risk_level"] == [
        None,
        before,
        before,
        "high",
        "high",
    ]
    assert result["merchant_risk_snapshot__is_high_risk"][1:] == [
        False,
        False,
        True,
        True,
    ]

    history = store.feature_history(
        "merchant_risk_snapshot", keys=[merchant_id], features=["risk_level"]
    )
    assert history["risk_level"].tolist() == [before, "high"]
    assert history["valid_to"].iloc[0] == CHANGED_AT
