"""The Python TTL parser against the one table of inputs (`tests/data/durations.csv`)
that the Jinja parser is checked against too (`test_duration_table_jinja.py`)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

from pitstop.times import parse_ttl

TABLE = Path(__file__).parent / "data" / "durations.csv"
ROWS = list(csv.DictReader(TABLE.open(newline="")))


def test_the_table_covers_both_outcomes() -> None:
    outcomes = {row["seconds_or_error"] for row in ROWS}
    assert "error" in outcomes and "none" in outcomes and len(ROWS) >= 25


@pytest.mark.parametrize("row", ROWS, ids=[row["input"] for row in ROWS])
def test_python_parser_agrees_with_the_table(row: dict[str, str]) -> None:
    value = yaml.safe_load(f"ttl: {row['input']}")["ttl"]
    expected = row["seconds_or_error"]
    if expected == "error":
        with pytest.raises(ValueError):
            parse_ttl(value)
    elif expected == "none":
        assert parse_ttl(value) is None
    else:
        ttl = parse_ttl(value)
        assert ttl is not None and ttl.total_seconds() == int(expected)
