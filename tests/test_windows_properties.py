"""Property tests: `window_aggregates` against a brute-force Python oracle.

Both the DuckDB form (RANGE frames) and the portable default form (range join)
are compiled once through dbt and run on random event streams whose
timestamps sit on a coarse grid, so that events land exactly on window edges
(t - w, excluded, and t, included) and tie with each other and with spine rows.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pitstop.offline import compile_inline
from pitstop.project import Project

ROOT = Path(__file__).resolve().parents[1]
BASE = dt.datetime(2025, 1, 1)
WINDOWS = {"5s": 5, "10s": 10}
AGGREGATES = (
    "['count', 'count(v)', 'sum(v)', 'avg(v)', 'min(v)', 'max(v)', "
    "{'function': 'count_distinct', 'column': 'c', 'name': 'c_distinct'}]"
)
NAMES = ("event_count", "v_count", "v_sum", "v_avg", "v_min", "v_max", "c_distinct")


class Event(NamedTuple):
    k: int | None
    t: int | None
    v: int | None
    c: int | None


class Point(NamedTuple):
    k: int | None
    t: int | None


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("windows")
    windows = "['5s', '10s']"
    spine_call = (
        f"'events', keys='k', event_timestamp='t', windows={windows}, "
        f"aggregates={AGGREGATES}, spine='spine', spine_timestamp='t'"
    )
    per_event_call = (
        f"'events', keys='k', event_timestamp='t', windows={windows}, aggregates={AGGREGATES}"
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("DBT_PROFILES_DIR", raising=False)
        mp.setenv("DBT_TARGET_PATH", str(tmp / "target"))
        mp.setenv("PITSTOP_DUCKDB_PATH", str(tmp / "compile.duckdb"))
        project = Project.find(ROOT)
        yield {
            "spine": compile_inline(project, f"{{{{ pitstop.window_aggregates({spine_call}) }}}}"),
            "spine_default": compile_inline(
                project, f"{{{{ pitstop.window_aggregates({spine_call}, method='join') }}}}"
            ),
            "per_event": compile_inline(
                project, f"{{{{ pitstop.window_aggregates({per_event_call}) }}}}"
            ),
            "per_event_default": compile_inline(
                project, f"{{{{ pitstop.window_aggregates({per_event_call}, method='join') }}}}"
            ),
        }


maybe_key = st.one_of(st.none(), st.integers(1, 2)) | st.integers(1, 2)
maybe_time = st.one_of(st.none(), st.integers(0, 30)) | st.integers(0, 30)
events_st = st.lists(
    st.builds(
        Event,
        k=maybe_key,
        t=maybe_time,
        v=st.one_of(st.none(), st.integers(-5, 5)),
        c=st.one_of(st.none(), st.integers(0, 3)),
    ),
    max_size=30,
)
spine_st = st.lists(st.builds(Point, k=st.one_of(maybe_key, st.just(3)), t=maybe_time), max_size=15)


def oracle(events: list[Event], k: int | None, t: int | None) -> tuple[Any, ...]:
    """Aggregates at (k, t): events of k with t - w < event time <= t."""
    if k is None or t is None:
        return tuple(None for _ in WINDOWS for _ in NAMES)
    out: list[Any] = []
    for width in WINDOWS.values():
        inside = [e for e in events if e.k == k and e.t is not None and t - width < e.t <= t]
        values = [e.v for e in inside if e.v is not None]
        out += [
            len(inside),
            len(values),
            sum(values) if values else None,
            sum(values) / len(values) if values else None,
            min(values) if values else None,
            max(values) if values else None,
            len({e.c for e in inside if e.c is not None}),
        ]
    return tuple(out)


def _ts(t: int | None) -> dt.datetime | None:
    return None if t is None else BASE + dt.timedelta(seconds=t)


def _connect(events: list[Event], spine: list[Point]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create table events (k bigint, t timestamp, v bigint, c bigint)")
    con.execute("create table spine (row_id bigint, k bigint, t timestamp)")
    if events:
        con.executemany(
            "insert into events values (?, ?, ?, ?)", [(e.k, _ts(e.t), e.v, e.c) for e in events]
        )
    if spine:
        con.executemany(
            "insert into spine values (?, ?, ?)", [(i, p.k, _ts(p.t)) for i, p in enumerate(spine)]
        )
    return con


def _same(actual: tuple[Any, ...], expected: tuple[Any, ...]) -> bool:
    if len(actual) != len(expected):
        return False
    for a, e in zip(actual, expected, strict=True):
        if a is None or e is None:
            if a is not e:
                return False
        elif not math.isclose(float(a), float(e), rel_tol=1e-9, abs_tol=1e-12):
            return False
    return True


_SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_COLUMNS = ", ".join(f'"{n}_{w}"' for w in WINDOWS for n in NAMES)


@_SETTINGS
@given(events=events_st, spine=spine_st)
def test_spine_form_matches_oracle(
    compiled: dict[str, str], events: list[Event], spine: list[Point]
) -> None:
    con = _connect(events, spine)
    for form in ("spine", "spine_default"):
        rows = con.execute(
            f"select row_id, {_COLUMNS} from ({compiled[form]}) order by row_id"
        ).fetchall()
        # every spine row exactly once, duplicates and NULLs included
        assert [r[0] for r in rows] == list(range(len(spine))), form
        for row in rows:
            point = spine[row[0]]
            expected = oracle(events, point.k, point.t)
            assert _same(tuple(row[1:]), expected), (form, point, row[1:], expected)


@_SETTINGS
@given(events=events_st)
def test_per_event_form_matches_oracle(compiled: dict[str, str], events: list[Event]) -> None:
    con = _connect(events, [])
    points = sorted(
        {(e.k, e.t) for e in events if e.k is not None and e.t is not None},
    )
    for form in ("per_event", "per_event_default"):
        rows = con.execute(
            f"select k, as_of_at, {_COLUMNS} from ({compiled[form]}) order by k, as_of_at"
        ).fetchall()
        # one row per entity and distinct event time, with the as-of time
        assert [(r[0], r[1]) for r in rows] == [(k, _ts(t)) for k, t in points], form
        for row, (k, t) in zip(rows, points, strict=True):
            assert _same(tuple(row[2:]), oracle(events, k, t)), (form, k, t)
