"""Build benchmark inputs (spine + two feature views) from ``pitstop.datagen`` Parquet.

Needs only ``duckdb`` (the Feast venv and the project venv both have it).
From a datagen folder (``transactions/``, ``chargebacks/``) it writes:

* ``customer_txn.parquet`` -- one row per transaction: the customer's running
  7-day stats at ``transacted_at`` (feature timestamp) with ``ingested_at`` as
  created timestamp; ties on (customer_id, transacted_at) occur naturally.
* ``merchant_daily.parquet`` -- one row per merchant and day, stamped at the
  end of the day, ``ingested_at`` one hour later; reservoir-sampled to
  ``--merchant-rows`` rows.
* ``spine.parquet`` -- ``--spine-rows`` sampled transactions: ``row_id``,
  ``customer_id``, ``merchant_id``, ``event_timestamp``, ``is_fraud``.
* ``config.json`` -- the harness config (TTL 30 days on both views, 8 features).

Usage::

    .venv/bin/python -m pitstop.datagen --scale 10m --out /tmp/feastbench/10m
    bench/.feast-venv/bin/python bench/feast/make_data.py \
        --data /tmp/feastbench/10m --out /tmp/feastbench/pit_1m --spine-rows 1000000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

TTL_SECONDS = 30 * 86_400


def main(argv: list[str] | None = None) -> int:
    import duckdb

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="pitstop.datagen output folder")
    parser.add_argument("--out", required=True, help="folder for the Parquet files + config")
    parser.add_argument("--spine-rows", type=int, default=1_000_000)
    parser.add_argument("--merchant-rows", type=int, default=1_000_000)
    parser.add_argument(
        "--customer-rows",
        type=int,
        default=0,
        help="sample the customer view to this many rows (0 = all)",
    )
    parser.add_argument(
        "--uniform-customers",
        action="store_true",
        help="reassign customer_id uniformly (hash of transaction_id) instead "
        "of datagen's Pareto-skewed customers",
    )
    args = parser.parse_args(argv)

    data, out = Path(args.data).resolve(), Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("set preserve_insertion_order = false")
    txn = f"read_parquet('{data}/transactions/*.parquet')"
    if args.uniform_customers:
        n_customers = con.execute(f"select count(distinct customer_id) from {txn}").fetchall()[0][0]
        txn = (
            f"(select * replace ((1 + hash(transaction_id) % {int(n_customers)})::bigint "
            f"as customer_id) from {txn})"
        )
    cb = f"read_parquet('{data}/chargebacks/*.parquet')"
    t0 = time.perf_counter()

    cust_sample = (
        f"using sample {int(args.customer_rows)} rows (reservoir, 42)" if args.customer_rows else ""
    )
    con.execute(f"""
        copy (
            select * from (
                select
                    customer_id,
                    transacted_at as feature_at,
                    ingested_at,
                    amount as last_amount,
                    count(*) over w as txn_count_7d,
                    sum(amount) over w as amount_sum_7d,
                    max(amount) over w as amount_max_7d,
                from {txn}
                window w as (
                    partition by customer_id order by transacted_at
                    range between interval 7 days preceding and current row
                )
            ) {cust_sample}
        ) to '{out}/customer_txn.parquet' (format parquet)
    """)
    con.execute(f"""
        copy (
            select * from (
                select
                    merchant_id,
                    date_trunc('day', transacted_at) + interval 1 day as feature_at,
                    date_trunc('day', transacted_at) + interval 25 hours as ingested_at,
                    count(*) as txn_count_1d,
                    sum(amount) as amount_sum_1d,
                    avg(amount) as amount_avg_1d,
                    count(distinct customer_id) as customer_count_1d,
                from {txn}
                group by all
            ) using sample {int(args.merchant_rows)} rows (reservoir, 42)
        ) to '{out}/merchant_daily.parquet' (format parquet)
    """)
    con.execute(f"""
        copy (
            select
                t.transaction_id as row_id,
                t.customer_id,
                t.merchant_id,
                t.transacted_at as event_timestamp,
                c.transaction_id is not null as is_fraud,
            from (select * from {txn} using sample {int(args.spine_rows)} rows (reservoir, 7)) t
            left join (select distinct transaction_id from {cb}) c using (transaction_id)
        ) to '{out}/spine.parquet' (format parquet)
    """)
    counts = {
        name: con.execute(f"select count(*) from '{out}/{name}.parquet'").fetchall()[0][0]
        for name in ("spine", "customer_txn", "merchant_daily")
    }
    config = {
        "spine": str(out / "spine.parquet"),
        "output": str(out / "feast_out.parquet"),
        "feature_views": [
            {
                "name": "customer_txn",
                "path": str(out / "customer_txn.parquet"),
                "entities": ["customer_id"],
                "timestamp_column": "feature_at",
                "created_timestamp_column": "ingested_at",
                "ttl_seconds": TTL_SECONDS,
                "features": ["last_amount", "txn_count_7d", "amount_sum_7d", "amount_max_7d"],
            },
            {
                "name": "merchant_daily",
                "path": str(out / "merchant_daily.parquet"),
                "entities": ["merchant_id"],
                "timestamp_column": "feature_at",
                "created_timestamp_column": "ingested_at",
                "ttl_seconds": TTL_SECONDS,
                "features": ["txn_count_1d", "amount_sum_1d", "amount_avg_1d", "customer_count_1d"],
            },
        ],
    }
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    print(
        json.dumps({"out": str(out), "rows": counts, "seconds": round(time.perf_counter() - t0, 1)})
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
