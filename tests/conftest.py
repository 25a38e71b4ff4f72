"""Shared fixtures: the project root and disposable copies of the project."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

_PROJECT_PARTS = (
    "dbt_project.yml",
    "profiles.example.yml",
    "models",
    "macros",
    "seeds",
    "snapshots",
    "analyses",
)


@pytest.fixture
def project_root() -> Path:
    """The real project directory."""
    return ROOT


@pytest.fixture
def project_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A throwaway copy of the dbt project (own target/, profile and DuckDB file),
    for tests that edit models or build into a fresh database."""
    dest = tmp_path / "project"
    dest.mkdir()
    for part in _PROJECT_PARTS:
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, dest / part)
        elif src.exists():
            shutil.copy2(src, dest / part)
    monkeypatch.delenv("DBT_PROFILES_DIR", raising=False)
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    monkeypatch.setenv("PITSTOP_DUCKDB_PATH", str(dest / "pitstop.duckdb"))
    yield dest
