"""Feast 0.67 reference: SQLite online store materialize and lookup latency.

Runs inside ``bench/.feast-venv`` (see ``setup.sh``); imports nothing from
pitstop. Measures, in one process and in this order:

1. ``import feast`` in fresh interpreters (``--import-runs`` times);
2. ``FeatureStore.materialize`` of every view into SQLite (source rows/s);
3. optionally ``materialize_incremental`` after appending a delta of
   ``--incremental-fraction`` of each view's rows with newer timestamps;
4. ``get_online_features(features=<service of all views>, entity_rows=[row])
   .to_dict()`` for single entities: ``--warmup`` calls, then ``--lookups``
   timed calls (p50/p99/mean);
5. the same for batches of ``--batch-sizes`` entities (``--batch-repeats``
   timed calls each, after two warm-up calls).

Usage::

    bench/.feast-venv/bin/python bench/feast/online.py CONFIG.json \
        [--lookups 10000] [--warmup 1000] [--batch-sizes 100,1000] \
        [--batch-repeats 30] [--incremental-fraction 0.01] [--import-runs 3]

Prints one JSON line on stdout; the schema is in ``README.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _repo  # sets FEAST_USAGE / DO_NOT_TRACK before feast is imported

_IMPORT_PROBE = "import time; t = time.perf_counter(); import feast; print(time.perf_counter() - t)"


def time_import(runs: int) -> list[float]:
    """Seconds for ``import feast`` in fresh interpreters (what a serving process pays)."""
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _IMPORT_PROBE],
            check=True,
            capture_output=True,
            text=True,
            env=os.environ.copy(),
        )
        times.append(round(float(out.stdout.strip().splitlines()[-1]), 3))
    return times


def stage_sources(views: list[_repo.ViewSpec], tmp: Path) -> list[_repo.ViewSpec]:
    """Point each view at a glob in a private directory of symlinks to its files.

    Feast's FileSource path is fixed at registration; a glob over a directory we
    own lets the incremental step add a delta file next to the original data.
    """
    import glob

    staged = []
    for view in views:
        src_dir = tmp / "sources" / view.name
        src_dir.mkdir(parents=True)
        expanded = _repo._expand(view.path)
        if isinstance(expanded, list):
            files = expanded
        elif Path(expanded).is_dir():
            files = sorted(glob.glob(os.path.join(expanded, "**", "*.parquet"), recursive=True))
        else:
            files = [expanded]
        for i, f in enumerate(files):
            (src_dir / f"part-{i:05d}.parquet").symlink_to(Path(f).resolve())
        staged.append(dataclasses.replace(view, path=str(src_dir / "*.parquet")))
    return staged


def source_stats(con: Any, view: _repo.ViewSpec) -> tuple[int, datetime, datetime]:
    """Row count and timestamp range of a view's source."""
    rows, lo, hi = con.execute(
        f'select count(*), min("{view.timestamp_column}"), max("{view.timestamp_column}") '
        f"from read_parquet('{view.path}')"
    ).fetchall()[0]
    return int(rows), lo, hi


def write_delta(con: Any, view: _repo.ViewSpec, fraction: float, new_ts: datetime) -> int:
    """Append a delta file: a sample of rows re-stamped at ``new_ts`` (changed rows)."""
    src = view.path
    delta = str(Path(src).parent / "zz-delta.parquet")
    stamped = [f"'{new_ts.isoformat(sep=' ')}'::timestamp as \"{view.timestamp_column}\""]
    if view.created_timestamp_column:
        stamped.append(
            f"'{new_ts.isoformat(sep=' ')}'::timestamp as \"{view.created_timestamp_column}\""
        )
    con.execute(
        f"copy (select * replace ({', '.join(stamped)}) from read_parquet('{src}') "
        f"using sample {fraction * 100} percent (bernoulli, 42)) to '{delta}' (format parquet)"
    )
    return int(con.execute(f"select count(*) from read_parquet('{delta}')").fetchall()[0][0])


