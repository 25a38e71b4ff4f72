"""Benchmark: `scd2_from_events` and `window_aggregates` against hand-written DuckDB SQL.

Workloads (at --scale 1, the sizes of the issue):

* SCD2: a 10M-row change log of 1M entities (updates, no-op updates, deletes,
  re-inserts, ties on updated_at broken by a sequence column).
* Windows: 10M events of 100k entities and a 1M-row spine; 4 windows (1h, 24h,
  7d, 30d) x 5 aggregates (count, sum, avg, min, max of the amount).

Each query runs in a fresh child process (``create table ... as <query>``) so
that wall time and peak RSS (``wait4`` rusage) belong to that query alone. The
macro SQL is compiled through dbt, exactly as a model would use it; the
hand-written queries state the same semantics directly in DuckDB SQL and are
the floor to compare with. Results are checked equal before reporting.

    .venv/bin/python bench/bench_history.py                 # full size, ~5 min
    .venv/bin/python bench/bench_history.py --scale 0.05    # quick check
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WINDOWS = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
FUNCTIONS = ("count", "sum", "avg", "min", "max")

SCD2_MACRO = (
    "{{ pitstop.scd2_from_events('change_log', keys='entity_id', updated_at='changed_at', "
    "columns=['tier', 'credit_limit'], delete_flag='is_deleted', tiebreak=['change_id'], "
    "loaded_at='ingested_at') }}"
)
WINDOWS_MACRO = (
    "{{ pitstop.window_aggregates('events', keys='entity_id', event_timestamp='event_at', "
    "windows=['1h', '24h', '7d', '30d'], aggregates=['count', 'sum(amount)', "
    "'avg(amount)', 'min(amount)', 'max(amount)'], spine='spine', "
    "spine_timestamp='spine_at') }}"
)

# The same SCD2 semantics written by hand: one winner per (entity, instant),
# drop states equal to the previous one, intervals from lead(), deletes dropped.
SCD2_HAND = """
with winners as (
    select entity_id, changed_at, change_id, ingested_at, coalesce(is_deleted, false) as del,
        case when is_deleted then null else tier end as tier,
        case when is_deleted then null else credit_limit end as credit_limit
    from change_log
    where entity_id is not null and changed_at is not null
    qualify row_number() over (
        partition by entity_id, changed_at order by change_id desc nulls last) = 1
),
changes as (
    select *, lag((del, tier, credit_limit)) over (
        partition by entity_id order by changed_at) as prev
    from winners
),
runs as (
    select *, lead(changed_at) over (partition by entity_id order by changed_at) as valid_to
    from changes
    where prev is null or prev is distinct from (del, tier, credit_limit)
)
select entity_id, tier, credit_limit, changed_at as valid_from, valid_to,
    valid_to is null as is_current,
    md5(concat_ws('|', del, tier, credit_limit)) as change_hash, ingested_at
from runs
where not del
"""


def windows_hand() -> str:
    """Hand-written windows: one stream of events and spine points, RANGE frames."""
    aggs = []
    for label in WINDOWS:
        for fn in FUNCTIONS:
            expr = "count(is_event)" if fn == "count" else f"{fn}(amount)"
            name = "event_count" if fn == "count" else f"amount_{fn}"
            aggs.append(f"{expr} over w{label} as {name}_{label}")
    frames = ",\n    ".join(
        f"w{label} as (partition by entity_id order by t "
        f"range between {seconds * 1_000_000 - 1} preceding and current row)"
        for label, seconds in WINDOWS.items()
    )
    return f"""
with points as (
    select distinct entity_id, spine_at from spine
    where entity_id is not null and spine_at is not null
),
stream as (
    select entity_id, epoch_us(event_at) as t, null as spine_at, 1 as is_event, amount
    from events where entity_id is not null and event_at is not null
    union all
    select entity_id, epoch_us(spine_at), spine_at, null, null from points
),
results as (
    select entity_id, spine_at, {", ".join(aggs)}
    from stream
    window {frames}
    qualify spine_at is not null
)
select spine.*, results.* exclude (entity_id, spine_at)
from spine
left join results using (entity_id, spine_at)
"""


def windows_hand_join() -> str:
    """Hand-written windows as a range join: each point with its entity's events
    of the last 30 days, then one filtered aggregate per window."""
    aggs = []
    outs = []
    for label, seconds in WINDOWS.items():
        cond = f"event_at > spine_at - to_seconds({seconds})"
        for fn in FUNCTIONS:
            expr = "count(*)" if fn == "count" else f"{fn}(amount)"
            name = "event_count" if fn == "count" else f"amount_{fn}"
            aggs.append(f"{expr} filter (where {cond}) as {name}_{label}")
            outs.append(
                f"coalesce(a.{name}_{label}, 0) as {name}_{label}"
                if fn == "count"
                else f"a.{name}_{label}"
            )
    return f"""
