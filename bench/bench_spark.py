"""Spark ``local[*]`` against DuckDB: the point-in-time join and materialize.

Both engines answer the same two calls on the same data:

* ``pit``: ``FeatureStore.training_set`` with the generated transactions as
  the spine (every transaction: 100k, 1M or 10M spine rows) and the features
  of the four event feature views, collected as Arrow;
* ``materialize``: a full ``FeatureStore.materialize`` of the five online
  views both targets have into a fresh SQLite online store.

The data: ``python -m pitstop.datagen`` writes Parquet, a copy of the demo
builds the feature views from it with dbt on DuckDB (target ``ci``, timed as
``build``), and the bench exports those five feature tables as Parquet. On
Spark the same files become tables of the Spark metastore (``create table
... using parquet location``, timed as ``load``), next to a manifest from
``dbt parse --target spark``: both engines then read identical feature rows,
and Spark never loads data through dbt-spark's seed ``INSERT``s.

Why not ``dbt build --target spark`` of the features by default: it times
dbt-spark and the window features, not the two calls. ``--spark-build``
builds them on Spark instead of the load, with ``int_transactions_windowed``
(the as-of-transaction windows on datagen's Pareto-skewed customers: one
holds 2.6 % of all transactions), and reports each window model's own
seconds from dbt's run_results.json, on DuckDB too. With the range-join form
that model alone ran past 13 minutes at 1M rows on 2 cores; Spark now uses
the buckets form (``spark__window_aggregates``: running prefix and suffix
frames per bucket of each window's length, O(n log n) per customer).

``--online redis`` adds a ``materialize_redis`` step: a full materialize of
one view with an entity per transaction (``bench_transaction_latest``, written
into the bench's copy of the project: 1M entities at the 1m scale, 10M at
10m) into a real ``redis-server`` the bench starts (``bench_online``'s
``start_redis``) and stops per run. Reported: seconds, rows/s, the peak RSS of
the Python driver alone (``ru_maxrss``), the JVM's peak RSS (VmHWM) and peak
heap in use (MemoryPoolMXBeans), and Redis ``INFO memory`` (used_memory_peak,
used_memory, both per entity): run it at two scales to see the driver stay
flat while Redis grows with the entities.

Spark runs with the profile's settings (4 shuffle partitions, AQE on by
default, constraint propagation off) and ``PITSTOP_SPARK_DRIVER_MEMORY`` /
``PITSTOP_SPARK_MAX_RESULT_SIZE`` from ``--spark-memory`` (default 6g: the
training set is collected to Python whole, as on DuckDB).

Reported per engine and size: wall seconds of each step (the step's own
``step_seconds``, and the process's, which include Python and Spark start-up),
the peak RSS of the whole process tree (Python, and the JVM on Spark; sampled
every 0.2 s from /proc), and the 1-minute load average before and after each
step, because on a shared machine those numbers mean little without it.

Usage (the README's command; the lead runs 1m and 10m, on a quiet machine)::

    .venv/bin/python bench/bench_spark.py --work /tmp/sparkbench --scales 1m 10m
    .venv/bin/python bench/bench_spark.py --work /tmp/sparkbench --quick  # 100k, smoke
    .venv/bin/python bench/bench_spark.py --work /tmp/sparkbench --scales 1m 10m \
        --engines spark --steps --online redis   # Redis memory alone
    .venv/bin/python bench/bench_spark.py --work /tmp/sparkbench --scales 1m \
        --engines duckdb spark --spark-build --steps   # the window models' build

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
# the online views of both targets (merchant_risk_snapshot needs a dbt snapshot,
# which Spark cannot run here; merchant_risk_history is its stand-in)
ONLINE = FEATURES
AS_OF = "2025-07-01T00:00:00"
# --online redis: a view with one entity per transaction, added to the bench's
# copy of the project (no TTL, so every transaction is an entity to write)
BIG_VIEW = "bench_transaction_latest"
BIG_VIEW_SQL = """select
    transaction_id,
    customer_id,
    merchant_id,
    amount,
    currency,
    transacted_at,
    ingested_at
from {{ ref('stg_payments__transactions') }}
"""
BIG_VIEW_YML = f"""version: 2

