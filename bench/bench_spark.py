"""Spark ``local[*]`` against DuckDB: the point-in-time join and materialize.

The same generated data (``python -m pitstop.datagen``, Parquet) feeds a copy
of the demo project built twice with dbt: on the ``ci`` target (DuckDB) and on
the ``spark`` target (dbt-spark, session method, ``local[*]``), both with
``pitstop_data: parquet``. Then, per engine, one subprocess runs the Python
package exactly as a user would:

* ``pit``: ``FeatureStore.training_set`` with the generated transactions as
  the spine (every transaction, so the spine has as many rows as the scale's
  transactions: 1M or 10M) and the features of the four event feature views,
  collected as Arrow;
* ``materialize``: a full ``FeatureStore.materialize`` of every online view
  into a fresh SQLite online store.

Reported per engine and size: wall seconds of each step (and of the dbt
build, separately), the peak RSS of the whole process tree (Python, and the
JVM on Spark; sampled every 0.2 s from /proc), and the load average before
and after, because on a shared machine those numbers mean little without it.

Usage (the README's command; the lead runs it, on a quiet machine)::

    .venv/bin/python bench/bench_spark.py --work /tmp/sparkbench            # 1m and 10m
    .venv/bin/python bench/bench_spark.py --work /tmp/sparkbench --quick    # seed scale, smoke

Results: a Markdown table on stdout and ``<work>/results.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = sys.executable
DBT = str(Path(sys.executable).with_name("dbt"))
FEATURES = [
    "customer_profile",
    "customer_transaction_windows",
    "merchant_daily_stats",
    "merchant_chargeback_windows",
]
AS_OF = "2025-07-01T00:00:00"
PROJECT_PARTS = (
    "dbt_project.yml",
    "packages.yml",
    "selectors.yml",
    "macros",
    "models",
    "seeds",
    "snapshots",
    "tests",
    "analyses",
)


def _env(work: Path, **extra: str) -> dict[str, str]:
    """Telemetry off, Spark on loopback, each engine's files under ``work``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "PITSTOP_"))}
    env.update(
        DBT_SEND_ANONYMOUS_USAGE_STATS="False",
        DO_NOT_TRACK="1",
        MLFLOW_DISABLE_TELEMETRY="true",
        SPARK_LOCAL_IP="127.0.0.1",
        DBT_PROFILES_DIR=str(work / "project"),
        PITSTOP_SPARK_DIR=str(work / "project" / "target" / "spark"),
        PITSTOP_DUCKDB_PATH=str(work / "project" / "target" / "ci.duckdb"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    env.update(extra)
    return env


def _tree_rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants, MiB."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss[int(entry.name)] = int(line.split()[1])
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += rss.get(current, 0)
        stack.extend(children.get(current, []))
    return total / 1024


def run(args: list[str], env: dict[str, str], cwd: Path, log: Path) -> dict[str, Any]:
    """Run a command; its wall seconds and the peak RSS of its process tree."""
    started = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    peak = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_mib(proc.pid))
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    returncode = proc.wait()
    done.set()
    sampler.join()
    seconds = time.perf_counter() - started
    if returncode != 0:
        tail = log.read_text(errors="replace")[-4000:]
        raise SystemExit(f"{' '.join(args[:3])} failed (exit {returncode}); {log}:\n{tail}")
    return {"seconds": round(seconds, 2), "peak_rss_mib": round(peak, 1)}


def prepare(work: Path, scale: str) -> Path:
    """Generated data and a copy of the project reading it (built by neither yet)."""
    data = work / "data" / scale
    if not (data / "transactions").is_dir():
        subprocess.run(
            [PYTHON, "-m", "pitstop.datagen", "--scale", scale, "--out", str(data)],
            check=True,
            env=_env(work),
        )
    project = work / "project"
    if project.exists():
        shutil.rmtree(project)
    project.mkdir(parents=True)
    for part in PROJECT_PARTS:
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, project / part)
        elif src.exists():
            shutil.copy2(src, project / part)
    shutil.copy2(ROOT / "profiles.example.yml", project / "profiles.yml")
    return data