with points as (
    select distinct entity_id, spine_at from spine
    where entity_id is not null and spine_at is not null
),
joined as (
    select p.entity_id, p.spine_at, e.event_at, e.amount
    from points as p
    inner join events as e
        on p.entity_id = e.entity_id
        and e.event_at <= p.spine_at
        and e.event_at > p.spine_at - to_seconds({max(WINDOWS.values())})
),
agg as (
    select entity_id, spine_at, {", ".join(aggs)}
    from joined
    group by entity_id, spine_at
),
results as (
    select p.entity_id, p.spine_at, {", ".join(outs)}
    from points as p
    left join agg as a using (entity_id, spine_at)
)
select spine.*, results.* exclude (entity_id, spine_at)
from spine
left join results using (entity_id, spine_at)
"""


def generate(db: Path, scale: float, event_entities: int | None = None) -> dict[str, int]:
    import duckdb

    n_log = int(10_000_000 * scale)
    n_log_entities = max(1, int(1_000_000 * scale))
    n_events = int(10_000_000 * scale)
    n_event_entities = event_entities or max(1, int(100_000 * scale))
    n_spine = int(1_000_000 * scale)
    con = duckdb.connect(str(db))
    # 181 days of history at one-second resolution; hash() gives fixed pseudo-random values
    con.execute(f"""
        create or replace table change_log as
        select
            i as change_id,
            (hash(i, 'k') % {n_log_entities})::bigint as entity_id,
            timestamp '2025-01-01' + to_seconds((hash(i, 't') % (181 * 86400))::bigint)
                as changed_at,
            timestamp '2025-01-01' + to_seconds((hash(i, 't') % (181 * 86400))::bigint
                + (hash(i, 'l') % 600)::bigint) as ingested_at,
            hash(i, 'd') % 10 = 0 as is_deleted,
            ['basic', 'silver', 'gold', 'platinum'][1 + (hash(i, 'tier') % 4)::int] as tier,
            (100 * (5 + hash(i, 'c') % 3))::double as credit_limit
        from range({n_log}) as r(i)
    """)
    con.execute(f"""
        create or replace table events as
        select
            i as event_id,
            (hash(i, 'k') % {n_event_entities})::bigint as entity_id,
            timestamp '2025-01-01' + to_seconds((hash(i, 't') % (181 * 86400))::bigint)
                as event_at,
            round((hash(i, 'a') % 100000) / 100.0, 2) as amount
        from range({n_events}) as r(i)
    """)
    con.execute(f"""
        create or replace table spine as
        select
            i as spine_id,
            (hash(i, 'sk') % {n_event_entities})::bigint as entity_id,
            timestamp '2025-01-01' + to_seconds((hash(i, 'st') % (181 * 86400))::bigint)
                as spine_at
        from range({n_spine}) as r(i)
    """)
    con.close()
    return {"change_log": n_log, "events": n_events, "spine": n_spine}


def compile_macros(workdir: Path) -> dict[str, str]:
    os.environ["PITSTOP_DUCKDB_PATH"] = str(workdir / "compile.duckdb")
    os.environ["DBT_TARGET_PATH"] = str(workdir / "target")
    os.environ.pop("DBT_PROFILES_DIR", None)
    sys.path.insert(0, str(ROOT / "python"))
    from pitstop.project import Project

    project = Project.find(ROOT)
    out = {}
    join_macro = WINDOWS_MACRO.replace(") }}", ", method='join') }}")
    for name, inline in (
        ("scd2", SCD2_MACRO),
        ("windows", WINDOWS_MACRO),
        ("windows_join", join_macro),
    ):
        result = project.run_dbt(
            ["compile", "--log-level", "none", "--no-populate-cache", "--inline", inline]
        )
        out[name] = str(result.result.results[0].node.compiled_code)
    return out


def run_child(db: Path, table: str, sql_file: Path) -> tuple[float, float]:
    """Run one query in a child process; return (query seconds, peak RSS in GiB)."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", str(db), table, str(sql_file)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"query {table} failed (status {status})")
    return float(output.strip().splitlines()[-1]), usage.ru_maxrss / 1024 / 1024


def child(db: str, table: str, sql_file: str) -> None:
    import duckdb

    con = duckdb.connect(db)
    sql = Path(sql_file).read_text()
    # the query alone: process start-up and imports are not timed
    start = time.perf_counter()
    con.execute(f"create or replace table {table} as {sql}")
    print(f"{time.perf_counter() - start:.3f}")
    con.close()


def differences(db: Path, left: str, right: str, columns: str) -> int:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    n = con.execute(f"""
        select count(*) from (
            (select {columns} from {left} except all select {columns} from {right})
            union all
            (select {columns} from {right} except all select {columns} from {left})
        )
    """).fetchall()[0][0]
    con.close()
    return int(n)