def entities_written(db: Path, views: list[_repo.ViewSpec]) -> int:
    """Entity keys in the SQLite online store, summed over views.

    Feast's SQLite store keeps one table per view, ``<project>_<view>``, with
    one row per (entity key, feature).
    """
    import sqlite3

    with sqlite3.connect(db) as con:
        return sum(
            con.execute(
                f'select count(distinct entity_key) from "{_repo.PROJECT}_{v.name}"'
            ).fetchone()[0]
            for v in views
        )


def sample_entity_rows(
    config: dict[str, Any], views: list[_repo.ViewSpec], con: Any, n: int, seed: int
) -> list[dict[str, Any]]:
    """Distinct entity key rows to look up, sampled with a fixed seed."""
    keys: list[str] = []
    for view in views:
        for k in view.entities:
            col = view.join_key_map.get(k, k)
            if col not in keys:
                keys.append(col)
    source = config.get("entity_rows") or config.get("spine")
    if not source:
        if any(set(v.entities) != set(views[0].entities) or v.join_key_map for v in views):
            raise _repo.ConfigError("config: entity_rows is required when views differ in keys")
        source = views[0].path
    cols = ", ".join(f'"{k}"' for k in keys)
    con.execute("select setseed(?)", [seed / 2**31])
    rows = con.execute(
        f"select {cols} from (select distinct {cols} from read_parquet('{source}') "
        f"where {' and '.join(f'{c} is not null' for c in cols.split(', '))}) "
        f"order by random() limit {int(n)}"
    ).fetchall()
    if not rows:
        raise _repo.ConfigError(f"no entity rows found in {source}")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def summarize(samples_ns: list[int], unit: str) -> dict[str, Any]:
    """p50/p99/mean/min of latencies, in microseconds or milliseconds."""
    scale = 1e3 if unit == "us" else 1e6
    ordered = sorted(samples_ns)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {
        "calls": len(ordered),
        f"p50_{unit}": round(pick(0.50) / scale, 2),
        f"p99_{unit}": round(pick(0.99) / scale, 2),
        f"mean_{unit}": round(statistics.fmean(ordered) / scale, 2),
        f"min_{unit}": round(ordered[0] / scale, 2),
    }


def found_fraction(response: dict[str, list[Any]], feature_names: list[str]) -> float:
    """Share of looked-up feature values that are not None (sanity check of the lookups)."""
    values = [v for name in feature_names for v in response[name]]
    return round(sum(v is not None for v in values) / max(1, len(values)), 4)