models:
  - name: {BIG_VIEW}
    description: Bench only. Each transaction's own amount, merchant and customer.
    config:
      meta:
        pitstop:
          entity: transaction
          timestamp: transacted_at
          created_timestamp: ingested_at
          online: true
          owner: bench
    columns:
      - {{name: transaction_id, data_type: bigint}}
      - {{name: customer_id, data_type: bigint}}
      - {{name: merchant_id, data_type: bigint}}
      - {{name: amount, data_type: double}}
      - {{name: currency, data_type: string}}
      - {{name: transacted_at, data_type: timestamp}}
      - {{name: ingested_at, data_type: timestamp}}
"""
# the window models whose dbt build seconds are reported (run_results.json)
WINDOW_MODELS = (
    "int_transactions_windowed",
    "customer_transaction_windows",
    "merchant_chargeback_windows",
)
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
        PITSTOP_SPARK_DRIVER_MEMORY=os.environ.get("BENCH_SPARK_MEMORY", "6g"),
        PITSTOP_SPARK_MAX_RESULT_SIZE="0",
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
    """Run a command; its wall seconds, the peak RSS of its process tree and
    the 1-minute load average before and after."""
    load_before = os.getloadavg()[0]
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
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mib": round(peak, 1),
        "load": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def prepare(work: Path, scale: str, big_view: bool) -> Path:
    """Generated data and a copy of the project reading it (built by neither
    yet), with the per-transaction view when ``big_view``."""
    data = work / "data" / scale
    if not (data / "chargebacks").is_dir():
        subprocess.run(
            [PYTHON, "-m", "pitstop.datagen", "--scale", scale, "--out", str(data)],
            check=True,
            env=_env(work),
        )
    project = work / "project"
    if (project / "target" / "spark" / "metastore_db" / "db.lck").exists():
        # a Derby lock left behind would stop Spark from starting
        (project / "target" / "spark" / "metastore_db" / "db.lck").unlink()
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
    if big_view:
        folder = project / "models" / "features" / "bench"
        folder.mkdir(parents=True)
        (folder / f"{BIG_VIEW}.sql").write_text(BIG_VIEW_SQL)
        (folder / f"{BIG_VIEW}.yml").write_text(BIG_VIEW_YML)
    return data


def _vars(data: Path) -> str:
    return json.dumps({"pitstop_data": "parquet", "pitstop_parquet_dir": str(data)})


def _model_seconds(target_dir: Path) -> dict[str, float]:
    """Each window model's own execution seconds in dbt's last run."""
    results = json.loads((target_dir / "run_results.json").read_text())["results"]
    return {
        r["unique_id"].rsplit(".", 1)[1]: round(r["execution_time"], 2)
        for r in results
        if r["unique_id"].rsplit(".", 1)[1] in WINDOW_MODELS
    }


def duckdb_build(work: Path, data: Path, log: Path) -> dict[str, Any]:
    """``dbt build`` of the demo's models on DuckDB over the Parquet data."""
    args = [DBT, "build", "--target", "ci", "--target-path", "target/ci-dbt"]
    args += ["--vars", _vars(data), "--exclude", "resource_type:test", "resource_type:unit_test"]
    measured = run(args, _env(work), work / "project", log)
    measured["models"] = _model_seconds(work / "project" / "target" / "ci-dbt")
    return measured


def export_tables(work: Path, scale: str, names: list[str]) -> Path:
    """The DuckDB build's online feature tables as Parquet folders (files of
    about 32 MB, so that Spark reads each table in several splits)."""
    import duckdb

    out = work / "tables" / scale
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    con = duckdb.connect(str(work / "project" / "target" / "ci.duckdb"), read_only=True)
    try:
        for name in names:
            target = str(out / name).replace("'", "''")
            con.execute(
                f"copy (select * from main.{name}) to '{target}' "
                "(format parquet, file_size_bytes '32MB')"
            ).fetchall()
    finally:
        con.close()
    return out


def spark_parse(work: Path, data: Path, log: Path) -> dict[str, Any]:
    """The Spark target's manifest (relation names ``pitstop.<view>``), no build."""
    args = [DBT, "parse", "--target", "spark", "--target-path", "target/spark-dbt"]
    args += ["--vars", _vars(data)]
    return run(args, _env(work), work / "project", log)


