"""Property tests: `scd2_from_events` against a brute-force Python oracle.

The macro is compiled once per shape through dbt; each hypothesis example only
swaps the rows of a fixed input table in an in-memory DuckDB. The oracle below
is written from the documented rules, not from the SQL: per key and instant
the winner is the row with the greatest (seq, state, loaded); consecutive equal
states collapse; an interval ends at the next state; deletes end an interval
(and are kept as tombstones with keep_deletes).
"""

from __future__ import annotations

import datetime as dt
import hashlib
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

_CALL = (
    "{{{{ pitstop.scd2_from_events('scd2_input', keys='k', updated_at='ts', "
    "columns=['a', 'b'], delete_flag='del', tiebreak=['seq'], loaded_at='loaded', "
    "keep_deletes={keep}{extra}) }}}}"
)


class Change(NamedTuple):
    k: int | None
    ts: int | None
    seq: int | None
    a: str | None
    b: int
    deleted: bool
    batch: int
    jitter: int


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The macro's SQL for the full build (with and without tombstones) and the
    incremental build, compiled by dbt against the real project."""
    tmp = tmp_path_factory.mktemp("scd2")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("DBT_PROFILES_DIR", raising=False)
        mp.setenv("DBT_TARGET_PATH", str(tmp / "target"))
        mp.setenv("PITSTOP_DUCKDB_PATH", str(tmp / "compile.duckdb"))
        project = Project.find(ROOT)
        yield {
            "full": compile_inline(project, _CALL.format(keep="false", extra="")),
            "full_tombstones": compile_inline(project, _CALL.format(keep="true", extra="")),
            "incremental": compile_inline(
                project, _CALL.format(keep="true", extra=", incremental_target='scd2_target'")
            ),
            # re-reads rows that arrived up to 40 days before the watermark
            "incremental_lookback": compile_inline(
                project,
                _CALL.format(
                    keep="true", extra=", incremental_target='scd2_target', lookback='40d'"
                ),
            ),
        }


changes = st.lists(
    st.builds(
        Change,
        k=st.one_of(st.none(), st.integers(1, 3)) | st.integers(1, 3),
        ts=st.one_of(st.none(), st.integers(0, 8)) | st.integers(0, 8),
        seq=st.one_of(st.none(), st.integers(0, 2)),
        a=st.sampled_from([None, "x", "y", "x|y"]),
        b=st.integers(0, 1),
        deleted=st.booleans(),
        batch=st.integers(1, 4),
        jitter=st.integers(0, 5),
    ),
    max_size=25,
)


def _loaded(c: Change) -> dt.datetime:
    # arrival time grows with the batch: what a loader stamps on arrival
    return BASE + dt.timedelta(days=30 * c.batch, seconds=c.jitter)


def _state(c: Change) -> tuple[Any, ...]:
    return ("D", None, None) if c.deleted else ("L", c.a, c.b)


def _state_order(c: Change) -> tuple[Any, ...]:
    """The state as a sort key: delete flag first (true greatest), then each
    column with NULL lowest."""
    state = _state(c)
    return (state[0] == "D", *((v is not None, v) for v in state[1:]))


def _state_hash(state: tuple[Any, ...]) -> str:
    parts = [state[0]]
    for value in state[1:]:
        text = None if value is None else str(value)
        parts.append("n" if text is None else f"v{len(text)}:{text}")
    return hashlib.md5("|".join(parts).encode()).hexdigest()


def oracle(rows: list[Change], keep_deletes: bool) -> list[tuple[Any, ...]]:
    """Brute-force history:
    (k, a, b, [deleted], valid_from, valid_to, is_current, change_hash, loaded)."""
    out: list[tuple[Any, ...]] = []
    keys = sorted({r.k for r in rows if r.k is not None and r.ts is not None})
    for k in keys:
        mine = [r for r in rows if r.k == k and r.ts is not None]
        runs: list[tuple[int, tuple[Any, ...], Change]] = []
        for t in sorted({r.ts for r in mine if r.ts is not None}):
            tied = [r for r in mine if r.ts == t]
            winner = max(
                tied,
                key=lambda r: (r.seq is not None, r.seq or 0, *_state_order(r), _loaded(r)),
            )
            if runs and runs[-1][1] == _state(winner):
                continue
            runs.append((t, _state(winner), winner))
        for i, (t, state, winner) in enumerate(runs):
            end = runs[i + 1][0] if i + 1 < len(runs) else None
            if state[0] == "D" and not keep_deletes:
                continue
            row: list[Any] = [k, state[1], state[2]]
            if keep_deletes:
                row.append(state[0] == "D")
            row += [
                BASE + dt.timedelta(minutes=t),
                None if end is None else BASE + dt.timedelta(minutes=end),
                end is None,
                _state_hash(state),
                _loaded(winner),
            ]
            out.append(tuple(row))
    return sorted(out, key=repr)


def _load(con: duckdb.DuckDBPyConnection, rows: list[Change]) -> None:
    con.execute("delete from scd2_input")
    if rows:
        con.executemany(
            "insert into scd2_input values (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    r.k,
                    None if r.ts is None else BASE + dt.timedelta(minutes=r.ts),
                    r.seq,
                    r.a,
                    r.b,
                    r.deleted,
                    _loaded(r),
                )
                for r in rows
            ],
        )


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        "create table scd2_input (k bigint, ts timestamp, seq bigint, a varchar, b bigint, "
        "del boolean, loaded timestamp)"
    )
    return con


def _result(con: duckdb.DuckDBPyConnection, sql: str, keep_deletes: bool) -> list[tuple[Any, ...]]:
    deleted = "del, " if keep_deletes else ""
    rows = con.execute(
        f"select k, a, b, {deleted}valid_from, valid_to, is_current, change_hash, loaded "
        f"from ({sql})"
    ).fetchall()
    return sorted(rows, key=repr)


_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_SETTINGS
@given(rows=changes)
def test_full_build_matches_oracle(compiled: dict[str, str], rows: list[Change]) -> None:
    con = _connect()
    _load(con, rows)
    assert _result(con, compiled["full"], False) == oracle(rows, keep_deletes=False)
    assert _result(con, compiled["full_tombstones"], True) == oracle(rows, keep_deletes=True)
    # input order never matters (ties are broken by values, not by position)
    _load(con, list(reversed(rows)))
    assert _result(con, compiled["full"], False) == oracle(rows, keep_deletes=False)


def _merge_batch(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """What dbt's delete+insert strategy does with unique_key = k."""
    con.execute(f"create or replace temp table scd2_batch as {sql}")
    con.execute("delete from scd2_target where k in (select k from scd2_batch)")
    con.execute("insert into scd2_target select * from scd2_batch")


