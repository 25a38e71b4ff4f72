"""Benchmark: registry load and one feature's column lineage on a big project.

The issue's targets, for a generated project of 500 feature views x 20
features (``--views 500 --features 20``, the default):

* loading the registry takes under 1 s when the manifest is fresh, with no
  dbt invocation (`Registry.load`: staleness check, manifest, catalog, validation);
* the lineage of one feature takes under 1 s after one cached pass
  (`LineageGraph.load` reading ``target/pitstop_lineage.json``, then the tree).

The generated project is one seed of events, a staging model and the views;
each view mixes plain expressions, a CTE, a `select *` and window functions,
so the tracer does real work. Setup (`dbt compile`, minutes at
full size) is not timed. Each timed step runs in a fresh Python process too,
so the cold numbers include the imports a CLI call pays.

    .venv/bin/python bench/bench_registry.py                       # 500 x 20
    .venv/bin/python bench/bench_registry.py --views 20 --features 5   # quick check
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
os.environ.setdefault("DO_NOT_TRACK", "1")


def generate(work: Path, views: int, features: int) -> Path:
    """Write the generated dbt project under ``work/project``; its root."""
    root = work / "project"
    if root.exists():
        shutil.rmtree(root)
    (root / "models" / "features").mkdir(parents=True)
    (root / "seeds").mkdir()
    (root / "dbt_project.yml").write_text(
        "name: bench\nversion: '1.0.0'\nconfig-version: 2\nprofile: bench\n"
        "flags:\n  send_anonymous_usage_stats: false\n"
        "models:\n  bench:\n    +materialized: view\n"
        "vars:\n  pitstop_entities:\n    item:\n      keys:\n"
        "        - {name: item_id, type: bigint}\n"
    )
    (root / "profiles.yml").write_text(
        "bench:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {root / 'bench.duckdb'}\n      threads: 2\n"
    )
    rows = ["item_id,event_at,v1,v2,v3"] + [
        f"{i % 7},2025-01-0{1 + i % 9} 00:00:00,{i},{i * 2},{i % 3}" for i in range(20)
    ]
    (root / "seeds" / "raw_events.csv").write_text("\n".join(rows) + "\n")
    (root / "models" / "stg_events.sql").write_text(
        "with source as (select * from {{ ref('raw_events') }})\n"
        "select cast(item_id as bigint) as item_id, cast(event_at as timestamp) as event_at,\n"
        "    cast(v1 as double) as v1, cast(v2 as double) as v2, cast(v3 as double) as v3\n"
        "from source\n"
    )
    (root / "models" / "_groups.yml").write_text(
        "version: 2\ngroups:\n  - name: bench\n    owner: {email: bench@example.com}\n"
    )
    for v in range(views):
        name = f"fv_{v:04d}"
        exprs = []
        for f in range(features):
            column = f"f_{v:04d}_{f:02d}"
            kind = f % 4
            if kind == 0:
                exprs.append(f"v1 * {f + 1} + v2 as {column}")
            elif kind == 1:
                exprs.append(
                    f"sum(v{1 + f % 3}) over (partition by item_id order by event_at) as {column}"
                )
            elif kind == 2:
                exprs.append(f"coalesce(v3, 0) - {f} as {column}")
            else:
                exprs.append(f"count(*) over w as {column}")
        body = ",\n        ".join(exprs)
        (root / "models" / "features" / f"{name}.sql").write_text(
            f"with events as (\n    select * from {{{{ ref('stg_events') }}}}\n),\n"
            f"final as (\n    select\n        item_id,\n        event_at,\n        {body}\n"
            "    from events\n    window w as (partition by item_id order by event_at)\n)\n"
            "select * from final\n"
        )
        columns = "\n".join(
            f"      - name: f_{v:04d}_{f:02d}\n        description: Feature {f}.\n"
            "        data_type: double"
            for f in range(features)
        )
        (root / "models" / "features" / f"{name}.yml").write_text(
            "version: 2\nmodels:\n"
            f"  - name: {name}\n    description: Generated view {v}.\n"
            "    config:\n      group: bench\n      tags: [bench]\n      meta:\n"
            "        pitstop:\n          entity: item\n          timestamp: event_at\n"
            "          ttl: 7d\n          online: true\n"
            "    columns:\n      - name: item_id\n        description: Key.\n"
            "        data_type: bigint\n      - name: event_at\n        description: Time.\n"
            f"        data_type: timestamp\n{columns}\n"
        )
    return root


def dbt(root: Path, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "--quiet", *args],
        cwd=root,
        env={**os.environ, "DBT_PROFILES_DIR": str(root)},
        check=True,
    )
    return time.perf_counter() - started


# run in a fresh interpreter: (wall seconds of the step, JSON detail)
CHILD = r"""
import json, sys, time
started = time.perf_counter()
from pathlib import Path
from pitstop.project import Project
project = Project(Path(sys.argv[1]))
step = sys.argv[2]
if step == "registry":
    from pitstop.registry import Registry
    stale = project.manifest_is_stale()
    t0 = time.perf_counter()
    registry = Registry.load(project, parse_if_stale=False)
    took = time.perf_counter() - t0
    detail = {"views": len(registry.views), "stale_manifest": stale}
