"""Benchmark: what a training set pays before DuckDB starts (issue 13, target 6).

`training_set` compiles ``pitstop.point_in_time_join`` for every new *shape*
(features, options, spine columns) and caches the SQL on disk per manifest
content. A new shape is rendered without dbt when it can be
(`pitstop.offline.render`: the macros' Jinja from ``manifest.json``, held to
dbt's compile byte for byte by tests/test_render.py), else compiled by dbt.
This measures the compile overhead of one call: the call's wall time minus
the same call once its SQL is cached in the process (which is the spine
handling plus DuckDB's execution). A new shape is made by a spine column of a
fresh random name, so the DuckDB work is the same in every case.

The ``compile s`` column is the part of the first call spent in
``compile_macro`` (cache lookup, renderer or dbt), i.e. the time before DuckDB
starts executing: target 6 asks for <= 0.5 s in a fresh process for a new
shape. The rest of the overhead is a fresh process's first DuckDB query and
Arrow conversions.

Cases, each in a fresh child process (the demo project, built once in the work
directory; the fraud service's features, 17 columns, on a 5,000-row spine):

* ``fresh process, new shape``: what a new process pays today (the renderer);
* ``fresh process, new shape, dbt``: the same with the renderer disabled, the
  path before it: dbt imported and the project parsed by this call;
* ``warmed store, new shape``: ``FeatureStore(warm=True)`` (the default in a
  notebook) had finished its background warm-up when the call came;
* ``warm process, new shape``: another shape was compiled earlier in the process;
* ``any process, seen shape``: the shape was compiled by an earlier process;
* ``full dbt compile``: the path before both, a whole ``dbt compile --inline``
  (parse, compile, write manifest.json) per new shape;
* ``CLI``: ``pitstop training-set`` wall time, new shape minus seen shape.

    .venv/bin/python bench/bench_training_compile.py             # ~2 min
    .venv/bin/python bench/bench_training_compile.py --repeat 1  # quick check
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("dbt_project.yml", "profiles.example.yml", "models", "macros", "seeds", "snapshots")
SERVICE = "fraud_training_set"
SPINE_ROWS = 5000
SEEN_COLUMN = "seen_shape"
TARGET_S = 0.5  # issue 13, target 6: compile overhead of a new shape in a fresh process

# "full" last: its compile rewrites manifest.json, whose new content (a parse's,
# not the build's) empties the disk cache of the shapes compiled before
CASES = {
    "fresh": "fresh process, new shape",
    "fresh-dbt": "fresh process, new shape, dbt (before)",
    "warmed": "warmed store (notebook), new shape",
    "warm": "warm process, new shape",
    "seen": "any process, seen shape",
    "full": "full dbt compile, new shape (before)",
}


def env_for(project: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DBT_SEND_ANONYMOUS_USAGE_STATS="False",
        DO_NOT_TRACK="1",
        MLFLOW_DISABLE_TELEMETRY="true",
        PITSTOP_PROJECT_DIR=str(project),
        PITSTOP_DUCKDB_PATH=str(project / "pitstop.duckdb"),
        DBT_PROFILES_DIR=str(project),
    )
    env.pop("DBT_TARGET_PATH", None)
    return env


def build(workdir: Path, rebuild: bool) -> Path:
    """The demo project copied to ``workdir`` and built (once)."""
    project = workdir / "project"
    if rebuild and project.exists():
        shutil.rmtree(project)
    if (project / "pitstop.duckdb").exists():
        return project
    project.mkdir(parents=True)
    for part in PARTS:
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, project / part, ignore=shutil.ignore_patterns("_ml_models.yml"))
        else:
            shutil.copy2(src, project / part)
    shutil.copy2(ROOT / "profiles.example.yml", project / "profiles.yml")
    code = (
        "from pitstop.project import Project; import sys; "
        "Project(__import__('pathlib').Path(sys.argv[1])).run_dbt("
        "['build', '--exclude', 'resource_type:test'])"
    )
    subprocess.run([sys.executable, "-c", code, str(project)], check=True, env=env_for(project))
    return project


def spine(extra: str) -> Any:
    """A spine of the fraud service's keys with one extra column (the shape)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    start = pd.Timestamp("2025-01-01").value
    end = pd.Timestamp("2025-07-01").value
    return pd.DataFrame(
        {
            "customer_id": rng.integers(2, 501, SPINE_ROWS),
            "merchant_id": rng.integers(1, 61, SPINE_ROWS),
            "feature_at": pd.to_datetime(np.sort(rng.integers(start, end, SPINE_ROWS))),
            extra: np.zeros(SPINE_ROWS, dtype="int64"),
        }
    )