@_SETTINGS
@given(rows=changes, lookback=st.booleans())
def test_incremental_batches_equal_full_rebuild(
    compiled: dict[str, str], rows: list[Change], lookback: bool
) -> None:
    sql = compiled["incremental_lookback" if lookback else "incremental"]
    con = _connect()
    batches = sorted({r.batch for r in rows}) or [1]
    for i, batch in enumerate(batches):
        _load(con, [r for r in rows if r.batch <= batch])
        if i == 0:
            con.execute(f"create table scd2_target as {compiled['full_tombstones']}")
        else:
            _merge_batch(con, sql)
    expected = oracle(rows, keep_deletes=True)
    assert _result(con, "select * from scd2_target", True) == expected
    # replaying the last load changes nothing (idempotent)
    _merge_batch(con, sql)
    assert _result(con, "select * from scd2_target", True) == expected


def test_integration_project_replays_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dbt incremental model in integration_tests, loaded batch by batch with
    `--vars '{scd2_batch: N}'`, then replayed, equals the full rebuild."""
    from dbt.cli.main import dbtRunner

    project = ROOT / "integration_tests"
    monkeypatch.setenv("DBT_PROFILES_DIR", str(project))
    monkeypatch.setenv("PITSTOP_IT_DUCKDB_PATH", str(tmp_path / "it.duckdb"))
    common = ["--project-dir", str(project), "--target-path", str(tmp_path / "target")]

    def run(*args: str) -> None:
        result = dbtRunner().invoke(["--quiet", *args, *common])
        assert result.success, f"dbt {' '.join(args)} failed: {result.exception}"

    if not (project / "dbt_packages" / "pitstop").exists():
        run("deps")
    run(
        "build",
        "--select",
        "path:seeds/scd2",
        "test_scd2_from_events_tombstones",
        "--indirect-selection",
        "cautious",
    )
    model = "test_scd2_from_events_incremental"
    run("run", "--select", model, "--full-refresh", "--vars", "{scd2_batch: 1}")
    for batch in (2, 3, 3):
        run("run", "--select", model, "--vars", f"{{scd2_batch: {batch}}}")
    run("test", "--select", model)
