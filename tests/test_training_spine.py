"""Spine problems of `training_set` and `pitstop training-set` are errors or
warnings, never silently wrong output: fractional integer keys, an empty
spine, an output that would overwrite the spine, option names in messages,
outputs that cannot be written."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _online_project import t, write_view
from click.testing import CliRunner, Result

from pitstop import FeatureStore
from pitstop.cli import cli
from pitstop.errors import InvalidEntityKeyError, InvalidRequestError
from pitstop.offline.training import EmptySpineWarning

FEATURES = ["customer_v:version"]


@pytest.fixture
def project(
    online_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """The online test project with one filled view in a fresh DuckDB file."""
    db = tmp_path / "offline.duckdb"
    monkeypatch.setenv("DBT_PROFILES_DIR", str(online_project))
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    monkeypatch.setenv("PITSTOP_DUCKDB_PATH", str(db))
    write_view(
        db,
        "customer_v",
        [{"customer_id": c, "feature_at": t("2025-01-01"), "ingested_at": t("2025-01-01"),
          "version": c * 10, "tag": "x"} for c in range(1, 50)],
    )  # fmt: skip
    yield online_project


def _spine(ids: list[object]) -> pd.DataFrame:
    return pd.DataFrame(
        {"customer_id": ids, "at": pd.to_datetime([datetime(2025, 2, 1)] * len(ids))}
    )


def test_fractional_integer_key_is_rejected(project: Path) -> None:
    store = FeatureStore(project)
    with pytest.raises(InvalidEntityKeyError, match=r"spine column 'customer_id' holds 42\.5"):
        store.training_set(_spine([1.0, 42.5]), features=FEATURES)
    with pytest.raises(InvalidEntityKeyError, match="'cust' holds inf"):
        store.training_set(
            _spine([float("inf")]).rename(columns={"customer_id": "cust"}),
            features=FEATURES,
            key_map={"customer_v": {"customer_id": "cust"}},
        )


def test_whole_floats_and_missing_keys_still_join(project: Path) -> None:
    """pandas stores an integer column with a missing value as float64: whole
    numbers and NaN keep working (NaN matches nothing, like NULL)."""
    out = FeatureStore(project).training_set(_spine([3.0, None, 7.0]), features=FEATURES)
    assert out["customer_v__version"].tolist()[0] == 30
    assert pd.isna(out["customer_v__version"].tolist()[1])
    assert out["customer_v__version"].tolist()[2] == 70


def test_empty_spine_warns_and_returns_no_rows(project: Path) -> None:
    with pytest.warns(EmptySpineWarning, match="the spine has no rows"):
        out = FeatureStore(project).training_set(
            _spine([]).astype({"customer_id": "int64"}), features=FEATURES
        )
    assert len(out) == 0
    assert list(out.columns) == ["customer_id", "at", "customer_v__version"]


def test_python_messages_name_the_python_argument(project: Path) -> None:
    two = _spine([1]).assign(other=datetime(2025, 1, 1))
    with pytest.raises(InvalidRequestError, match=r"pass spine_timestamp='<column>': .* several"):
        FeatureStore(project).training_set(two, features=FEATURES)


def _write_spine(path: Path, frame: pd.DataFrame) -> Path:
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return path


def _cli(project: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--project-dir", str(project), "training-set", *args])


def test_cli_refuses_to_overwrite_the_spine(project: Path, tmp_path: Path) -> None:
    spine = _write_spine(tmp_path / "spine.parquet", _spine([1, 2]))
    before = spine.read_bytes()
    for out in (str(spine), str(tmp_path / "." / "spine.parquet")):
        result = _cli(project, "--spine", str(spine), "--features", FEATURES[0], "--out", out)
        assert result.exit_code == 1
        assert "is the --spine file" in result.output
    assert spine.read_bytes() == before


def test_cli_names_the_timestamp_option(project: Path, tmp_path: Path) -> None:
    spine = _write_spine(tmp_path / "spine.parquet", _spine([1]).assign(other=datetime(2025, 1, 1)))
    out = str(tmp_path / "o.parquet")
    result = _cli(project, "--spine", str(spine), "--features", FEATURES[0], "--out", out)
    assert result.exit_code == 1
    assert "pass --timestamp COLUMN: the spine has several" in result.output
    assert "spine_timestamp" not in result.output
    result = _cli(
        project, "--spine", str(spine), "--features", FEATURES[0], "--out", out,
        "--timestamp", "nope",
    )  # fmt: skip
    assert "--timestamp 'nope' is not a spine column" in result.output


def test_cli_warns_on_an_empty_spine(project: Path, tmp_path: Path) -> None:
    spine = _write_spine(tmp_path / "spine.parquet", _spine([]).astype({"customer_id": "int64"}))
    out = tmp_path / "o.parquet"
    with warnings.catch_warnings():
        warnings.simplefilter("error", EmptySpineWarning)  # the CLI must catch its own
        result = CliRunner().invoke(
            cli,
            ["--project-dir", str(project), "training-set", "--spine", str(spine),
             "--features", FEATURES[0], "--out", str(out)],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Warning: --spine" in result.stderr
    assert "the spine has no rows" in result.stderr
    assert pq.read_table(out).num_rows == 0


@pytest.mark.parametrize("target", ["/dev/full", "file/inside-a-file.parquet"])
def test_cli_unwritable_output_is_one_clear_error(
    project: Path, tmp_path: Path, target: str
) -> None:
    spine = _write_spine(tmp_path / "spine.parquet", _spine([1, 2]))
    (tmp_path / "file").write_text("not a folder")
    out = target if target.startswith("/") else str(tmp_path / target)
    if target == "/dev/full" and not Path(target).exists():
        pytest.skip("no /dev/full here")
    result = _cli(project, "--spine", str(spine), "--features", FEATURES[0], "--out", out)
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"Error: InvalidRequestError: cannot write --out {out}")
    assert isinstance(result.exception, SystemExit)
