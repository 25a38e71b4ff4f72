"""`pitstop.models.drift` on fixed data, checked against numpy and scipy; and
the small pure pieces of `pitstop.models` (references, settings, the column
mapping). No MLflow here: these run in a second."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from pitstop.errors import InvalidRequestError, ProjectError, UnknownFeatureError
from pitstop.models.drift import (
    EPSILON,
    KS_THRESHOLD,
    NULL_RATE_THRESHOLD,
    PSI_THRESHOLD,
    compare,
    html_page,
    psi,
    training_stats,
)
from pitstop.models.tracking import mlflow_settings, parse_model_ref
from pitstop.project import Project
from pitstop.registry import column_name, ref_from_column

RNG = np.random.default_rng(42)
TRAIN_X = RNG.normal(0.0, 1.0, 1500)
NOW_X = RNG.normal(0.8, 1.0, 1200)  # shifted: drifts
TRAIN_CAT = np.array(["a"] * 900 + ["b"] * 450 + ["c"] * 150, dtype=object)
NOW_CAT = np.array(["a"] * 240 + ["b"] * 240 + ["c"] * 600 + ["d"] * 120, dtype=object)


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    train_x = TRAIN_X.copy()
    train_x[:150] = np.nan  # 10% nulls in training
    now_x = NOW_X.copy()
    now_x[:480] = np.nan  # 40% now
    train = pd.DataFrame({"x": train_x, "same": TRAIN_X, "cat": TRAIN_CAT})
    now = pd.DataFrame({"x": now_x, "same": TRAIN_X[:1200], "cat": NOW_CAT})
    return train, now


def _numpy_psi(ref: np.ndarray, cur: np.ndarray) -> float:
    ref = np.maximum(ref, EPSILON)
    cur = np.maximum(cur, EPSILON)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def test_numeric_drift_matches_numpy_and_scipy() -> None:
    train, now = _frames()
    stats = training_stats(train)
    x = stats["columns"]["x"]
    assert stats["rows"] == 1500
    assert x["null_rate"] == pytest.approx(0.1)
    present = train["x"].dropna().to_numpy()
    edges = np.unique(np.quantile(present, np.linspace(0, 1, 11)[1:-1]))
    assert x["edges"] == pytest.approx(edges.tolist())
    ref_shares = np.histogram(present, bins=[-np.inf, *edges, np.inf])[0] / len(present)
    # numpy's histogram bins are [a, b) except the last; the edges are quantiles of
    # continuous data, so no value sits on an edge and both agree
    assert x["shares"] == pytest.approx(ref_shares.tolist())
    assert sorted(x["sample"]) == pytest.approx(sorted(present.tolist()))  # all 1350 < 2000

    report = compare(stats, now, model="m/1", source="fixed")
    drift = {c.column: c for c in report.columns}["x"]
    cur = now["x"].dropna().to_numpy()
    cur_shares = np.histogram(cur, bins=[-np.inf, *edges, np.inf])[0] / len(cur)
    assert drift.psi == pytest.approx(_numpy_psi(ref_shares, cur_shares))
    expected = scipy_stats.ks_2samp(present, cur)
    assert drift.ks_statistic == pytest.approx(expected.statistic)
    assert drift.ks_pvalue == pytest.approx(expected.pvalue)
    assert drift.null_rate_training == pytest.approx(0.1)
    assert drift.null_rate_current == pytest.approx(0.4)
    assert drift.psi is not None and drift.psi > PSI_THRESHOLD
    assert drift.ks_statistic is not None and drift.ks_statistic > KS_THRESHOLD
    assert drift.flagged and len(drift.reasons) == 3  # PSI, null rate, KS
    assert "x" in report.flagged


def test_unchanged_column_is_not_flagged() -> None:
    train, now = _frames()
    report = compare(training_stats(train), now)
    same = {c.column: c for c in report.columns}["same"]
    assert same.psi is not None and same.psi < 0.05
    assert same.ks_statistic is not None and same.ks_statistic < 0.05
    assert not same.flagged and "same" not in report.flagged


def test_categorical_psi_matches_numpy() -> None:
    train, now = _frames()
    stats = training_stats(train)
    cat = stats["columns"]["cat"]
    assert cat["kind"] == "categorical"
    assert cat["shares"] == pytest.approx({"a": 0.6, "b": 0.3, "c": 0.1})
    drift = {c.column: c for c in compare(stats, now).columns}["cat"]
    # 'd' is unseen in training: it lands in the __other__ bin
    assert drift.labels == ["a", "b", "c", "__other__"]
    expected = _numpy_psi(np.array([0.6, 0.3, 0.1, 0.0]), np.array([0.2, 0.2, 0.5, 0.1]))
    assert drift.psi == pytest.approx(expected)
    assert drift.ks_statistic is None and drift.flagged


def test_psi_by_hand() -> None:
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0.0
    value = psi([0.25, 0.75], [0.5, 0.5])
    assert value == pytest.approx(0.25 * math.log(2) + (-0.25) * math.log(0.5 / 0.75))


def test_null_rate_alone_flags() -> None:
    train = pd.DataFrame({"v": [1.0, 2.0, 3.0, 4.0] * 50})
    now = pd.DataFrame({"v": [1.0, 2.0, None, None] * 50})
    drift = compare(training_stats(train), now).columns[0]
    assert drift.null_rate_current == pytest.approx(0.5)
    assert abs(drift.null_rate_current - drift.null_rate_training) > NULL_RATE_THRESHOLD
    assert drift.flagged


def test_report_outputs() -> None:
    train, now = _frames()
    report = compare(training_stats(train), now, model="fraud/1", source="online")
    table = report.table()
    assert table.splitlines()[0].startswith("drift of fraud/1 vs online")
    assert "DRIFT" in table and "x" in table
    page = html_page([report])
    assert page.count("<svg") == 3 and "drift" in page
    data = report.to_dict()
    assert data["flagged"] == report.flagged and data["thresholds"]["psi"] == PSI_THRESHOLD


def test_model_references() -> None:
    assert str(parse_model_ref("fraud@champion")) == "fraud@champion"
    assert parse_model_ref("models:/fraud@champion").alias == "champion"
    assert parse_model_ref("fraud/3").version == "3"
    assert parse_model_ref("models:/fraud/3").name == "fraud"
    assert parse_model_ref("fraud", allow_bare=True).version is None
    for bad in ("fraud", "fraud/x", "fraud/0", "fraud@", "@champion", "a b@c", ""):
        with pytest.raises(InvalidRequestError):
            parse_model_ref(bad)


def test_column_mapping_is_one_pair() -> None:
    assert column_name("customer_profile:tier") == "customer_profile__tier"
    assert ref_from_column("customer_profile__tier") == "customer_profile:tier"
    assert ref_from_column("a__b__c", ["a__b"]) == "a__b:c"
    for ref in ("customer_profile", "a:b:c", ":x"):
        with pytest.raises(UnknownFeatureError):
            column_name(ref)
    with pytest.raises(UnknownFeatureError):
        ref_from_column("plain")


def test_mlflow_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (tmp_path / "dbt_project.yml").write_text("name: x\nprofile: x\n")
    settings = mlflow_settings(Project(tmp_path))
    assert settings.tracking_uri == f"sqlite:///{tmp_path}/.pitstop/mlflow.db"
    assert settings.artifact_root == str(tmp_path / ".pitstop" / "mlartifacts")
    assert Path(settings.artifact_root).is_absolute()
    (tmp_path / "dbt_project.yml").write_text(
        "name: x\nprofile: x\nvars:\n  pitstop_mlflow: {tracking_uri: 'http://h:5000', "
        "experiment: exp}\n"
    )
    settings = mlflow_settings(Project(tmp_path))
    assert (settings.tracking_uri, settings.artifact_root, settings.experiment) == (
        "http://h:5000",
        None,
        "exp",
    )
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////srv/ml/mlflow.db")
    settings = mlflow_settings(Project(tmp_path))
    assert settings.tracking_uri == "sqlite:////srv/ml/mlflow.db"
    assert settings.artifact_root == "/srv/ml/mlartifacts"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///relative.db")
    with pytest.raises(ProjectError, match="absolute"):
        mlflow_settings(Project(tmp_path))
    (tmp_path / "dbt_project.yml").write_text(
        "name: x\nprofile: x\nvars:\n  pitstop_mlflow: {trackin_uri: x}\n"
    )
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    with pytest.raises(ProjectError, match="trackin_uri"):
        mlflow_settings(Project(tmp_path))
