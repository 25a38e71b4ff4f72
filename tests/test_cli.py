"""The command line: registry commands, errors at the boundary, documented commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pitstop.cli import LAZY_COMMANDS, cli

BROKEN_META = [
    ("entity: merchant", "entity: shop", "field entity: 'shop' is not declared"),
    ("ttl: 7d", "ttl: 7 days", "field ttl: '7 days' is not a duration"),
    ("timestamp: window_end_at", "timestamp: updated_at", "field timestamp: 'updated_at' is not"),
]


def test_every_command_has_help_with_an_example() -> None:
    runner = CliRunner()
    for name in LAZY_COMMANDS:
        command = cli.get_command(None, name)  # type: ignore[arg-type]
        if command is None:  # a module still being written
            continue
        commands = getattr(command, "commands", {name: command})
        for sub in commands.values():
            assert "Example" in (sub.help or ""), f"`pitstop {name} {sub.name}` has no example"
    assert runner.invoke(cli, ["--help"]).exit_code == 0


@pytest.mark.slow
def test_features_list_and_describe(project_copy: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["--project-dir", str(project_copy), "features", "list"])
    assert result.exit_code == 0, result.output
    assert "merchant_daily_stats  entity=merchant keys=merchant_id" in result.output
    assert "ttl=7d online=true" in result.output
    result = runner.invoke(
        cli,
        ["--project-dir", str(project_copy), "features", "describe", "customer_profile", "--json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["entity"] == "customer"
    assert {"is_deleted", "tier", "country", "credit_limit"} <= {
        f["name"] for f in data["features"]
    }


@pytest.mark.slow
@pytest.mark.parametrize(("good", "bad", "expected"), BROKEN_META)
def test_broken_contract_is_one_paragraph_without_traceback(
    project_copy: Path, good: str, bad: str, expected: str
) -> None:
    yml = project_copy / "models/features/merchant/merchant_daily_stats.yml"
    assert good in yml.read_text()
    yml.write_text(yml.read_text().replace(good, bad, 1))
    env = {**os.environ, "PITSTOP_PROJECT_DIR": str(project_copy)}
    proc = subprocess.run(
        [sys.executable, "-m", "pitstop", "features", "list"],
        capture_output=True,
        text=True,
        env=env,
        cwd=project_copy,
        check=False,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    where = "model 'merchant_daily_stats' (models/features/merchant/merchant_daily_stats.yml)"
    assert where in proc.stderr
    assert expected in proc.stderr
    assert proc.stderr.strip().count("\n") == 0, proc.stderr


@pytest.mark.slow
def test_unknown_view_is_a_clean_error(project_copy: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli, ["--project-dir", str(project_copy), "features", "describe", "no_such_view"]
    )
    assert result.exit_code == 1
    assert "unknown feature view 'no_such_view'" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
