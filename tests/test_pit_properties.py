"""Property tests: `point_in_time_join` against a brute-force oracle.

The oracle below is written from the README's rules, not from the SQL: for
every spine row it scans every feature row. Hypothesis generates small random
tables on a seconds grid so that ties, equal timestamps, TTL edges, NULL keys
and timestamps, duplicate spine rows and late rows are frequent. Three views
are joined at once: an event view with created timestamps and a TTL, an event
view with a composite key mapped from differently named spine columns, and an
scd2 view.

dbt compiles the macro once per shape (implementation x late-row option)
against fixed table names in a throwaway project; each example only swaps the
data in an in-memory DuckDB catalog with the same name and runs the SQL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pitstop.offline.training import SPINE_NAME, point_in_time_call
from pitstop.project import Project

ROOT = Path(__file__).resolve().parents[1]
BASE = datetime(2025, 1, 1)
TTL_A = 5  # seconds; view pv_a
CATALOG = "props"
_SPLIT = "\n-- pitstop-property-split --\n"

FEATURES = ["pv_a", "pv_b", "pv_c"]
KEY_MAP = {"pv_b": {"bank_id": "bank", "account_no": "account"}}

_PROJECT_YML = """
name: pitstop
version: "0.1.0"
config-version: 2
profile: pitstop_props
macro-paths: ["macros"]
model-paths: ["models"]
vars:
  pitstop_entities:
    customer:
      keys: [{name: customer_id, type: bigint}]
    account:
      keys: [{name: bank_id, type: bigint}, {name: account_no, type: varchar}]
"""

_PROFILES_YML = """
pitstop_props:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: "{{ env_var('PITSTOP_DUCKDB_PATH') }}"
      threads: 1
"""

_MODELS_YML = f"""
version: 2
models:
  - name: pv_a
    config:
      meta:
        pitstop:
          entity: customer
          timestamp: ts
          created_timestamp: created
          ttl: {TTL_A}s
          features: [f1, f2]
  - name: pv_b
    config:
      meta:
        pitstop:
          entity: account
          timestamp: ts
          features: [balance]
  - name: pv_c
    config:
      meta:
        pitstop:
          entity: customer
          kind: scd2
          timestamp: valid_from
          valid_to: valid_to
          features: [segment]
