"""Self-test of the Feast harness, and evidence for the quirks in README.md.

Runs inside ``bench/.feast-venv``. Writes tiny Parquet inputs full of edge
cases (ties on the feature timestamp, rows exactly at the TTL edge, entities
whose rows are all outside the TTL or all in the future, duplicate spine
rows, a composite-key view), runs ``offline.py`` on both stores and
``online.py`` with small counts, and compares each offline result with a
brute-force point-in-time oracle written here. Every difference is counted by
cause and printed as JSON on stdout.

Exit status is non-zero only when the harness itself is broken (a script
fails, prints no JSON, names columns differently, or returns a row that is not
in the spine); Feast's own semantic differences are reported, not failed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DAY = pd.Timedelta(days=1)
T0 = pd.Timestamp("2025-01-01")
TTL_DAYS = 10


def make_data(tmp: Path, seed: int = 7) -> dict[str, Any]:
    """Write the tiny inputs; return the config dict."""
    rng = np.random.default_rng(seed)
    n_cust, n_merch = 60, 15

    # customer view: day-grid timestamps so ties and TTL edges are frequent;
    # created = ts + a distinct number of minutes, so every tie has a winner.
    rows = []
    for c in range(1, n_cust + 1):
        if c % 10 == 0:
            continue  # customers 10, 20, ...: no feature rows at all
        days = rng.integers(0, 60, rng.integers(1, 8))
        if c % 10 == 1:
            days = np.array([0, 1])  # only old rows: outside the TTL for late spine rows
        if c % 10 == 2:
            days = np.array([55, 58])  # only rows after most spine timestamps
        for d in days:
            for _ in range(rng.integers(1, 3)):  # 1 or 2 versions per (customer, day)
                rows.append((c, int(d), int(rng.integers(0, 10_000))))
    cust = pd.DataFrame(rows, columns=["customer_id", "day", "minutes"])
    cust = cust.drop_duplicates(["customer_id", "day", "minutes"]).reset_index(drop=True)
    cust["feature_at"] = T0 + cust["day"] * DAY
    cust["ingested_at"] = cust["feature_at"] + pd.to_timedelta(cust["minutes"], unit="m")
    cust["txn_count"] = np.arange(len(cust), dtype=np.int64)
    cust["tier"] = np.array(["basic", "gold", "silver"])[cust.index % 3]
    cust["avg_amount"] = np.round(rng.random(len(cust)) * 100, 2)
    cust = cust.drop(columns=["day", "minutes"])
    cust.to_parquet(tmp / "customer.parquet", index=False)

    # merchant view without TTL, composite key (merchant_id, country)
    mrows = []
    for m in range(1, n_merch + 1):
        for country in ("DE", "FR"):
            for d in rng.integers(0, 60, rng.integers(1, 4)):
                mrows.append((m, country, T0 + int(d) * DAY + pd.Timedelta(hours=int(d) % 5)))
    merch = pd.DataFrame(mrows, columns=["merchant_id", "country", "updated_at"])
    merch["risk_score"] = np.round(rng.random(len(merch)), 3)
    merch["is_risky"] = merch["risk_score"] > 0.7
    merch.to_parquet(tmp / "merchant.parquet", index=False)

    # spine: day grid (hits feature timestamps and TTL edges exactly) plus noise
    n = 500
    spine = pd.DataFrame(
        {
            "row_id": np.arange(n, dtype=np.int64),
            "customer_id": rng.integers(1, n_cust + 3, n),  # some ids unknown to the view
            "merchant_id": rng.integers(1, n_merch + 1, n),
            "country": np.array(["DE", "FR"])[rng.integers(0, 2, n)],
            "event_timestamp": T0
            + pd.to_timedelta(rng.integers(0, 62, n), unit="D")
            + pd.to_timedelta(
                np.where(rng.random(n) < 0.3, rng.integers(0, 86_400, n), 0), unit="s"
            ),
            "label": rng.integers(0, 2, n),
        }
    )
    dupes = spine.sample(20, random_state=seed).copy()
    dupes["row_id"] = np.arange(n, n + 20)  # same keys and timestamp, another row id
    spine = pd.concat([spine, dupes], ignore_index=True)
    spine.to_parquet(tmp / "spine.parquet", index=False)

    return {
        "spine": str(tmp / "spine.parquet"),
        "feature_views": [
            {
                "name": "customer",
                "path": str(tmp / "customer.parquet"),
                "entities": ["customer_id"],
                "timestamp_column": "feature_at",
                "created_timestamp_column": "ingested_at",
                "ttl_seconds": TTL_DAYS * 86_400,
                "features": ["txn_count", "tier", "avg_amount"],
            },
            {
                "name": "merchant",
                "path": str(tmp / "merchant.parquet"),
                "entities": ["merchant_id", "country"],
                "timestamp_column": "updated_at",
                "ttl_seconds": 0,
                "features": ["risk_score", "is_risky"],
            },
        ],
    }


def oracle(config: dict[str, Any], filter_created: bool = False) -> pd.DataFrame:
    """Brute-force point-in-time join: one output row per spine row, in spine order.

    Latest feature timestamp <= t (inclusive), and >= t - ttl when the view has
    a TTL; ties broken by the created timestamp, latest first. Also records,
    per view, why a row got NULLs, and whether the winner was a tie.
    """
    spine = pd.read_parquet(config["spine"])
    out = spine.copy()
    for view in config["feature_views"]:
        fv = pd.read_parquet(view["path"])
        keys, ts, created = (
            view["entities"],
            view["timestamp_column"],
            view.get("created_timestamp_column"),
        )
        ttl = pd.Timedelta(seconds=view.get("ttl_seconds") or 0)
        groups = {k: g for k, g in fv.groupby(keys)}
        values: dict[str, list[Any]] = {f: [] for f in view["features"]}
        reason, tie = [], []
        for _, row in spine.iterrows():
            key = tuple(row[k] for k in keys)
            g = groups.get(key)  # pandas 2 groups by a list of keys with tuple keys
            t = row["event_timestamp"]
            why, is_tie, best = "match", False, None
            if g is None:
                why = "no_rows"
            else:
                cand = g[g[ts] <= t]
                if filter_created and created:
                    cand = cand[cand[created] <= t]
                if cand.empty:
                    why = "only_future_rows"
                else:
                    if ttl > pd.Timedelta(0):
                        cand = cand[cand[ts] >= t - ttl]
                    if cand.empty:
                        why = "all_outside_ttl"
                    else:
                        order = [ts, created] if created else [ts]
                        cand = cand.sort_values(order, ascending=False)
                        best = cand.iloc[0]
                        is_tie = bool((cand[ts] == best[ts]).sum() > 1)
            for f in view["features"]:
                values[f].append(None if best is None else best[f])
            reason.append(why)
            tie.append(is_tie)
        for f in view["features"]:
            out[f"{view['name']}__{f}"] = values[f]
        out[f"_{view['name']}_reason"] = reason
        out[f"_{view['name']}_tie"] = tie
    return out


def run_json(args: list[str]) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"selftest: {' '.join(args[:2])} failed ({proc.returncode})")
    lines = proc.stdout.strip().splitlines()
    if len(lines) != 1:
        raise SystemExit(f"selftest: expected one JSON line on stdout, got {lines!r}")
    result: dict[str, Any] = json.loads(lines[0])
    return result


def same(a: Any, b: Any) -> bool:
    if a is None or (isinstance(a, float) and np.isnan(a)) or a is pd.NA:
        return b is None or (isinstance(b, float) and np.isnan(b)) or b is pd.NA
    if b is None or (isinstance(b, float) and np.isnan(b)) or b is pd.NA:
        return False
    if isinstance(a, float) or isinstance(b, float):
        return bool(abs(float(a) - float(b)) < 1e-9)
    return bool(a == b)


def compare(config: dict[str, Any], expected: pd.DataFrame, out_path: Path) -> dict[str, Any]:
    """Count Feast's differences from the oracle, by cause."""
    got = pd.read_parquet(out_path)
    unknown = set(got["row_id"]) - set(expected["row_id"])
    if unknown:
        raise SystemExit(f"selftest: output has row ids not in the spine: {sorted(unknown)[:5]}")
    report: dict[str, Any] = {
        "spine_rows": len(expected),
        "output_rows": len(got),
        "missing_rows_by_reason": {},
        "duplicated_rows": 0,
        "mismatches_by_cause": {},
    }
    counts = got["row_id"].value_counts()
    report["duplicated_rows"] = int((counts > 1).sum())
    missing = expected[~expected["row_id"].isin(got["row_id"])]
    # A spine row is a "duplicate" when another spine row with the same entity
    # keys and timestamp made it into the output.
    keys = sorted({k for v in config["feature_views"] for k in v["entities"]})
    present = expected[expected["row_id"].isin(got["row_id"])]
    present_keys = set(map(tuple, present[[*keys, "event_timestamp"]].to_numpy()))

    # The file store deduplicates on the keys seen so far + the timestamp after
    # each view, so rows sharing the first view's keys and timestamp collapse.
    first = [*config["feature_views"][0]["entities"], "event_timestamp"]
    shared_first = expected.duplicated(first, keep=False)

    def reason(r: pd.Series) -> str:
        if tuple(r[[*keys, "event_timestamp"]]) in present_keys:
            return "duplicate_of_a_returned_spine_row"
        if shared_first[r.name]:
            return "collapsed_with_a_spine_row_sharing_first_view_keys_and_timestamp"
        causes = {r[f"_{v['name']}_reason"] for v in config["feature_views"]} - {"match"}
        return "+".join(sorted(causes)) or "has_matches"

    reasons = missing.apply(reason, axis=1)
    report["missing_rows_by_reason"] = {str(k): int(v) for k, v in reasons.value_counts().items()}
    merged = expected.merge(got.drop_duplicates("row_id"), on="row_id", suffixes=("", "_feast"))
    causes: dict[str, int] = {}
    for view in config["feature_views"]:
        cols = [f"{view['name']}__{f}" for f in view["features"]]
        for _, r in merged.iterrows():
            if all(same(r[c], r[f"{c}_feast"]) for c in cols):
                continue
            name = view["name"]
            if r[f"_{name}_tie"]:
                cause = f"{name}: tie on feature timestamp, other version picked"
            else:
                cause = f"{name}: {r[f'_{name}_reason']}"
            causes[cause] = causes.get(cause, 0) + 1
    ties = int(expected[[f"_{v['name']}_tie" for v in config["feature_views"]]].any(axis=1).sum())
    report["spine_rows_with_a_tie"] = ties
    report["mismatches_by_cause"] = causes
    return report


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="feast-selftest-") as tmp_name:
        tmp = Path(tmp_name)
        config = make_data(tmp)
        (tmp / "config.json").write_text(json.dumps(config))
        expected = oracle(config)
        summary: dict[str, Any] = {"offline": {}}
        for store in ("duckdb", "file"):
            out = tmp / f"out_{store}.parquet"
            res = run_json(
                [
                    str(HERE / "offline.py"),
                    str(tmp / "config.json"),
                    "--store",
                    store,
                    "--out",
                    str(out),
                ]
            )
            want = [
                "row_id",
                "customer_id",
                "merchant_id",
                "country",
                "event_timestamp",
                "label",
                "customer__txn_count",
                "customer__tier",
                "customer__avg_amount",
                "merchant__risk_score",
                "merchant__is_risky",
            ]
            if sorted(res["columns"]) != sorted(want):
                raise SystemExit(f"selftest: unexpected columns {res['columns']}")
            summary["offline"][store] = {"result": res, "vs_oracle": compare(config, expected, out)}
        # filter_by_created_timestamp=True on the duckdb store, against the matching oracle
        cfg2 = dict(config, filter_by_created_timestamp=True)
        (tmp / "config2.json").write_text(json.dumps(cfg2))
        out = tmp / "out_created.parquet"
        run_json([str(HERE / "offline.py"), str(tmp / "config2.json"), "--out", str(out)])
        summary["offline"]["duckdb_filter_by_created_timestamp"] = {
            "vs_oracle": compare(cfg2, oracle(cfg2, filter_created=True), out)
        }

        # online: TTL is 10 days and the data is from 2025, so a TTL-respecting
        # store would return nothing for the customer view today.
        online = run_json(
            [
                str(HERE / "online.py"),
                str(tmp / "config.json"),
                "--lookups",
                "300",
                "--warmup",
                "30",
                "--batch-sizes",
                "10,50",
                "--batch-repeats",
                "5",
                "--incremental-fraction",
                "0.1",
                "--import-runs",
                "1",
            ]
        )
        summary["online"] = online
        if online["single"]["found_fraction"] <= 0:
            raise SystemExit("selftest: online lookups found nothing")
    json.dump(summary, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
