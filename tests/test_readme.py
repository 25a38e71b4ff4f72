"""The README runs as written.

Every ```bash and ```python block of README.md is run, in document order within
its section (a ``## `` heading), in a fresh copy of the demo project built once
with ``dbt build`` (the state ``make demo`` starts from); each section gets its
own copy of that build, and blocks of one section share it (a file an earlier
block wrote is there for the next one). bash blocks run with ``-e -o pipefail``
and the repository's ``.venv`` first on PATH (``source .venv/bin/activate``
works too: the copy's ``.venv`` links to it); python blocks run with its Python.

A block that cannot run in a test (a benchmark, ``make test``, a server that
runs until stopped, an installer) is skipped by a marker right before it::

    <!-- readme-test: skip (benchmark, minutes) -->

and every marker must give its reason. A failure names the README line of the
block, its section and the output's tail.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROOT, copy_project

README = ROOT / "README.md"
VENV = ROOT / ".venv"
RUNNABLE = ("bash", "python")
MARKER = re.compile(r"^\s*<!--\s*readme-test:(?P<body>.*?)-->\s*$")
SKIP = re.compile(r"^\s*skip\s*\((?P<reason>[^()]*\S[^()]*)\)\s*$")
FENCE = re.compile(r"^```(?P<lang>[\w+-]*)\s*$")
BLOCK_TIMEOUT_S = 300  # the slowest block here takes about a minute
BUILD_TIMEOUT_S = 900
# besides the dbt project (copy_project), what README blocks refer to by path
README_PARTS = (
    "Makefile",
    "scripts",
    "docs",
    "bench",
    "integration_tests",
    "tests/consumer_project",
)
GENERATED = shutil.ignore_patterns(
    "target", "logs", "dbt_packages", "data", ".pitstop", "__pycache__", "*.duckdb",
    "*.duckdb.wal", "package-lock.yml", "mlruns", "metastore_db", "spark-warehouse",
    ".feast-venv", "results",
)  # fmt: skip


@dataclass(frozen=True)
class Block:
    """One fenced code block of the README."""

    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    section: str
    skip: str | None  # the marker's reason, when skipped

    def where(self) -> str:
        return f"README.md line {self.line} (```{self.lang} block in section '{self.section}')"


@dataclass(frozen=True)
class Marker:
    line: int
    body: str
    reason: str | None
    before: str | None  # the language of the block right after it, if any


def parse(text: str) -> tuple[list[Block], list[Marker]]:
    """The README's fenced blocks (any language) and its readme-test markers."""
    blocks: list[Block] = []
    markers: list[Marker] = []
    lines = text.splitlines()
    section = "(top)"
    pending: tuple[int, str, str | None] | None = None  # marker waiting for its block
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        if fence:
            lang = fence.group("lang")
            start = i
            i += 1
            body: list[str] = []
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            reason = None
            if pending is not None:
                markers.append(Marker(pending[0], pending[1], pending[2], lang))
                reason = pending[2] or "(no reason given)"
                pending = None
            blocks.append(Block(start + 1, lang, "\n".join(body) + "\n", section, reason))
            i += 1
            continue
        marker = MARKER.match(line)
        if marker:
            if pending is not None:
                markers.append(Marker(pending[0], pending[1], pending[2], None))
            body_text = marker.group("body").strip()
            skip = SKIP.match(body_text)
            pending = (i + 1, body_text, skip.group("reason").strip() if skip else None)
        elif line.strip():
            if pending is not None:  # something other than a block follows it
                markers.append(Marker(pending[0], pending[1], pending[2], None))
                pending = None
            if line.startswith("## "):
                section = line[3:].strip()
        i += 1
    if pending is not None:
        markers.append(Marker(pending[0], pending[1], pending[2], None))
    return blocks, markers


BLOCKS, MARKERS = parse(README.read_text())
# section -> its blocks to run, in README order (sections whose every block is
# skipped are left out: nothing to build for)
SECTIONS: dict[str, list[Block]] = {}
for _block in BLOCKS:
    if _block.lang in RUNNABLE and _block.skip is None:
        SECTIONS.setdefault(_block.section, []).append(_block)


def test_every_skip_marker_gives_a_reason_and_precedes_a_block() -> None:
    assert MARKERS, "README.md has no readme-test markers; did the format change?"
    problems = []
    for marker in MARKERS:
        if marker.reason is None:
            problems.append(
                f"README.md line {marker.line}: '<!-- readme-test:{marker.body} -->' is not "
                "'skip (reason)'"
            )
        if marker.before not in RUNNABLE:
            problems.append(
                f"README.md line {marker.line}: the marker must be right before a ```bash "
                "or ```python block"
            )
    assert not problems, "\n".join(problems)