def spark_build(work: Path, data: Path, log: Path, names: list[str]) -> dict[str, Any]:
    """``dbt build`` on Spark of the views ``names``, int_transactions_windowed
    and what they read (see the module docstring)."""
    args = [DBT, "build", "--target", "spark", "--target-path", "target/spark-dbt"]
    selected = [*names, "int_transactions_windowed"]
    args += ["--vars", _vars(data), "--select", *(f"+{v}" for v in selected)]
    args += ["--exclude", "resource_type:test", "resource_type:unit_test", "resource_type:seed"]
    measured = run(args, _env(work), work / "project", log)
    measured["models"] = _model_seconds(work / "project" / "target" / "spark-dbt")
    return measured


def _peak_rss_mib(pid: int | str) -> float:
    """A process's peak RSS (``VmHWM``), MiB. Not getrusage's ``ru_maxrss``:
    Linux carries a forked parent's peak across exec into the child's
    ``ru_maxrss``, so it reported the bench's own 1.4 GiB for a child that never
    held more than 0.4 GiB."""
    hwm = next(
        line
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmHWM:")
    )
    return round(int(hwm.split()[1]) / 1024, 1)


def _memory(store: Any, engine: str) -> dict[str, Any]:
    """This process's peak RSS (the Python driver alone) and, on Spark, the
    JVM's: its peak RSS and the sum of its heap pools' peak use."""
    out: dict[str, Any] = {"driver_peak_rss_mib": _peak_rss_mib("self")}
    if engine == "spark":
        from pitstop.offline.spark import spark_session

        jvm = spark_session(store.project)._jvm
        out["jvm_peak_rss_mib"] = _peak_rss_mib(int(jvm.java.lang.ProcessHandle.current().pid()))
        pools = jvm.java.lang.management.ManagementFactory.getMemoryPoolMXBeans()
        heap = sum(
            int(pool.getPeakUsage().getUsed())
            for pool in pools
            if str(pool.getType()) == "Heap memory"
        )
        out["jvm_peak_heap_mib"] = round(heap / 2**20, 1)
    return out


def child(engine: str, step: str, work: Path, data: Path) -> None:
    """One step in its own process (so RSS and start-up are the step's own)."""
    from pitstop import FeatureStore

    target = "spark" if engine == "spark" else "ci"
    store = FeatureStore(work / "project", target=target)
    if step == "load":
        from pitstop.offline.spark import spark_session

        session = spark_session(store.project)
        started = time.perf_counter()
        session.sql("create database if not exists pitstop")
        rows = 0
        for name in sorted(p.name for p in data.iterdir() if p.is_dir()):
            folder = str(data / name).replace("`", "")
            session.sql(f"drop table if exists pitstop.{name}")
            session.sql(f"create table pitstop.{name} using parquet location '{folder}'")
            rows += session.table(f"pitstop.{name}").count()
        print(json.dumps({"rows": rows, "step_seconds": round(time.perf_counter() - started, 2)}))
        return
    started = time.perf_counter()
    if step == "pit":
        transactions = data / "transactions"
        spine: Any = (
            f"select transaction_id, customer_id, merchant_id, transacted_at from "
            f"read_parquet('{transactions}/*.parquet')"
        )
        if engine == "spark":
            from pitstop.offline.spark import spark_session

            # the spine as the same four columns, untimed
            spark_session(store.project).read.parquet(str(transactions)).select(
                "transaction_id", "customer_id", "merchant_id", "transacted_at"
            ).write.mode("overwrite").parquet(str(work / "spine.parquet"))
            spine = str(work / "spine.parquet")
        started = time.perf_counter()
        table = store.training_set(
            spine, features=FEATURES, spine_timestamp="transacted_at", output="arrow"
        )
        rows = table.num_rows
        extra: dict[str, Any] = {}
    else:
        result = store.materialize(
            select=[BIG_VIEW] if step == "materialize_redis" else ONLINE,
            as_of=datetime.fromisoformat(AS_OF),
            full_refresh=True,
        )
        rows = result.rows_read
        extra = {"entities": result.entities_written}
    seconds = time.perf_counter() - started
    extra.update(_memory(store, engine))
    print(json.dumps({"rows": rows, "step_seconds": round(seconds, 2), **extra}))


