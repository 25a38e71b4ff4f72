"""Deterministic generator for the card-payments demo domain.

The same code writes the small CSV seeds that ship with the project and the
large Parquet data sets that benchmarks use, so the demo, the tests and the
benchmarks all exercise one shape of data. Everything is derived from a fixed
seed: two runs with the same arguments write byte-identical values.

Tables (all timestamps are naive UTC):

* ``customer_changes`` -- a change-data-capture log of customers: inserts,
  updates (some of them no-ops), deletes, re-inserts, ties on ``changed_at``
  and rows that arrive days late (``ingested_at``).
* ``merchants`` -- one row per merchant, with a mutable risk level.
* ``transactions`` -- card transactions, the event stream.
* ``chargebacks`` -- fraud labels, reported days after the transaction.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

__all__ = ["SCALES", "Scale", "generate"]

_START = np.datetime64("2025-01-01T00:00:00", "us")
_DAYS = 181  # 2025-01-01 .. 2025-07-01
_US_PER_DAY = 86_400 * 1_000_000
_TIERS = np.array(["basic", "silver", "gold", "platinum"])
_COUNTRIES = np.array(["DE", "FR", "NL", "ES", "IT", "GB", "US", "PL"])
_CATEGORIES = np.array(
    ["grocery", "fuel", "travel", "electronics", "gaming", "fashion", "restaurants", "crypto"]
)
_RISK = np.array(["low", "medium", "high"])
_REASONS = np.array(["fraud_card_absent", "fraud_card_present", "stolen_card", "account_takeover"])


@dataclass(frozen=True)
class Scale:
    """How many rows of each table to write."""

    customers: int
    merchants: int
    transactions: int


SCALES: dict[str, Scale] = {
    "seed": Scale(customers=500, merchants=60, transactions=5_000),
    "small": Scale(customers=10_000, merchants=1_000, transactions=100_000),
    "1m": Scale(customers=100_000, merchants=10_000, transactions=1_000_000),
    "10m": Scale(customers=100_000, merchants=20_000, transactions=10_000_000),
    "100m": Scale(customers=1_000_000, merchants=100_000, transactions=100_000_000),
}


def _ts(us: np.ndarray) -> np.ndarray:
    return _START + us.astype("timedelta64[us]")


def _customer_changes(rng: np.random.Generator, n: int) -> tuple[pa.Table, np.ndarray]:
    """Build the CDC log; also return each customer's creation offset in microseconds."""
    created = (rng.random(n) * 0.3 * _DAYS * _US_PER_DAY).astype(np.int64)
    extra = rng.poisson(2.0, n)
    counts = 1 + extra
    total = int(counts.sum())
    cust = np.repeat(np.arange(1, n + 1, dtype=np.int64), counts)
    first = np.zeros(total, dtype=bool)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    first[starts] = True
    # later changes happen at random times after creation, in order per customer
    span = _DAYS * _US_PER_DAY - np.repeat(created, counts)
    offs = (rng.random(total) * span).astype(np.int64)
    offs[first] = 0
    # sort offsets within each customer (customer id is the major key)
    order = np.lexsort((offs, cust))
    offs = offs[order]
    changed_us = np.repeat(created, counts) + offs
    # round to whole seconds so ties are realistic
    changed_us -= changed_us % 1_000_000

    kind = rng.choice(np.array(["update", "delete"]), total, p=[0.9, 0.1])
    prev_kind = np.roll(kind, 1)
    op = np.where(first, "insert", np.where(prev_kind == "delete", "insert", kind))

    base_country = rng.choice(_COUNTRIES, n)
    tier = rng.choice(_TIERS, total, p=[0.5, 0.3, 0.15, 0.05])
    country = np.repeat(base_country, counts)
    moved = rng.random(total) < 0.05
    country = np.where(moved, rng.choice(_COUNTRIES, total), country)
    credit = (rng.integers(5, 200, total) * 100).astype(np.float64)
    # 10% of updates repeat the previous state exactly (no-op changes to collapse)
    noop = (op == "update") & (rng.random(total) < 0.1)
    idx = np.arange(total)
    src = np.where(noop, idx - 1, idx)
    tier, country, credit = tier[src], country[src], credit[src]

    # a few changes are duplicated with the same changed_at (a tie) and a later ingest
    dup = (~first) & (op == "update") & (rng.random(total) < 0.03)
    dup_idx = np.flatnonzero(dup)
    ingest_lag = rng.exponential(300.0, total) * 1_000_000
    late = rng.random(total) < 0.05
    ingest_lag = np.where(late, rng.integers(1, 10, total) * _US_PER_DAY, ingest_lag)
    ingested_us = changed_us + ingest_lag.astype(np.int64)
    ingested_us -= ingested_us % 1_000_000

    all_idx = np.concatenate((idx, dup_idx))
    dup_tier = rng.choice(_TIERS, len(dup_idx))
    tier = np.concatenate((tier, dup_tier))
    country = np.concatenate((country, country[dup_idx]))
    credit = np.concatenate((credit, credit[dup_idx] + 500.0))
    op = np.concatenate((op, op[dup_idx]))
    cust = cust[all_idx]
    changed_us = changed_us[all_idx]
    ingested_us = np.concatenate((ingested_us, ingested_us[dup_idx] + 60 * 1_000_000))

    is_delete = op == "delete"
    order = np.lexsort((ingested_us, changed_us, cust))
    table = pa.table(
        {
            "change_id": pa.array(np.arange(1, len(order) + 1, dtype=np.int64)),
            "customer_id": pa.array(cust[order]),
            "operation": pa.array(op[order]),
            "tier": pa.array(tier[order], mask=is_delete[order]),
            "country": pa.array(country[order], mask=is_delete[order]),
            "credit_limit": pa.array(credit[order], mask=is_delete[order]),
            "changed_at": pa.array(_ts(changed_us[order])),
            "ingested_at": pa.array(_ts(ingested_us[order])),
        }
    )
    return table, created