def found_by_view(
    lookup: Any, rows: list[dict[str, Any]], views: list[_repo.ViewSpec], names: list[str]
) -> dict[str, Any]:
    """Per view: TTL and share of non-None values over ``rows`` (one batch call).

    With data older than a view's TTL, a store that enforced TTL online would
    return nothing for that view; Feast 0.67's Python path returns the values.
    """
    response = lookup(rows)
    out: dict[str, Any] = {}
    i = 0
    for view in views:
        cols = names[i : i + len(view.features)]
        i += len(view.features)
        out[view.name] = {
            "ttl_seconds": view.ttl_seconds,
            "found_fraction": found_fraction(response, cols),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", help="JSON config: a file path or inline JSON")
    parser.add_argument("--lookups", type=int, default=10_000, help="timed single lookups")
    parser.add_argument("--warmup", type=int, default=1_000, help="untimed single lookups")
    parser.add_argument("--batch-sizes", default="100,1000", help="comma-separated")
    parser.add_argument("--batch-repeats", type=int, default=30, help="timed calls per size")
    parser.add_argument(
        "--incremental-fraction",
        type=float,
        default=0.0,
        help="after the full materialize, append this share of rows with "
        "newer timestamps and time materialize_incremental (0 = skip)",
    )
    parser.add_argument(
        "--import-runs",
        type=int,
        default=3,
        help="fresh interpreters timing 'import feast' (0 = skip)",
    )
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    import_seconds = time_import(args.import_runs) if args.import_runs else []

    config = _repo.load_config(args.config)
    batch_sizes = [int(s) for s in args.batch_sizes.split(",") if s.strip()]
    result: dict[str, Any] = {
        "engine": "feast-sqlite",
        "feast_version": _repo.feast_version(),
        "import_seconds": import_seconds,
    }

    import duckdb

    con = duckdb.connect()
    with tempfile.TemporaryDirectory(prefix="feast-online-") as tmp_name:
        tmp = Path(tmp_name)
        views = stage_sources(_repo.parse_views(config), tmp)
        store, service = _repo.build_store(views, tmp / "repo", "duckdb")
        feature_names = [f"{v.name}__{f}" for v in views for f in v.features]
        short_names = [f for v in views for f in v.features]
        result["views"] = len(views)
        result["features"] = len(feature_names)

        stats = [source_stats(con, v) for v in views]
        source_rows = sum(s[0] for s in stats)
        start = min(s[1] for s in stats).replace(tzinfo=UTC) - timedelta(seconds=1)
        end = max(s[2] for s in stats).replace(tzinfo=UTC) + timedelta(seconds=1)

        t0 = time.perf_counter()
        store.materialize(start_date=start, end_date=end)
        seconds = time.perf_counter() - t0
        result["materialize"] = {
            "source_rows": source_rows,
            "seconds": round(seconds, 3),
            "rows_per_second": round(source_rows / seconds),
            "entities_written": entities_written(tmp / "repo" / "online.db", views),
            "peak_rss_mb": _repo.peak_rss_mb(),
        }

        if args.incremental_fraction > 0:
            new_ts = end.replace(tzinfo=None) + timedelta(seconds=1)
            delta_rows = sum(write_delta(con, v, args.incremental_fraction, new_ts) for v in views)
            t0 = time.perf_counter()
            store.materialize_incremental(end_date=end + timedelta(seconds=3))
            seconds = time.perf_counter() - t0
            result["materialize_incremental"] = {
                "delta_rows": delta_rows,
                "source_rows": source_rows + delta_rows,
                "seconds": round(seconds, 3),
                "delta_rows_per_second": round(delta_rows / seconds),
            }

        need = max(args.lookups + args.warmup, max(batch_sizes, default=0))
        entity_rows = sample_entity_rows(config, views, con, need, args.seed)
        con.close()

        def lookup(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
            response: dict[str, list[Any]] = store.get_online_features(
                features=service, entity_rows=rows
            ).to_dict()
            return response

        # The response uses short names unless full_feature_names=True; find which.
        probe = lookup(entity_rows[:1])
        names = feature_names if feature_names[0] in probe else short_names

        for i in range(args.warmup):
            lookup([entity_rows[i % len(entity_rows)]])
        samples = []
        found = 0.0
        for i in range(args.lookups):
            row = entity_rows[(args.warmup + i) % len(entity_rows)]
            t0 = time.perf_counter_ns()
            response = lookup([row])
            samples.append(time.perf_counter_ns() - t0)
            found += found_fraction(response, names)
        if samples:
            result["single"] = summarize(samples, "us")
            result["single"]["found_fraction"] = round(found / len(samples), 4)

        result["found_by_view"] = found_by_view(lookup, entity_rows[:1000], views, names)
        result["now_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
        result["source_max_timestamp"] = str(end.replace(tzinfo=None))

        result["batch"] = {}
        for size in batch_sizes:
            batches = [
                entity_rows[(j * size) % len(entity_rows) :][:size]
                for j in range(args.batch_repeats + 2)
            ]
            batches = [b if len(b) == size else entity_rows[:size] for b in batches]
            for b in batches[:2]:
                lookup(b)
            samples = []
            found = 0.0
            for b in batches[2:]:
                t0 = time.perf_counter_ns()
                response = lookup(b)
                samples.append(time.perf_counter_ns() - t0)
                found += found_fraction(response, names)
            result["batch"][str(size)] = summarize(samples, "ms")
            result["batch"][str(size)]["found_fraction"] = round(found / len(samples), 4)

    result["peak_rss_mb"] = _repo.peak_rss_mb()
    _repo.emit(result)
    return 0


if __name__ == "__main__":
    with contextlib.redirect_stdout(sys.stderr):
        sys.exit(main())
