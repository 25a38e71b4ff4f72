"""How `window_aggregates` grows with one hot entity's events on Spark.

It compiles the spine form of `window_aggregates` with the demo's customer
windows (1h, 24h, 7d, 30d; count, sum, avg, max, distinct merchants) through
dbt for the `spark` target of integration_tests/, once per method, then times
each on a local Spark over one customer with N events spread over a year (so
the events per window grow with N, as a hot Pareto customer's do), writing
every column to Spark's `noop` sink so that nothing is pruned. Spark's sliding
RANGE frames (`frames`) re-aggregate each frame as it moves; `buckets` uses
running frames only. Run it with nothing else on the machine:

    SPARK_LOCAL_IP=127.0.0.1 .venv/bin/python bench/bench_spark_windows.py \
        --events 10000 25000 50000 --methods buckets frames
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEPARATOR = "-- pitstop method separator --"
CALL = (
    "{{{{ pitstop.window_aggregates(events='hot_events', spine='hot_events', "
    "spine_timestamp='transacted_at', keys='customer_id', event_timestamp='transacted_at', "
    "windows=['1h', '24h', '7d', '30d'], aggregates=['count', 'sum(amount)', 'avg(amount)', "
    "'max(amount)', 'count_distinct(merchant_id)'], method='{method}') }}}}"
)


def compile_sql(methods: list[str]) -> dict[str, str]:
    """One `dbt compile --inline` on the spark target for every method (dbt's
    start-up paid once), split back at a separator line."""
    inline = f"\n{SEPARATOR}\n".join(CALL.format(method=m) for m in methods)
    env = {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DO_NOT_TRACK": "1",
        "DBT_PROFILES_DIR": ".",
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    command = [str(ROOT / ".venv/bin/dbt"), "compile", "--target", "spark", "--quiet"]
    out = subprocess.run(
        [*command, "--inline", inline],
        cwd=ROOT / "integration_tests",
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    parts = out.split(SEPARATOR)
    return dict(zip(methods, parts, strict=True))


def main() -> None:
    """Compile, then time each (method, events) on one local Spark session."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[10_000, 25_000, 50_000])
    parser.add_argument("--methods", nargs="+", default=["buckets", "frames"])
    args = parser.parse_args()
    sql = compile_sql(args.methods)

    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[*]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    print(f"load average {os.getloadavg()}")
    print("| method | events | seconds |")
    print("|---|---|---|")
    # a first, untimed round at 1,000 events warms the JVM (code generation)
    for n in [1_000, *args.events]:
        step = 365 * 86400 * 1_000_000 // n
        spark.sql(
            f"select cast(1 as bigint) as customer_id, "
            f"timestamp_micros(1735689600000000 + id * {step}) as transacted_at, "
            f"cast(id % 97 as double) * 1.25 as amount, id % 50 as merchant_id "
            f"from range({n})"
        ).cache().createOrReplaceTempView("hot_events")
        spark.table("hot_events").count()
        for method in args.methods:
            start = time.perf_counter()
            spark.sql(sql[method]).write.format("noop").mode("overwrite").save()
            if n != 1_000 or 1_000 in args.events:
                print(f"| {method} | {n} | {time.perf_counter() - start:.1f} |", flush=True)
    print(f"load average {os.getloadavg()}")
    spark.stop()


if __name__ == "__main__":
    main()