def _merchants(rng: np.random.Generator, n: int) -> tuple[pa.Table, np.ndarray]:
    risky = rng.random(n) < 0.1
    onboarded = (rng.random(n) * 0.2 * _DAYS * _US_PER_DAY).astype(np.int64)
    onboarded -= onboarded % 1_000_000
    table = pa.table(
        {
            "merchant_id": pa.array(np.arange(1, n + 1, dtype=np.int64)),
            "merchant_name": pa.array([f"merchant-{i:06d}" for i in range(1, n + 1)]),
            "merchant_category": pa.array(rng.choice(_CATEGORIES, n)),
            "country": pa.array(rng.choice(_COUNTRIES, n)),
            "risk_level": pa.array(np.where(risky, "high", rng.choice(_RISK[:2], n))),
            "onboarded_at": pa.array(_ts(onboarded)),
            "updated_at": pa.array(_ts(onboarded)),
        }
    )
    return table, risky


def _transaction_chunks(
    rng: np.random.Generator,
    scale: Scale,
    created: np.ndarray,
    risky: np.ndarray,
    chunk_rows: int,
) -> Iterator[tuple[pa.Table, pa.Table]]:
    """Yield (transactions, chargebacks) chunks so memory stays bounded at any size."""
    next_id = 1
    next_cb = 1
    end_us = _DAYS * _US_PER_DAY
    remaining = scale.transactions
    while remaining > 0:
        m = min(chunk_rows, remaining)
        remaining -= m
        # a skewed choice of customers: some are far more active than others
        cust_idx = np.minimum(
            (rng.pareto(1.2, m) * scale.customers / 20).astype(np.int64), scale.customers - 1
        )
        cust_idx = rng.permutation(scale.customers)[cust_idx] if m > 0 else cust_idx
        merch_idx = rng.integers(0, scale.merchants, m)
        t_us = created[cust_idx] + (rng.random(m) * (end_us - created[cust_idx])).astype(np.int64)
        t_us -= t_us % 1_000_000
        amount = np.round(rng.lognormal(3.5, 1.1, m), 2)
        ingested_us = t_us + (rng.exponential(2.0, m) * 1_000_000).astype(np.int64)
        ids = np.arange(next_id, next_id + m, dtype=np.int64)
        next_id += m
        p_fraud = 0.01 + 0.06 * risky[merch_idx] + 0.03 * (amount > 300)
        fraud = rng.random(m) < p_fraud
        report_us = t_us + (rng.uniform(2, 60, m) * _US_PER_DAY).astype(np.int64)
        report_us -= report_us % 1_000_000
        labelled = fraud & (report_us < end_us)
        n_cb = int(labelled.sum())
        txns = pa.table(
            {
                "transaction_id": pa.array(ids),
                "customer_id": pa.array(cust_idx + 1),
                "merchant_id": pa.array(merch_idx.astype(np.int64) + 1),
                "amount": pa.array(amount),
                "currency": pa.array(np.full(m, "EUR")),
                "transacted_at": pa.array(_ts(t_us)),
                "ingested_at": pa.array(_ts(ingested_us)),
            }
        )
        cbs = pa.table(
            {
                "chargeback_id": pa.array(np.arange(next_cb, next_cb + n_cb, dtype=np.int64)),
                "transaction_id": pa.array(ids[labelled]),
                "reason_code": pa.array(rng.choice(_REASONS, n_cb)),
                "reported_at": pa.array(_ts(report_us[labelled])),
            }
        )
        next_cb += n_cb
        yield txns, cbs