def build(work: Path, data: Path, engine: str, log: Path) -> dict[str, Any]:
    """``dbt build`` of the demo on ``engine``'s target over the Parquet data."""
    target = "spark" if engine == "spark" else "ci"
    dbt_vars = json.dumps({"pitstop_data": "parquet", "pitstop_parquet_dir": str(data)})
    args = [DBT, "build", "--target", target, "--target-path", f"target/{target}-dbt"]
    args += ["--vars", dbt_vars]
    if engine == "spark":
        # snapshots need Delta/Iceberg on Spark: the target's default selection
        args += ["--selector", "spark_without_snapshots"]
    else:
        args += ["--exclude", "resource_type:test", "resource_type:unit_test"]
    return run(args, _env(work), work / "project", log)


def child(engine: str, step: str, work: Path, data: Path) -> None:
    """One step in its own process (so RSS and start-up are the step's own)."""
    from pitstop import FeatureStore

    target = "spark" if engine == "spark" else "ci"
    store = FeatureStore(work / "project", target=target)
    started = time.perf_counter()
    if step == "pit":
        spine: Any = (
            str(data / "transactions")
            if engine == "spark"
            else f"select transaction_id, customer_id, merchant_id, transacted_at from "
            f"read_parquet('{data / 'transactions'}/*.parquet')"
        )
        if engine == "spark":
            from pitstop.offline.spark import spark_session

            # the spine as the same four columns
            spark_session(store.project).read.parquet(spine).select(
                "transaction_id", "customer_id", "merchant_id", "transacted_at"
            ).write.mode("overwrite").parquet(str(work / "spine.parquet"))
            spine = str(work / "spine.parquet")
        started = time.perf_counter()
        table = store.training_set(
            spine, features=FEATURES, spine_timestamp="transacted_at", output="arrow"
        )
        rows = table.num_rows
    else:
        result = store.materialize(as_of=datetime.fromisoformat(AS_OF), full_refresh=True)
        rows = result.rows_read
    print(json.dumps({"rows": rows, "step_seconds": round(time.perf_counter() - started, 2)}))


def bench(work: Path, scale: str, engines: list[str]) -> list[dict[str, Any]]:
    data = prepare(work, scale)
    results = []
    for engine in engines:
        target = "spark" if engine == "spark" else "ci"
        load_before = os.getloadavg()
        built = build(work, data, engine, work / f"{scale}-{engine}-build.log")
        record: dict[str, Any] = {"scale": scale, "engine": engine, "build": built}
        for step in ("pit", "materialize"):
            log = work / f"{scale}-{engine}-{step}.log"
            env = _env(
                work,
                DBT_TARGET_PATH=f"target/{target}-dbt",
                PITSTOP_ONLINE_STORE=f"sqlite:{work / f'online-{engine}.sqlite'}",
            )
            args = [PYTHON, __file__, "--child", engine, step, "--work", str(work)]
            args += ["--data", str(data)]
            measured = run(args, env, ROOT, log)
            lines = [x for x in log.read_text().splitlines() if x.startswith("{")]
            measured.update(json.loads(lines[-1]) if lines else {})
            record[step] = measured
        record["load_before"] = [round(x, 2) for x in load_before]
        record["load_after"] = [round(x, 2) for x in os.getloadavg()]
        results.append(record)
        with (work / "results.jsonl").open("a") as out:
            out.write(json.dumps(record) + "\n")
        print(json.dumps(record), flush=True)
    return results


def markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        "| scale | engine | dbt build s | PIT rows | PIT s | PIT peak RSS MiB "
        "| materialize rows | materialize s | materialize peak RSS MiB | load avg before/after |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        pit, mat = r["pit"], r["materialize"]
        lines.append(
            f"| {r['scale']} | {r['engine']} | {r['build']['seconds']} | {pit.get('rows')} "
            f"| {pit.get('step_seconds')} | {pit['peak_rss_mib']} | {mat.get('rows')} "
            f"| {mat.get('step_seconds')} | {mat['peak_rss_mib']} "
            f"| {r['load_before'][0]} / {r['load_after'][0]} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="scratch folder")
    parser.add_argument("--quick", action="store_true", help="the seed scale only (smoke run)")
    parser.add_argument("--scales", nargs="+", default=["1m", "10m"])
    parser.add_argument("--engines", nargs="+", default=["duckdb", "spark"])
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "STEP"), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    work = args.work.resolve()
    if args.child:
        child(args.child[0], args.child[1], work, args.data)
        return 0
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(ROOT / "scripts" / "ensure-java.sh")], check=True)
    print(f"load average at start: {os.getloadavg()}; cores: {os.cpu_count()}", flush=True)
    results = []
    for scale in ["seed"] if args.quick else args.scales:
        results += bench(work, scale, args.engines)
    print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