def child(case: str, project: Path) -> None:
    """One measurement in this (fresh) process; prints a JSON line."""
    from pitstop.offline import compile as compile_module
    from pitstop.store import FeatureStore

    if case in ("full", "fresh-dbt"):
        # the paths before the renderer: it gives up, so dbt compiles
        from pitstop.offline import render

        def give_up(*args: Any) -> str:
            raise render.GiveUp("disabled by the benchmark")

        render.render_inline = give_up  # type: ignore[assignment]
    if case == "full":
        # the path before: compile_cached calls a whole `dbt compile --inline`
        fast = compile_module.compile_inline

        def full(project: Any, inline: str) -> str:
            return fast(project, inline, reuse_manifest=False)

        compile_module.compile_inline = full  # type: ignore[assignment]
    # time spent compiling (cache lookup or dbt) inside the measured call
    from pitstop.offline import training

    compiling: list[float] = []
    compile_macro = training.compile_macro

    def timed(*args: Any) -> str:
        started = time.perf_counter()
        try:
            return compile_macro(*args)
        finally:
            compiling.append(time.perf_counter() - started)

    training.compile_macro = timed  # type: ignore[assignment]
    store = FeatureStore(project, warm=case == "warmed")
    store.registry  # noqa: B018 (read before the measured call, as any caller does)
    if case == "warmed":
        # the user reads data and builds the spine meanwhile
        compile_module.warm(store.project).join()
    if case == "warm":
        store.training_set(spine(f"c_{uuid.uuid4().hex}"), service=SERVICE, output="arrow")
    frame = spine(SEEN_COLUMN if case == "seen" else f"c_{uuid.uuid4().hex}")
    compiling.clear()
    started, cpu = time.perf_counter(), time.process_time()
    store.training_set(frame, service=SERVICE, output="arrow")
    first, first_cpu = time.perf_counter() - started, time.process_time() - cpu
    compile_s = sum(compiling)
    dbt_imported = "dbt" in sys.modules
    cached, cached_cpu = [], []
    for _ in range(3):
        started, cpu = time.perf_counter(), time.process_time()
        store.training_set(frame, service=SERVICE, output="arrow")
        cached.append(time.perf_counter() - started)
        cached_cpu.append(time.process_time() - cpu)
    print(
        json.dumps(
            {
                "first": first,
                "cached": statistics.median(cached),
                "cpu": first_cpu - statistics.median(cached_cpu),
                "compile": compile_s,
                "dbt": dbt_imported,
            }
        )
    )


def run_child(case: str, project: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", case, "--project", str(project)],
        check=True,
        capture_output=True,
        text=True,
        env=env_for(project),
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def cli_wall(project: Path, path: Path, out: Path) -> float:
    """Wall time of one `pitstop training-set` command (a fresh process)."""
    pitstop = Path(sys.executable).with_name("pitstop")
    command = [str(pitstop), "training-set", "--spine", str(path), "--service", SERVICE]
    started = time.perf_counter()
    subprocess.run(
        [*command, "--out", str(out)], check=True, capture_output=True, env=env_for(project)
    )
    return time.perf_counter() - started


def load() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (median reported)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/pitstop-bench-training"))
    parser.add_argument("--rebuild", action="store_true", help="copy and build the project again")
    parser.add_argument("--child", choices=sorted(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--project", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.project)
        return
    project = build(args.workdir, args.rebuild)
    run_child("seen", project)  # compiles the seen shape into the disk cache
    print(f"load average before: {load()}\n")
    print(f"training_set compile overhead, {SPINE_ROWS:,}-row spine, service {SERVICE}")
    print(
        f"(median of {args.repeat} fresh child processes; overhead = first call - cached call, "
        "in wall and in CPU time of the process: the CPU time says more on a loaded machine)\n"
    )
    print(
        "| case | compile s | overhead s | overhead CPU s | first call s | cached call s "
        "| dbt imported |"
    )
    print("|---|---:|---:|---:|---:|---:|---|")
    compiles: dict[str, float] = {}
    for case, label in CASES.items():
        runs = [run_child(case, project) for _ in range(args.repeat)]
        first = statistics.median(run["first"] for run in runs)
        cached = statistics.median(run["cached"] for run in runs)
        overhead = statistics.median(run["first"] - run["cached"] for run in runs)
        cpu = statistics.median(run["cpu"] for run in runs)
        compiles[case] = compile_s = statistics.median(run["compile"] for run in runs)
        imported = "yes" if any(run["dbt"] for run in runs) else "no"
        print(
            f"| {label} | {compile_s:.3f} | {overhead:.3f} | {cpu:.3f} | {first:.3f} "
            f"| {cached:.3f} | {imported} |"
        )
    fresh = compiles["fresh"]
    verdict = "met" if fresh <= TARGET_S else "NOT met"
    print(
        f"\ntarget 6: a fresh process's compile of a new shape {fresh:.3f} s against "
        f"<= {TARGET_S} s: {verdict} ({compiles['fresh-dbt'] / fresh:.1f}x less than "
        f"through dbt, {compiles['fresh-dbt']:.3f} s)"
    )
    print(f"\nload average: {load()}\n")

    spines = args.workdir / "spines"
    spines.mkdir(exist_ok=True)
    seen_path = spines / "seen.parquet"
    spine(SEEN_COLUMN).to_parquet(seen_path, index=False)
    out = spines / "out.parquet"
    cli_wall(project, seen_path, out)  # the seen shape is compiled
    new, seen = [], []
    for _ in range(args.repeat):
        path = spines / "new.parquet"
        spine(f"c_{uuid.uuid4().hex}").to_parquet(path, index=False)
        new.append(cli_wall(project, path, out))
        seen.append(cli_wall(project, seen_path, out))
    print("| `pitstop training-set` (fresh process) | wall s |")
    print("|---|---:|")
    print(f"| new shape | {statistics.median(new):.3f} |")
    print(f"| seen shape | {statistics.median(seen):.3f} |")
    overhead = statistics.median(new) - statistics.median(seen)
    print(f"| compile overhead (new - seen) | {overhead:.3f} |")
    print(f"\nload average after: {load()}")


if __name__ == "__main__":
    main()
