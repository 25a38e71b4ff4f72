"""The Jinja duration parser (``pitstop._ttl_seconds``, used for feature-view
TTLs, window lengths and lookbacks) against the shared table
tests/data/durations.csv: every accepted input gives the table's seconds (or no
TTL) and every rejected input is a compiler error naming the model and field.

The table's ``input`` column is a YAML scalar as written after ``ttl:`` in a
model's YAML (``7`` is a number, ``"7"`` a string, ``null`` no value), so both
parsers see the same Python value. dbt runs in-process on a tiny project whose
``macros`` folder is the package's, so the whole table takes one parse.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "tests" / "data" / "durations.csv"
OVERFLOW = "is longer than 10000d; use none for no TTL"


def _rows() -> list[tuple[str, Any, str]]:
    """(input as written, the value YAML gives, seconds | 'none' | 'error')."""
    with TABLE.open(encoding="utf-8", newline="") as handle:
        return [
            (row["input"], yaml.safe_load(f"ttl: {row['input']}")["ttl"], row["seconds_or_error"])
            for row in csv.DictReader(handle)
        ]


ROWS = _rows()


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A minimal dbt project named `pitstop` whose macros are the package's."""
    root = tmp_path_factory.mktemp("durations")
    (root / "models").mkdir()
    (root / "macros").symlink_to(ROOT / "macros")
    (root / "dbt_project.yml").write_text(
        "name: pitstop\nversion: '0.1.0'\nconfig-version: 2\nprofile: probe\n"
        "macro-paths: [macros]\nmodel-paths: [models]\n"
        "flags: {send_anonymous_usage_stats: false}\n"
    )
    (root / "profiles.yml").write_text(
        "probe:\n  target: dev\n  outputs:\n"
        f"    dev: {{type: duckdb, path: '{root / 'probe.duckdb'}', threads: 1}}\n"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
        patch.delenv("DBT_TARGET_PATH", raising=False)
        yield root


def _compile(project: Path, template: str, values: list[Any]) -> tuple[bool, str]:
    """Compile ``template`` with ``values`` bound to a list of the same Python
    values; (success, compiled SQL or the error). The values travel as a JSON
    literal in the template rather than as --vars, which would force dbt to
    re-parse the project on every call."""
    text = json.dumps(values).replace("\\", "\\\\").replace("'", "\\'")
    template = f"{{% set values = fromjson('{text}') %}}{template}"
    from dbt.cli.main import dbtRunner

    # a compiler error raised while dbt parses the inline node is only logged:
    # collect the log messages to read it
    messages: list[str] = []
    runner = dbtRunner(
        callbacks=[
            lambda event: (
                messages.append(str(event.info.msg)) if event.info.level == "error" else None
            )
        ]
    )
    result = runner.invoke(
        [
            "--quiet",
            "--log-path", str(project / "logs"),
            "compile",
            "--project-dir", str(project),
            "--profiles-dir", str(project),
            "--target-path", str(project / "target"),
            "--inline", template,
        ]
    )  # fmt: skip
    if result.success:
        return True, str(result.result.results[0].node.compiled_code)
    return False, "\n".join([*messages, str(result.exception or result.result)])


def test_table_covers_the_language() -> None:
    outcomes = [expected for _, _, expected in ROWS]
    assert len(ROWS) >= 25
    assert {"none", "error"} <= set(outcomes)
    assert sum(o.isdigit() for o in outcomes) >= 10
    assert ("10000d", "864000000") in [(text, o) for text, _, o in ROWS]
    assert ("10001d", "error") in [(text, o) for text, _, o in ROWS]


@pytest.mark.slow
def test_jinja_parser_agrees_with_the_table(probe: Path) -> None:
    accepted = [(text, value, expected) for text, value, expected in ROWS if expected != "error"]
    template = (
        "{% for v in values %}"
        "{{ pitstop._ttl_seconds(v, 'probe') if pitstop._ttl_seconds(v, 'probe') is not none "
        "else 'none' }};"
        "{% endfor %}"
    )
    ok, output = _compile(probe, template, [value for _, value, _ in accepted])
    assert ok, output
    got = output.strip().rstrip(";").split(";")
    assert len(got) == len(accepted)
    for (text, _, expected), seconds in zip(accepted, got, strict=True):
        assert seconds == expected, f"{text}: table says {expected}, Jinja gives {seconds}"

    for text, value, expected in ROWS:
        if expected != "error":
            continue
        ok, output = _compile(probe, "{{ pitstop._ttl_seconds(values[0], 'probe') }}", [value])
        assert not ok, f"{text}: the table rejects it, Jinja gave {output!r}"
        assert "pitstop: model 'probe', field ttl: " in output, f"{text}: {output}"
        if isinstance(value, str) and text.rstrip("dwhms").isdigit() and len(text) > 6:
            assert OVERFLOW in output, f"{text}: {output}"
    assert os.environ.get("DBT_SEND_ANONYMOUS_USAGE_STATS") == "False"