def window_mismatches(db: Path, left: str, right: str) -> int:
    """Spine rows whose aggregates differ beyond float summation noise (relative
    1e-9): frames and joins add doubles in different orders."""
    import duckdb

    checks = []
    for w in WINDOWS:
        for fn in FUNCTIONS:
            col = f"{'event_count' if fn == 'count' else 'amount_' + fn}_{w}"
            checks.append(
                f"(l.{col} is null) <> (r.{col} is null) or abs(l.{col} - r.{col}) > "
                f"1e-9 * greatest(1, abs(l.{col}))"
            )
    con = duckdb.connect(str(db), read_only=True)
    n = con.execute(f"""
        select count(*) from {left} as l full join {right} as r using (spine_id)
        where l.spine_id is null or r.spine_id is null or {" or ".join(checks)}
    """).fetchall()[0][0]
    con.close()
    return int(n)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=1, help="runs per query (best kept)")
    parser.add_argument("--out", type=Path, help="append a Markdown report to this file")
    parser.add_argument(
        "--event-entities",
        type=int,
        help="entities of the event stream (default 100k x scale); few entities = dense windows",
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0

    import duckdb

    with tempfile.TemporaryDirectory(prefix="pitstop-bench-history-") as tmp:
        workdir = Path(tmp)
        db = workdir / "bench.duckdb"
        sql = compile_macros(workdir)
        t0 = time.perf_counter()
        sizes = generate(db, args.scale, args.event_entities)
        print(f"generated {sizes} in {time.perf_counter() - t0:.1f}s", flush=True)
        queries = {
            "scd2_macro": sql["scd2"],
            "scd2_hand": SCD2_HAND,
            "windows_macro": sql["windows"],
            "windows_hand": windows_hand(),
            "windows_join_macro": sql["windows_join"],
            "windows_join_hand": windows_hand_join(),
        }
        results: dict[str, tuple[float, float]] = {}
        for name, text in queries.items():
            path = workdir / f"{name}.sql"
            path.write_text(text)
            runs = [run_child(db, name, path) for _ in range(args.repeat)]
            results[name] = min(runs)
            print(f"{name:>14}: {results[name][0]:7.2f} s  {results[name][1]:5.2f} GiB", flush=True)

        scd2_cols = "entity_id, tier, credit_limit, valid_from, valid_to, is_current, ingested_at"
        diff_scd2 = differences(db, "scd2_macro", "scd2_hand", scd2_cols)
        diff_win = window_mismatches(db, "windows_macro", "windows_hand")
        diff_win_join = window_mismatches(db, "windows_join_macro", "windows_join_hand")
        # different methods sum doubles in different orders: compare with a tolerance
        diff_win_methods = window_mismatches(db, "windows_macro", "windows_join_macro")
        con = duckdb.connect(str(db), read_only=True)
        n_hist = con.execute("select count(*) from scd2_macro").fetchall()[0][0]
        n_win = con.execute("select count(*) from windows_macro").fetchall()[0][0]
        con.close()
        print(
            f"differences: scd2 {diff_scd2}, windows {diff_win}, windows join "
            f"{diff_win_join}, frames vs join {diff_win_methods}"
        )

    report = [
        f"### History and windows (scale {args.scale:g}"
        + (f", {args.event_entities:,} event entities" if args.event_entities else "")
        + ")",
        "",
        f"{platform.node()}: {os.cpu_count()} cores, DuckDB {duckdb.__version__}, "
        f"best of {args.repeat}; each query in its own process "
        "(`create table as`), peak RSS of that process.",
        "",
        "| workload | rows in | rows out | macro s | macro GiB | hand s | hand GiB "
        "| macro / hand | same result |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    window_rows = f"{sizes['events']:,} events, {sizes['spine']:,} spine"
    for label, key, rows_in, rows_out, diff in (
        ("scd2_from_events", "scd2", f"{sizes['change_log']:,} changes", n_hist, diff_scd2),
        (
            "window_aggregates, method frames (4 windows x 5 aggs)",
            "windows",
            window_rows,
            n_win,
            diff_win,
        ),
        (
            "window_aggregates, method join (4 windows x 5 aggs)",
            "windows_join",
            window_rows,
            n_win,
            diff_win_join,
        ),
    ):
        m, h = results[f"{key}_macro"], results[f"{key}_hand"]
        report.append(
            f"| {label} | {rows_in} | {rows_out:,} | {m[0]:.2f} | {m[1]:.2f} | {h[0]:.2f} "
            f"| {h[1]:.2f} | {m[0] / h[0]:.2f}x | {'yes' if diff == 0 else f'{diff} rows differ'} |"
        )
    report += [
        "",
        "Hand-written queries: the same method written directly (RANGE frames; "
        "range join). SCD2 results are compared exactly; window results row by row "
        "with a relative tolerance of 1e-9, because DuckDB adds doubles in a "
        "different (and, for parallel aggregation, run-dependent) order. frames and "
        "join results agree "
        + (
            "(up to float summation order, relative 1e-9)."
            if diff_win_methods == 0
            else f"except in {diff_win_methods} rows."
        ),
    ]
    text = "\n".join(report) + "\n"
    print(text)
    if args.out:
        with args.out.open("a") as fh:
            fh.write(text + "\n")
    return 0 if diff_scd2 == diff_win == diff_win_join == diff_win_methods == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