def _child(
    work: Path, data: Path, engine: str, step: str, log: Path, online: str | None = None
) -> dict[str, Any]:
    target = "spark" if engine == "spark" else "ci"
    env = _env(
        work,
        DBT_TARGET_PATH=f"target/{target}-dbt",
        PITSTOP_ONLINE_STORE=online or f"sqlite:{work / f'online-{engine}.sqlite'}",
    )
    args = [PYTHON, __file__, "--child", engine, step, "--work", str(work), "--data", str(data)]
    measured = run(args, env, ROOT, log)
    lines = [x for x in log.read_text().splitlines() if x.startswith("{")]
    measured.update(json.loads(lines[-1]) if lines else {})
    return measured


def _redis_memory(url: str) -> dict[str, int]:
    import redis

    client = redis.Redis.from_url(url)
    try:
        info = client.info("memory")
        keys = int(client.dbsize())
    finally:
        client.close()
    wanted = ("used_memory", "used_memory_peak", "used_memory_rss")
    return {**{name: int(info[name]) for name in wanted}, "keys": keys}


def materialize_redis(work: Path, data: Path, engine: str, log: Path) -> dict[str, Any]:
    """The per-transaction view into a fresh redis-server (started here, by
    bench_online's helper, and stopped after): the child's figures and Redis's
    memory before and after."""
    from bench_online import start_redis

    started = start_redis(work)
    if started is None:
        raise SystemExit("--online redis: redis-server is missing (scripts/ensure-redis.sh)")
    proc, url = started
    try:
        before = _redis_memory(url)
        measured = _child(work, data, engine, "materialize_redis", log, online=url)
        after = _redis_memory(url)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    entities = max(int(measured.get("entities") or 0), 1)
    measured["redis"] = {
        "before": before,
        "after": after,
        "bytes_per_entity": round((after["used_memory"] - before["used_memory"]) / entities, 1),
        "peak_bytes_per_entity": round(after["used_memory_peak"] / entities, 1),
    }
    return measured


def bench(
    work: Path,
    scale: str,
    engines: list[str],
    build_on_spark: bool,
    steps: list[str],
    online: str,
) -> list[dict[str, Any]]:
    names = [*ONLINE, BIG_VIEW] if online == "redis" else ONLINE
    data = prepare(work, scale, big_view=online == "redis")
    print(f"{scale}: DuckDB dbt build of the features ...", flush=True)
    duck_build = duckdb_build(work, data, work / f"{scale}-duckdb-build.log")
    tables = export_tables(work, scale, names)
    results = []
    for engine in engines:
        print(f"{scale}: {engine} ...", flush=True)
        record: dict[str, Any] = {"scale": scale, "engine": engine}
        if engine == "duckdb":
            record["build"] = duck_build
        elif build_on_spark:
            record["build"] = spark_build(work, data, work / f"{scale}-spark-build.log", names)
        else:
            spark_parse(work, data, work / f"{scale}-spark-parse.log")
            record["load"] = _child(work, tables, engine, "load", work / f"{scale}-spark-load.log")
        for step in steps:
            record[step] = _child(work, data, engine, step, work / f"{scale}-{engine}-{step}.log")
        if online == "redis":
            record["materialize_redis"] = materialize_redis(
                work, data, engine, work / f"{scale}-{engine}-materialize_redis.log"
            )
        results.append(record)
        with (work / "results.jsonl").open("a") as out:
            out.write(json.dumps(record) + "\n")
        print(json.dumps(record), flush=True)
    return results


def _cell(step: dict[str, Any] | None, key: str) -> Any:
    return "-" if step is None else step.get(key, "-")


