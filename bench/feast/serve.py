"""Feast 0.67 reference for the HTTP benchmark: a materialized repository that
``feast serve`` can serve.

Runs inside ``bench/.feast-venv`` (see ``setup.sh``); imports nothing from
pitstop. Registers the config's views (``_repo.build_store``) in
``REPO_DIR``, materializes their whole time range into the SQLite online
store, and writes a ``feature_store.yaml`` pointing at the same registry and
online store, so that the stock CLI serves it::

    bench/.feast-venv/bin/python bench/feast/serve.py CONFIG.json REPO_DIR
    bench/.feast-venv/bin/feast -c REPO_DIR serve -h 127.0.0.1 -p 6566 --no-access-log

Prints one JSON line: the repository, the project, the feature references
(``view:feature``) and the materialize time.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from datetime import UTC, timedelta
from pathlib import Path

import _repo  # sets FEAST_USAGE / DO_NOT_TRACK before feast is imported


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", help="JSON config: a file path or inline JSON")
    parser.add_argument("repo", help="directory for the Feast repository (created)")
    args = parser.parse_args(argv)

    import duckdb

    config = _repo.load_config(args.config)
    views = _repo.parse_views(config)
    repo = Path(args.repo).resolve()
    store, _service = _repo.build_store(views, repo, "duckdb")

    con = duckdb.connect()
    ranges = [
        con.execute(
            f'select min("{v.timestamp_column}"), max("{v.timestamp_column}") '
            f"from read_parquet('{v.path}')"
        ).fetchall()[0]
        for v in views
    ]
    con.close()
    start = min(lo for lo, _ in ranges).replace(tzinfo=UTC) - timedelta(seconds=1)
    end = max(hi for _, hi in ranges).replace(tzinfo=UTC) + timedelta(seconds=1)
    began = time.perf_counter()
    store.materialize(start_date=start, end_date=end)
    seconds = time.perf_counter() - began

    (repo / "feature_store.yaml").write_text(
        f"project: {_repo.PROJECT}\n"
        "provider: local\n"
        "registry:\n"
        f"  path: {repo / 'registry.db'}\n"
        "online_store:\n"
        "  type: sqlite\n"
        f"  path: {repo / 'online.db'}\n"
        "offline_store:\n"
        "  type: duckdb\n"
        "entity_key_serialization_version: 3\n"
    )
    _repo.emit(
        {
            "engine": "feast-serve",
            "feast_version": _repo.feast_version(),
            "repo": str(repo),
            "project": _repo.PROJECT,
            "features": _repo.feature_refs(views),
            "materialize_seconds": round(seconds, 3),
        }
    )
    return 0


if __name__ == "__main__":
    with contextlib.redirect_stdout(sys.stderr):
        sys.exit(main())
