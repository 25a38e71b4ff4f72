"""A built copy of the demo project with its docs site (`pitstop docs --static`),
shared by tests/test_docs.py and tests/test_docs_browser.py: building the
warehouse and the site once per session keeps both files affordable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import copy_project, isolated

from pitstop.cli import cli
from pitstop.project import Project


@pytest.fixture(scope="session")
def docs_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The project copy's root: built with `dbt build`, then `pitstop docs --static`."""
    root = copy_project(tmp_path_factory.mktemp("docs") / "project")
    with isolated(root):
        Project(root).run_dbt(["build"])
        done = CliRunner().invoke(
            cli, ["--project-dir", str(root), "docs", "--static", "--no-exposures"]
        )
    assert done.exit_code == 0, done.output
    yield root
