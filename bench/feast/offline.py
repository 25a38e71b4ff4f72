"""Feast 0.67 reference: point-in-time training set with ``get_historical_features``.

Runs inside ``bench/.feast-venv`` (see ``setup.sh``); imports nothing from
pitstop. Builds a throwaway Feast repository from the JSON config, reads the
spine Parquet into pandas (Feast's ``entity_df`` must be a DataFrame for the
duckdb and file stores), times ``get_historical_features(...).to_arrow()``,
writes the result Parquet and prints one JSON line on stdout.

Usage::

    bench/.feast-venv/bin/python bench/feast/offline.py CONFIG.json \
        [--store duckdb|file] [--out OUT.parquet]

``CONFIG`` is a file path or inline JSON; the schema is in ``README.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

import _repo  # sets FEAST_USAGE / DO_NOT_TRACK before feast is imported


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", help="JSON config: a file path or inline JSON")
    parser.add_argument(
        "--store",
        choices=["duckdb", "file"],
        help="offline store (default: config 'store' or duckdb)",
    )
    parser.add_argument("--out", help="output Parquet (default: config 'output')")
    parser.add_argument(
        "--fetch",
        choices=["arrow", "df"],
        default="arrow",
        help="RetrievalJob.to_arrow() (default) or .to_df()",
    )
    args = parser.parse_args(argv)

    config = _repo.load_config(args.config)
    store_kind = args.store or config.get("store") or "duckdb"
    out = args.out or config.get("output")
    spine_path = str(_repo._require(config, "spine", "config"))
    ts_col = config.get("spine_timestamp_column") or "event_timestamp"
    full_names = bool(config.get("full_feature_names", True))
    filter_created = bool(config.get("filter_by_created_timestamp", False))
    views = _repo.parse_views(config)

    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory(prefix="feast-offline-") as tmp:
        t0 = time.perf_counter()
        store, service = _repo.build_store(views, Path(tmp), store_kind)
        setup_seconds = time.perf_counter() - t0

        t0 = time.perf_counter()
        spine = ds.dataset(_repo._expand(spine_path), format="parquet").to_table().to_pandas()
        if ts_col != "event_timestamp":
            spine = spine.rename(columns={ts_col: "event_timestamp"})
        spine_seconds = time.perf_counter() - t0

        t0 = time.perf_counter()
        job = store.get_historical_features(
            entity_df=spine,
            features=service,
            full_feature_names=full_names,
            filter_by_created_timestamp=filter_created,
        )
        if args.fetch == "arrow":
            result = job.to_arrow()
        else:
            result = pa.Table.from_pandas(job.to_df(), preserve_index=False)
        seconds = time.perf_counter() - t0

        if ts_col != "event_timestamp":
            result = result.rename_columns(
                [ts_col if c == "event_timestamp" else c for c in result.column_names]
            )
        write_seconds = 0.0
        if out:
            t0 = time.perf_counter()
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(result, out)
            write_seconds = time.perf_counter() - t0

    _repo.emit(
        {
            "engine": f"feast-{store_kind}",
            "feast_version": _repo.feast_version(),
            "seconds": round(seconds, 3),
            "rows": result.num_rows,
            "spine_rows": len(spine),
            "peak_rss_mb": _repo.peak_rss_mb(),
            "columns": result.column_names,
            "output": out,
            "setup_seconds": round(setup_seconds, 3),
            "spine_read_seconds": round(spine_seconds, 3),
            "write_seconds": round(write_seconds, 3),
        }
    )
    return 0


if __name__ == "__main__":
    with contextlib.redirect_stdout(sys.stderr):
        sys.exit(main())