"""

SCHEMAS = {
    "pv_a": pa.schema(
        [
            ("customer_id", pa.int64()),
            ("ts", pa.timestamp("us")),
            ("created", pa.timestamp("us")),
            ("f1", pa.int64()),
            ("f2", pa.string()),
        ]
    ),
    "pv_b": pa.schema(
        [
            ("bank_id", pa.int64()),
            ("account_no", pa.string()),
            ("ts", pa.timestamp("us")),
            ("balance", pa.int64()),
        ]
    ),
    "pv_c": pa.schema(
        [
            ("customer_id", pa.int64()),
            ("valid_from", pa.timestamp("us")),
            ("valid_to", pa.timestamp("us")),
            ("segment", pa.string()),
        ]
    ),
    "spine": pa.schema(
        [
            ("customer_id", pa.int64()),
            ("bank", pa.int64()),
            ("account", pa.string()),
            ("t", pa.timestamp("us")),
            ("tag", pa.int64()),
        ]
    ),
}


@pytest.fixture(scope="session")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, bool], str]:
    """The join compiled for every (impl, exclude_late_rows) shape, by real dbt."""
    root = tmp_path_factory.mktemp("pit_props")
    (root / "dbt_project.yml").write_text(_PROJECT_YML)
    (root / "profiles.yml").write_text(_PROFILES_YML)
    (root / "macros").symlink_to(ROOT / "macros", target_is_directory=True)
    models = root / "models"
    models.mkdir()
    (models / "_models.yml").write_text(_MODELS_YML)
    for name, schema in SCHEMAS.items():
        if name == "spine":
            continue
        columns = ", ".join(
            f"cast(null as {_sql_type(field.type)}) as {field.name}" for field in schema
        )
        (models / f"{name}.sql").write_text(f"select {columns} where false\n")
    saved = {k: os.environ.get(k) for k in ("DBT_PROFILES_DIR", "PITSTOP_DUCKDB_PATH")}
    os.environ["DBT_PROFILES_DIR"] = str(root)
    os.environ["PITSTOP_DUCKDB_PATH"] = str(root / f"{CATALOG}.duckdb")
    try:
        # one dbt invocation compiles every shape; the marker splits them again
        shapes = [(impl, late) for impl in ("duckdb", "default") for late in (True, False)]
        calls = [
            point_in_time_call(
                FEATURES,
                spine_timestamp="t",
                key_map=KEY_MAP,
                exclude_late_rows=late,
                impl=None if impl == "duckdb" else impl,
                spine_columns=SCHEMAS["spine"].names,
            )
            for impl, late in shapes
        ]
        result = Project(root).run_dbt(
            [
                "compile",
                "--log-level",
                "none",
                "--no-populate-cache",
                "--inline",
                _SPLIT.join(calls),
            ]
        )
        sqls = str(result.result.results[0].node.compiled_code).split(_SPLIT.strip())
    finally:
        # restore at once: later tests must not see this throwaway profile
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return dict(zip(shapes, sqls, strict=True))


def _sql_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_int64(arrow_type):
        return "bigint"
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    return "varchar"


# ---------------------------------------------------------------- data


def _at(seconds: int | None) -> datetime | None:
    return None if seconds is None else BASE + timedelta(seconds=seconds)


seconds = st.integers(min_value=0, max_value=20)
maybe = st.one_of


@st.composite
def view_a_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = []
    for _ in range(draw(st.integers(0, 14))):
        ts = draw(maybe(st.none(), seconds) if draw(st.booleans()) else seconds)
        created = None
        if draw(st.integers(0, 5)) > 0 and ts is not None:
            created = ts + draw(st.sampled_from([0, 0, 1, 3, 8]))
        rows.append(
            {
                "customer_id": draw(st.sampled_from([1, 1, 2, 3, None])),
                "ts": _at(ts),
                "created": _at(created),
                "f1": draw(st.one_of(st.none(), st.integers(0, 3))),
                "f2": draw(st.sampled_from(["x", "y", None])),
            }
        )
    # exact duplicates of (key, ts, created) with other values: the hash tiebreak
    if rows and draw(st.booleans()):
        twin = dict(draw(st.sampled_from(rows)))
        twin["f1"] = draw(st.integers(10, 12))
        rows.append(twin)
    return rows


@st.composite
def view_b_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    return [
        {
            "bank_id": draw(st.sampled_from([1, 2])),
            "account_no": draw(st.sampled_from(["k", "m"])),
            "ts": _at(draw(seconds)),
            "balance": draw(st.integers(0, 99)),
        }
        for _ in range(draw(st.integers(0, 8)))
    ]


@st.composite
def view_c_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Non-overlapping validity intervals per customer, with gaps and open ends."""
    rows = []
    for customer in (1, 2, 3):
        bounds = sorted(draw(st.sets(seconds, max_size=6)))
        for i, start in enumerate(bounds):
            if draw(st.integers(0, 3)) == 0:
                continue  # a gap
            closed = bounds[i + 1] if i + 1 < len(bounds) else None
            if closed is None and draw(st.booleans()):
                closed = start + draw(st.integers(1, 4))  # a closed last interval
            rows.append(
                {
                    "customer_id": customer,
                    "valid_from": _at(start),
                    "valid_to": _at(closed),
                    "segment": draw(st.sampled_from(["s", "t", "u"])),
                }
            )
    return rows


