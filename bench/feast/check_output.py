"""Compare an ``offline.py`` result with a DuckDB point-in-time reference, by cause.

Needs only ``duckdb``. The reference keeps, per spine row and view, the row
with the latest feature timestamp ``<= t``, ties broken by the created
timestamp (latest first), and NULLs it when the winner is older than
``t - ttl`` (inclusive bounds, as Feast documents). The comparison joins on a
spine row-id column and counts, per view: missing spine rows, rows whose
features differ where the winning (entity, timestamp) had several versions
(a tie), and other differences. ``ambiguous_mismatches`` counts the subset of
tie mismatches where several versions share both timestamps (any of them is
correct), so ``tie_mismatches - ambiguous_mismatches`` are real errors.

Usage::

    bench/.feast-venv/bin/python bench/feast/check_output.py CONFIG.json FEAST_OUT.parquet \
        [--row-id row_id]

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def main(argv: list[str] | None = None) -> int:
    import duckdb

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config")
    parser.add_argument("output", help="Parquet written by offline.py")
    parser.add_argument("--row-id", default="row_id", help="spine column identifying a row")
    args = parser.parse_args(argv)
    text = args.config
    config = json.loads(text if text.lstrip().startswith("{") else Path(text).read_text())
    ts_col = config.get("spine_timestamp_column") or "event_timestamp"
    rid = q(args.row_id)

    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"create temp view spine as select * from read_parquet('{config['spine']}')")
    con.execute(f"create temp view feast as select * from read_parquet('{args.output}')")
    spine_rows, dup_ids = con.execute(
        f"select count(*), count(*) - count(distinct {rid}) from spine"
    ).fetchall()[0]
    out_rows, out_ids = con.execute(
        f"select count(*), count(distinct {rid}) from feast"
    ).fetchall()[0]
    report: dict[str, object] = {
        "spine_rows": spine_rows,
        "output_rows": out_rows,
        "missing_spine_rows": con.execute(
            f"select count(*) from spine anti join feast using ({rid})"
        ).fetchall()[0][0],
        "extra_output_rows": out_rows - out_ids,
        "spine_duplicate_row_ids": dup_ids,
        "views": {},
    }
    views: dict[str, object] = {}
    for view in config["feature_views"]:
        name = view["name"]
        keys = view["entities"]
        jmap = view.get("join_key_map") or {}
        ts, created = view["timestamp_column"], view.get("created_timestamp_column")
        ttl = int(view.get("ttl_seconds") or 0)
        feats = view["features"]
        cr = q(created) if created else "null::timestamp"
        # One winner per (key, ts): the latest created version. _versions > 1
        # marks a tie on the feature timestamp, _top > 1 a tie on both timestamps
        # (ambiguous: any of those versions is a correct answer).
        k = ", ".join(q(k) for k in keys)
        pick = "arg_max(_v, _cr)" if created else "any_value(_v)"
        con.execute(f"""
            create or replace temp table fv as
            with src as (
                select {k}, {q(ts)} as _ts, {cr} as _cr,
                       struct_pack({", ".join(q(f) for f in feats)}) as _v,
                       max({cr}) over (partition by {k}, {q(ts)}) as _max_cr,
                       count(*) over (partition by {k}, {q(ts)}) as _versions,
                from read_parquet('{view["path"]}')
            )
            select {k}, _ts, {pick} as _v, any_value(_versions) as _versions,
                   count(*) filter (where _cr is not distinct from _max_cr) as _top,
            from src
            group by all
        """)
        on_keys = " and ".join(f"s.{q(jmap.get(k, k))} = f.{q(k)}" for k in keys)
        ttl_ok = f"f._ts >= s.{q(ts_col)} - interval {ttl} seconds" if ttl else "true"
        cmp = " or ".join(
            f"(case when ref._hit then ref._v.{q(f)} end) is distinct from "
            f"feast.{q(name + '__' + f)}"
            for f in feats
        )
        row = con.execute(f"""
            with ref as (
                select s.{rid}, f._v, f._versions, f._top,
                       f._ts is not null and {ttl_ok} as _hit
                from spine s
                asof left join fv f on {on_keys} and s.{q(ts_col)} >= f._ts
            )
            select
                count(*) filter (where ({cmp}) and _hit and _versions > 1) as tie_mismatches,
                count(*) filter (where ({cmp}) and not (_hit and _versions > 1)) as other,
                count(*) filter (where _hit and _versions > 1) as rows_with_tie,
                count(*) filter (where _hit) as rows_with_values,
                count(*) filter (where ({cmp}) and _hit and _top > 1) as ambiguous_mismatches,
            from ref join feast using ({rid})
        """).fetchall()[0]
        views[name] = dict(
            zip(
                [
                    "tie_mismatches",
                    "other_mismatches",
                    "rows_with_tie",
                    "rows_with_values",
                    "ambiguous_mismatches",
                ],
                row,
                strict=True,
            )
        )
    report["views"] = views
    report["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
