"""The package's architecture rules, checked: the public API, the capability
layout (no module reaches back into the facade), one settings module for the
environment, and an import of `pitstop` that stays cheap."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pitstop
from pitstop.settings import ENV_VARS

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "python" / "pitstop"
CAPABILITIES = ("registry", "offline", "online", "serving", "models")


def test_public_api_is_pinned() -> None:
    assert sorted(pitstop.__all__) == [
        "ContractError",
        "DbtError",
        "FeatureStore",
        "InvalidEntityKeyError",
        "InvalidRequestError",
        "MaterializationError",
        "MaterializeResult",
        "NotFoundError",
        "OnlineFeatures",
        "OnlineStoreError",
        "PitstopError",
        "ProjectError",
        "Status",
        "UnknownFeatureError",
        "UnknownFeatureViewError",
        "UnknownServiceError",
    ]
    for name in pitstop.__all__:
        assert getattr(pitstop, name) is not None


def test_not_found_errors_share_a_base() -> None:
    for error in (
        pitstop.UnknownFeatureError,
        pitstop.UnknownFeatureViewError,
        pitstop.UnknownServiceError,
    ):
        assert issubclass(error, pitstop.NotFoundError)
        assert error.http_status == 404


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_capabilities_never_import_the_facade() -> None:
    offenders = []
    for path in _sources():
        part = path.relative_to(PACKAGE).parts[0]
        if part not in CAPABILITIES:
            continue
        text = path.read_text()
        if re.search(r"pitstop\.store\b|from pitstop import .*FeatureStore", text):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_every_environment_variable_is_declared_and_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in ENV_VARS:
        assert f"`{name}`" in readme, f"README does not list {name}"
    for path in _sources():
        text = path.read_text()
        rel = path.relative_to(PACKAGE).as_posix()
        if rel != "settings.py":
            # reads by name go through pitstop.settings.env
            assert not re.search(r"os\.(environ\.get|getenv)\(\s*[\"']|environ\[[\"']", text), rel
        for name in re.findall(r"\benv\(\s*\"([A-Z][A-Z0-9_]+)\"", text):
            assert name in ENV_VARS, f"{rel} reads undeclared {name}"


def test_import_pitstop_stays_cheap() -> None:
    code = (
        "import sys, pitstop\n"
        "heavy = ['dbt', 'duckdb', 'pandas', 'pyarrow', 'mlflow', 'fastapi', 'redis', "
        "'sqlglot', 'pyspark', 'sklearn']\n"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""