def markdown(results: list[dict[str, Any]]) -> str:
    """The steps table, and the window models' build seconds and the Redis
    memory table when those ran."""
    lines = [
        "| scale | engine | features from | PIT rows | PIT s (process s) | PIT peak RSS MiB "
        "| materialize rows | materialize s (process s) | materialize peak RSS MiB "
        "| load avg 1 min (PIT; materialize) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        pit, mat = r.get("pit"), r.get("materialize")
        if pit is None and mat is None:
            continue
        if "build" in r:
            source = f"dbt build {r['build']['seconds']} s, {r['build']['peak_rss_mib']} MiB"
        else:
            source = f"Parquet load {r['load'].get('step_seconds')} s ({r['load']['seconds']} s)"
        loads = "; ".join(
            f"{step['load'][0]}→{step['load'][1]}" if step else "-" for step in (pit, mat)
        )
        lines.append(
            f"| {r['scale']} | {r['engine']} | {source} | {_cell(pit, 'rows')} "
            f"| {_cell(pit, 'step_seconds')} ({_cell(pit, 'seconds')}) "
            f"| {_cell(pit, 'peak_rss_mib')} | {_cell(mat, 'rows')} "
            f"| {_cell(mat, 'step_seconds')} ({_cell(mat, 'seconds')}) "
            f"| {_cell(mat, 'peak_rss_mib')} | {loads} |"
        )
    if len(lines) == 2:
        lines = []  # no pit or materialize step ran (--steps alone)
    built = [r for r in results if "models" in r.get("build", {})]
    if built:
        lines += [
            "",
            "dbt build seconds of the window models (run_results.json; Spark: --spark-build):",
            "",
            "| scale | engine | " + " | ".join(WINDOW_MODELS) + " | whole build s | load avg |",
            "|---|---|" + "---|" * len(WINDOW_MODELS) + "---|---|",
        ]
        for r in built:
            build = r["build"]
            cells = " | ".join(str(build["models"].get(m, "-")) for m in WINDOW_MODELS)
            lines.append(
                f"| {r['scale']} | {r['engine']} | {cells} | {build['seconds']} "
                f"| {build['load'][0]}→{build['load'][1]} |"
            )
    redis = [r for r in results if "materialize_redis" in r]
    if redis:
        lines += [
            "",
            f"materialize of {BIG_VIEW} (one entity per transaction) into redis-server:",
            "",
            "| scale | engine | entities | s (process s) | rows/s | driver peak RSS MiB "
            "| JVM peak RSS MiB | JVM peak heap MiB | tree peak RSS MiB "
            "| Redis used_memory_peak MiB | Redis used_memory MiB | bytes/entity (used; peak) "
            "| load avg |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in redis:
            m = r["materialize_redis"]
            after = m["redis"]["after"]
            rate = round(m["rows"] / m["step_seconds"]) if m.get("step_seconds") else "-"
            lines.append(
                f"| {r['scale']} | {r['engine']} | {m.get('entities')} "
                f"| {m.get('step_seconds')} ({m['seconds']}) | {rate} "
                f"| {m.get('driver_peak_rss_mib')} | {m.get('jvm_peak_rss_mib', '-')} "
                f"| {m.get('jvm_peak_heap_mib', '-')} | {m['peak_rss_mib']} "
                f"| {after['used_memory_peak'] / 2**20:.1f} | {after['used_memory'] / 2**20:.1f} "
                f"| {m['redis']['bytes_per_entity']}; {m['redis']['peak_bytes_per_entity']} "
                f"| {m['load'][0]}→{m['load'][1]} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="scratch folder")
    parser.add_argument("--quick", action="store_true", help="the 100k scale only (smoke run)")
    parser.add_argument("--scales", nargs="+", default=["1m", "10m"], help="datagen scales")
    parser.add_argument("--engines", nargs="+", default=["duckdb", "spark"])
    parser.add_argument(
        "--spark-build",
        action="store_true",
        help="build the features and int_transactions_windowed with dbt on Spark instead of "
        "loading DuckDB's, with each window model's seconds",
    )
    parser.add_argument(
        "--spark-memory", default="6g", help="spark.driver.memory (the JVM heap), default 6g"
    )
    parser.add_argument(
        "--steps",
        nargs="*",
        choices=["pit", "materialize"],
        default=["pit", "materialize"],
        help="the timed steps (default both; none with --online redis for Redis alone)",
    )
    parser.add_argument(
        "--online",
        choices=["sqlite", "redis"],
        default="sqlite",
        help=f"redis: also materialize {BIG_VIEW} (an entity per transaction) into a "
        "redis-server the bench starts, with its memory",
    )
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "STEP"), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    work = args.work.resolve()
    if args.child:
        child(args.child[0], args.child[1], work, args.data)
        return 0
    os.environ["BENCH_SPARK_MEMORY"] = args.spark_memory
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(ROOT / "scripts" / "ensure-java.sh")], check=True)
    print(f"load average at start: {os.getloadavg()}; cores: {os.cpu_count()}", flush=True)
    results = []
    for scale in ["small"] if args.quick else args.scales:
        results += bench(work, scale, args.engines, args.spark_build, args.steps, args.online)
    print(markdown(results))
    print(f"load average at the end: {os.getloadavg()}; cores: {os.cpu_count()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