def generate(
    out_dir: Path,
    scale: Scale,
    fmt: str = "parquet",
    seed: int = 42,
    chunk_rows: int = 2_000_000,
) -> dict[str, int]:
    """Write the four demo tables and return their row counts.

    CSV output writes ``raw_<table>.csv`` files (dbt seeds); Parquet output
    writes ``<table>/part-NNNNN.parquet`` folders that the ``raw_parquet``
    sources read with a glob, one file per chunk so memory stays bounded.
    """
    if fmt not in {"csv", "parquet"}:
        raise ValueError(f"format must be 'csv' or 'parquet', got {fmt!r}")
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    changes, created = _customer_changes(rng, scale.customers)
    merchants, risky = _merchants(rng, scale.merchants)
    counts = {"customer_changes": changes.num_rows, "merchants": merchants.num_rows}

    def write(name: str, part: int, table: pa.Table) -> None:
        if fmt == "csv":
            path = out_dir / f"raw_{name}.csv"
            options = pacsv.WriteOptions(include_header=part == 0)
            with path.open("ab" if part else "wb") as fh:
                pacsv.write_csv(table, fh, write_options=options)
        else:
            folder = out_dir / name
            folder.mkdir(exist_ok=True)
            if part == 0:
                for old in folder.glob("part-*.parquet"):
                    old.unlink()
            pq.write_table(table, folder / f"part-{part:05d}.parquet", row_group_size=1 << 20)

    write("customer_changes", 0, changes)
    write("merchants", 0, merchants)
    counts["transactions"] = counts["chargebacks"] = 0
    for part, (txns, cbs) in enumerate(_transaction_chunks(rng, scale, created, risky, chunk_rows)):
        write("transactions", part, txns)
        write("chargebacks", part, cbs)
        counts["transactions"] += txns.num_rows
        counts["chargebacks"] += cbs.num_rows
    return counts


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m pitstop.datagen --scale 10m --out data/10m``."""
    parser = argparse.ArgumentParser(prog="python -m pitstop.datagen", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--format", choices=["csv", "parquet"], default="parquet")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    counts = generate(args.out, SCALES[args.scale], args.format, args.seed)
    for name, rows in counts.items():
        print(f"{name:>18}: {rows:>12,} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