@st.composite
def spines(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = [
        {
            "customer_id": draw(st.sampled_from([1, 2, 3, 4, None])),
            "bank": draw(st.sampled_from([1, 2, None])),
            "account": draw(st.sampled_from(["k", "m"])),
            "t": _at(draw(maybe(st.none(), st.integers(0, 22)))),
            "tag": i,
        }
        for i in range(draw(st.integers(0, 12)))
    ]
    if rows and draw(st.booleans()):
        rows.append(dict(draw(st.sampled_from(rows))))  # a duplicate spine row
    return rows


@dataclass
class Case:
    a: list[dict[str, Any]]
    b: list[dict[str, Any]]
    c: list[dict[str, Any]]
    spine: list[dict[str, Any]]


cases = st.builds(Case, view_a_rows(), view_b_rows(), view_c_rows(), spines())


# ---------------------------------------------------------------- oracle

_NEG = datetime.min


def _acceptable(
    rows: list[dict[str, Any]],
    t: datetime | None,
    key_ok: bool,
    order: Any,
    usable: Any,
    counts: Any,
    features: list[str],
) -> set[tuple[Any, ...]]:
    """Feature tuples the join may return for one spine row and one view."""
    nulls = {tuple(None for _ in features)}
    if t is None or not key_ok:
        return nulls
    candidates = [r for r in rows if usable(r, t)]
    if not candidates:
        return nulls
    best = max(order(r) for r in candidates)
    winners = [r for r in candidates if order(r) == best]
    if not counts(winners[0], t):
        return nulls
    return {tuple(r[f] for f in features) for r in winners}


def oracle(case: Case, late: bool) -> list[list[set[tuple[Any, ...]]]]:
    return [_oracle_row(case, s, late) for s in case.spine]


def _oracle_row(case: Case, s: dict[str, Any], late: bool) -> list[set[tuple[Any, ...]]]:
    """What each view may contribute to spine row ``s``."""
    t = s["t"]

    def a_usable(r: dict[str, Any], t: datetime) -> bool:
        if r["customer_id"] != s["customer_id"] or r["ts"] is None or r["ts"] > t:
            return False
        return not (late and r["created"] is not None and r["created"] > t)

    def b_usable(r: dict[str, Any], t: datetime) -> bool:
        return (
            r["bank_id"] == s["bank"]
            and r["account_no"] == s["account"]
            and r["ts"] is not None
            and r["ts"] <= t
        )

    def c_usable(r: dict[str, Any], t: datetime) -> bool:
        return bool(r["customer_id"] == s["customer_id"] and r["valid_from"] <= t)

    return [
        _acceptable(
            case.a,
            t,
            s["customer_id"] is not None,
            lambda r: (r["ts"], r["created"] or _NEG),
            a_usable,
            lambda r, t: r["ts"] >= t - timedelta(seconds=TTL_A),
            ["f1", "f2"],
        ),
        _acceptable(
            case.b,
            t,
            s["bank"] is not None and s["account"] is not None,
            lambda r: r["ts"],
            b_usable,
            lambda r, t: True,
            ["balance"],
        ),
        _acceptable(
            case.c,
            t,
            s["customer_id"] is not None,
            lambda r: r["valid_from"],
            c_usable,
            lambda r, t: r["valid_to"] is None or t < r["valid_to"],
            ["segment"],
        ),
    ]


# ---------------------------------------------------------------- running


def run(sql: str, case: Case, loop_join_threshold: int | None = None) -> list[dict[str, Any]]:
    con = duckdb.connect()
    try:
        if loop_join_threshold is not None:
            con.execute(f"set asof_loop_join_threshold = {loop_join_threshold}")
        con.execute(f"attach ':memory:' as {CATALOG}")
        for name, rows in (("pv_a", case.a), ("pv_b", case.b), ("pv_c", case.c)):
            table = pa.Table.from_pylist(rows, schema=SCHEMAS[name])
            con.register("incoming", table)
            con.execute(f"create table {CATALOG}.main.{name} as select * from incoming")
            con.unregister("incoming")
        con.register(SPINE_NAME, pa.Table.from_pylist(case.spine, schema=SCHEMAS["spine"]))
        return list(con.sql(sql).to_arrow_table().to_pylist())
    finally:
        con.close()


def check(case: Case, rows: list[dict[str, Any]], late: bool) -> None:
    expected = oracle(case, late)
    assert len(rows) == len(case.spine)
    for spine_row, row, allowed in zip(case.spine, rows, expected, strict=True):
        assert {k: row[k] for k in spine_row} == spine_row  # order and spine columns kept
        got = [
            (row["pv_a__f1"], row["pv_a__f2"]),
            (row["pv_b__balance"],),
            (row["pv_c__segment"],),
        ]
        for view, value, ok in zip(FEATURES, got, allowed, strict=True):
            assert value in ok, f"{view}: {value} not in {ok} for spine row {spine_row}"


_SETTINGS = settings(
    max_examples=int(os.environ.get("PITSTOP_PROPERTY_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize("late", [True, False], ids=["exclude_late_rows", "allow_late_rows"])
@_SETTINGS
@given(case=cases)
def test_join_matches_oracle_and_both_implementations_agree(
    compiled: dict[tuple[str, bool], str], late: bool, case: Case
) -> None:
    asof = run(compiled[("duckdb", late)], case)
    check(case, asof, late)
    # the sort-based ASOF plan (small spines otherwise get DuckDB's loop join)
    assert run(compiled[("duckdb", late)], case, loop_join_threshold=0) == asof
    # the portable window form picks exactly the same rows, ties included
    assert run(compiled[("default", late)], case) == asof


def test_compiled_forms_differ(compiled: dict[tuple[str, bool], str]) -> None:
    """Guard against both shapes silently compiling to the same implementation."""
    assert "asof left join" in compiled[("duckdb", True)]
    assert "asof" not in compiled[("default", True)].lower()


def _a(customer: int, ts: int, created: int | None, f1: int) -> dict[str, Any]:
    return {"customer_id": customer, "ts": _at(ts), "created": _at(created), "f1": f1, "f2": "x"}


# Late rows overtaken by rows later in tie order that arrive first: with the
# late-row filter, the row with the latest availability time at or before t is
# often not the winner (customer 1 at t=9: row 1 arrived at 8, but row 2, with
# a later timestamp, arrived at 5). Hypothesis finds such cases only now and
# then at the default example count, so they are pinned here.
OVERTAKEN = Case(
    a=[
        _a(1, 0, 8, 1),  # late: usable from 8, but row 2 is ahead of it from 5 on
        _a(1, 5, 5, 2),
        _a(2, 1, 9, 3),  # a chain of late rows: usable from 9, 3 and 7
        _a(2, 2, 3, 4),
        _a(2, 3, 7, 5),
        _a(2, 3, 7, 6),  # a tie on (ts, created) with row 5: the hash decides
        _a(3, 4, None, 7),  # no created timestamp: usable at ts
        _a(3, 2, 6, 8),  # arrives after row 7 and is behind it in tie order
        _a(3, 4, 9, 9),  # ahead of row 7 (same ts, later created) from 9 on
    ],
    b=[],
    c=[],
    spine=[
        {"customer_id": c, "bank": None, "account": "k", "t": _at(t), "tag": i}
        for i, (c, t) in enumerate(
            [
                (1, 4),
                (1, 5),
                (1, 8),
                (1, 9),
                (2, 2),
                (2, 3),
                (2, 6),
                (2, 7),
                (2, 8),
                (3, 3),
                (3, 4),
                (3, 6),
                (3, 8),
                (3, 9),
            ]
        )
    ],
)


@pytest.mark.parametrize("late", [True, False], ids=["exclude_late_rows", "allow_late_rows"])
def test_late_rows_overtaken_by_earlier_arrivals(
    compiled: dict[tuple[str, bool], str], late: bool
) -> None:
    asof = run(compiled[("duckdb", late)], OVERTAKEN)
    check(OVERTAKEN, asof, late)
    assert run(compiled[("duckdb", late)], OVERTAKEN, loop_join_threshold=0) == asof
    assert run(compiled[("default", late)], OVERTAKEN) == asof
    if late:
        # spelled out: customer 1 from t=5 on is row 2; customer 2 is row 4 until
        # 7, then the tie of rows 5/6; customer 3 is row 7 until 9, then row 9
        f1 = [row["pv_a__f1"] for row in asof]
        assert f1[:4] == [None, 2, 2, 2]
        assert f1[4:6] == [None, 4] and f1[6] == 4 and f1[7] == f1[8] and f1[7] in (5, 6)
        assert f1[9:] == [None, 7, 7, 7, 9]