else:
    from pitstop.registry.lineage import LineageGraph
    t0 = time.perf_counter()
    graph = LineageGraph.load(project, compile_if_needed=False)
    (tree,) = graph.feature(sys.argv[3])
    took = time.perf_counter() - t0
    detail = {"upstream": len(tree.upstream), "roots": len(tree.roots())}
print(json.dumps({"in_process": took, "cold": time.perf_counter() - started, **detail}))
"""


def child(root: Path, *args: str) -> dict[str, float]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "DBT_PROFILES_DIR": str(root), "PITSTOP_PROJECT_DIR": str(root)},
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    result["process"] = time.perf_counter() - started
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=int, default=500)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--work", type=Path, default=Path("/tmp/pitstop-bench-registry"))
    args = parser.parse_args()

    args.work.mkdir(parents=True, exist_ok=True)
    root = generate(args.work, args.views, args.features)
    setup = {"dbt compile": dbt(root, "compile")}
    manifest = root / "target" / "manifest.json"

    from pitstop.project import Project
    from pitstop.registry.lineage import CACHE_FILE, LineageGraph

    project = Project(root)
    assert not project.manifest_is_stale(), "the manifest must be fresh: no dbt call is timed"
    (project.target_path / CACHE_FILE).unlink(missing_ok=True)
    started = time.perf_counter()
    LineageGraph.load(project, compile_if_needed=False)
    first_pass = time.perf_counter() - started

    middle = args.views // 2
    feature = f"fv_{middle:04d}:f_{middle:04d}_{max(args.features - 3, 0):02d}"
    registry_runs = [child(root, "registry") for _ in range(args.repeat)]
    lineage_runs = [child(root, "lineage", feature) for _ in range(args.repeat)]
    assert all(not r["stale_manifest"] for r in registry_runs)

    def median(runs: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in runs)

    registry_s = median(registry_runs, "in_process")
    lineage_s = median(lineage_runs, "in_process")
    print(f"# Registry benchmark: {args.views} views x {args.features} features\n")
    print(
        f"{platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; manifest {manifest.stat().st_size / 1e6:.1f} MB, "
        f"lineage cache {(project.target_path / CACHE_FILE).stat().st_size / 1e6:.1f} MB; "
        f"median of {args.repeat} fresh processes.\n"
    )
    print("| step | in process | cold process (imports included) | target |")
    print("|---|---|---|---|")
    print(
        f"| registry load (fresh manifest, no dbt) | {registry_s:.3f} s | "
        f"{median(registry_runs, 'process'):.3f} s | < 1 s: "
        f"{'met' if registry_s < 1 else 'MISSED'} |"
    )
    print(
        f"| one feature's lineage, cached (`{feature}`) | {lineage_s:.3f} s | "
        f"{median(lineage_runs, 'process'):.3f} s | < 1 s: "
        f"{'met' if lineage_s < 1 else 'MISSED'} |"
    )
    print(f"| first lineage pass (not a target) | {first_pass:.1f} s | | |")
    print()
    print("Setup, not timed: " + ", ".join(f"{k} {v:.0f} s" for k, v in setup.items()) + ".")


if __name__ == "__main__":
    main()