def test_the_parser_sees_the_readme() -> None:
    """Guards the harness itself: the blocks it runs are the README's."""
    runnable = [b for b in BLOCKS if b.lang in RUNNABLE]
    assert len(runnable) >= 10
    assert any(b.section == "Quick start" and b.skip is None for b in runnable)
    text = README.read_text().splitlines()
    for block in runnable:
        assert text[block.line - 1] == f"```{block.lang}"


def _env(root: Path) -> dict[str, str]:
    """A user's shell after `source .venv/bin/activate` in the project (README,
    Quick start), with nothing of this test process's Pitstop settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PITSTOP_", "DBT_", "MLFLOW_", "PYTEST", "SPARK_"))
        and k not in ("PYTHONPATH", "VIRTUAL_ENV", "COV_CORE_SOURCE")
    }
    env.update(
        PATH=f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        VIRTUAL_ENV=str(VENV),
        DBT_PROFILES_DIR=str(root),
        DBT_SEND_ANONYMOUS_USAGE_STATS="False",
        DO_NOT_TRACK="1",
        MLFLOW_DISABLE_TELEMETRY="true",
        PYTHONUNBUFFERED="1",
    )
    return env


def _copy_for_readme(dest: Path) -> Path:
    """The dbt project (copy_project) plus what README blocks name by path, and
    `.venv` linked to the repository's, as in a clone after `make setup`."""
    copy_project(dest)
    for part in README_PARTS:
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=GENERATED, symlinks=True)
        elif src.exists():
            shutil.copy2(src, dest / part)
    (dest / ".venv").symlink_to(VENV)
    shutil.copy2(dest / "profiles.example.yml", dest / "profiles.yml")  # what make setup does
    return dest


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo project copied and built once (`dbt build`, as `make demo` starts)."""
    root = _copy_for_readme(tmp_path_factory.mktemp("readme") / "built")
    done = subprocess.run(
        [str(VENV / "bin" / "dbt"), "build", "--quiet"],
        cwd=root, env=_env(root), capture_output=True, text=True, timeout=BUILD_TIMEOUT_S,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"dbt build of the README's project failed:\n{done.stdout}"
    return root


def _section_copy(built: Path, dest: Path) -> Path:
    shutil.copytree(built, dest, symlinks=True)
    return dest


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _stop_leftovers(root: Path) -> None:
    """End processes a block left running in its section's copy (a daemonized
    redis-server, say): ours by construction, found by their working directory."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cwd = (proc / "cwd").resolve()
        except OSError:
            continue
        if cwd == root or root in cwd.parents:
            with contextlib.suppress(OSError):
                os.kill(int(proc.name), signal.SIGTERM)


def _run(block: Block, cwd: Path, scripts: Path) -> tuple[int | None, str, str]:
    """Run one block; returns (exit code or None on timeout, stdout, stderr). The
    block runs in a session of its own, ended whole afterwards: a server it
    started cannot outlive it or hold its output open."""
    script = scripts / f"README.md-line-{block.line}.{'sh' if block.lang == 'bash' else 'py'}"
    if block.lang == "bash":
        script.write_text(block.code)
        command = ["bash", "-e", "-o", "pipefail", str(script)]
    else:
        # blank lines up to the block keep traceback line numbers = README lines
        script.write_text("\n" * block.line + block.code)
        command = [str(VENV / "bin" / "python"), str(script)]
    proc = subprocess.Popen(
        command, cwd=cwd, env=_env(cwd), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )  # fmt: skip
    code: int | None
    try:
        out, err = proc.communicate(timeout=BLOCK_TIMEOUT_S)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        code = None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # anything the block left running in background
    return code, out, err


@pytest.mark.slow
@pytest.mark.parametrize("section", list(SECTIONS))
def test_readme_section_runs(section: str, built: Path, tmp_path: Path) -> None:
    root = _section_copy(built, tmp_path / "project")
    scripts = tmp_path / "blocks"
    scripts.mkdir()
    try:
        for block in SECTIONS[section]:
            code, out, err = _run(block, root, scripts)
            if code is None:
                pytest.fail(
                    f"{block.where()} did not finish in {BLOCK_TIMEOUT_S} s (a server? mark it "
                    f"'<!-- readme-test: skip (reason) -->'):\n--- block ---\n{block.code}"
                    f"--- stdout (tail) ---\n{_tail(out)}\n--- stderr (tail) ---\n{_tail(err)}"
                )
            if code != 0:
                pytest.fail(
                    f"{block.where()} failed with exit code {code}:\n--- block ---\n{block.code}"
                    f"--- stdout (tail) ---\n{_tail(out)}\n--- stderr (tail) ---\n{_tail(err)}"
                )
    finally:
        _stop_leftovers(root.resolve())
