"""`pitstop.online.lookup.get_online_features` on SQLite and Redis: exact typed
round trips, statuses (TTL enforced online), batching, errors, zero
training-serving skew, the CLI and the light import path."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import subprocess
import sys
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from _online_project import t, write_view
from click.testing import CliRunner

from pitstop import (
    FeatureStore,
    InvalidEntityKeyError,
    InvalidRequestError,
    OnlineStoreError,
    UnknownFeatureError,
    UnknownFeatureViewError,
    UnknownServiceError,
)
from pitstop.online.lookup import Status
from pitstop.online.spec import FeatureSpec, RegistrySnapshot

AS_OF = t("2025-06-01 00:00")

TYPED_ROWS: list[dict[str, Any]] = [
    {
        "customer_id": 1,
        "feature_at": t("2025-05-31 12:00"),
        "ingested_at": t("2025-05-31 12:00"),
        "f_int": -(2**63),
        "f_float": 0.1 + 0.2,
        "f_bool": True,
        "f_text": "naïve | \\ 'quoted' \u2603",
        "f_ts": datetime(1969, 12, 31, 23, 59, 59, 999999),
        "f_date": date(2024, 2, 29),
        "f_dec": Decimal("12345.6789"),
        # (not -0.0: DuckDB's arg_max, which picks the latest row, folds nested -0.0 into 0.0)
        "f_emb": [1e-300, -1.5, 3.141592653589793, float("inf"), 5e-324],
    },
    {
        "customer_id": 2,
        "feature_at": t("2025-05-31 00:00"),
        "ingested_at": t("2025-05-31 00:00"),
        "f_int": 2**63 - 1,
        "f_float": float("nan"),
        "f_bool": False,
        "f_text": "",
        "f_ts": datetime(2262, 4, 11, 23, 47, 16, 854775),
        "f_date": date(1, 1, 1),
        "f_dec": Decimal("-0.0001"),
        "f_emb": [],
    },
    {"customer_id": 3, "feature_at": t("2025-05-31 06:00"), "ingested_at": None},
]


def _empty(db: Path) -> None:
    for view in (
        "typed_features",
        "customer_v",
        "merchant_v",
        "pair_v",
        "account_v",
        "customer_scd2",
    ):
        write_view(db, view, [])


@pytest.fixture
def fs(online_env: dict[str, str]) -> FeatureStore:
    """A store whose online views hold a few rows, materialized at AS_OF."""
    db = Path(online_env["duckdb"])
    _empty(db)
    write_view(db, "typed_features", TYPED_ROWS)
    write_view(
        db,
        "customer_v",
        [
            {"customer_id": c, "feature_at": t("2025-05-01"), "ingested_at": t("2025-05-01"),
             "version": c * 10, "tag": f"c{c}"}
            for c in range(1, 6)
        ],
    )  # fmt: skip
    write_view(
        db,
        "merchant_v",
        [
            {"merchant_id": 7, "feature_at": t("2025-05-25"), "version": 70},  # ttl 7d: edge
            {"merchant_id": 8, "feature_at": t("2025-05-24 23:59:59"), "version": 80},
        ],
    )
    write_view(
        db,
        "pair_v",
        [{"customer_id": 1, "merchant_id": 7, "feature_at": t("2025-05-01"), "version": 17}],
    )
    write_view(
        db,
        "account_v",
        [
            {"account_code": "A|1", "feature_at": t("2025-05-31 23:00"), "balance": 1.5},
            {"account_code": "été", "feature_at": t("2025-05-31 20:00"), "balance": -2.0},
        ],
    )
    store = FeatureStore(online_env["project"])
    store.materialize(as_of=AS_OF)
    return store


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and str(a) == str(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def test_typed_values_round_trip_exactly(fs: FeatureStore) -> None:
    got = fs.get_online_features(
        features=["typed_features"], entities={"customer_id": [1, 2, 3]}, as_of=AS_OF
    )
    for i, row in enumerate(TYPED_ROWS):
        for name in ("f_int", "f_float", "f_bool", "f_text", "f_ts", "f_date", "f_dec", "f_emb"):
            ref = f"typed_features:{name}"
            expected = row.get(name)
            assert _same(got.value(ref, i), expected), (ref, got.value(ref, i), expected)
            assert got.status(ref, i) == (Status.NULL if expected is None else Status.PRESENT)
            assert got.timestamp(ref, i) == row["feature_at"]


def test_statuses_and_ttl_edges(fs: FeatureStore) -> None:
    # merchant_v has a TTL of 7 days: 2025-05-25 is exactly as_of - 7d (kept, as the
    # PIT join's inclusive bound); one second older is EXPIRED
    got = fs.get_online_features(
        features=["merchant_v:version"], entities={"merchant_id": [7, 8, 9]}, as_of=AS_OF
    )
    assert got.values["merchant_v:version"] == [70, None, None]
    assert got.statuses["merchant_v:version"] == [Status.PRESENT, Status.EXPIRED, Status.NOT_FOUND]
    assert got.timestamp("merchant_v:version", 1) == t("2025-05-24 23:59:59")
    assert got.timestamp("merchant_v:version", 2) is None
    later = fs.get_online_features(
        features=["merchant_v:version"],
        entities={"merchant_id": [7]},
        as_of=AS_OF + timedelta(microseconds=1),
    )
    assert later.statuses["merchant_v:version"] == [Status.EXPIRED]
    # string keys (with the composite separator inside) and a 2h TTL
    accounts = fs.get_online_features(
        features=["account_v:balance"], entities={"account_code": ["A|1", "été"]}, as_of=AS_OF
    )
    assert accounts.values["account_v:balance"] == [1.5, None]
    assert accounts.statuses["account_v:balance"] == [Status.PRESENT, Status.EXPIRED]


def test_service_composite_keys_batch_and_duplicates(fs: FeatureStore) -> None:
    rows = [
        {"customer_id": 1, "merchant_id": 7},
        {"customer_id": 2, "merchant_id": 7},
        {"customer_id": 1, "merchant_id": 7},
        {"customer_id": None, "merchant_id": 99},
    ]
    got = fs.get_online_features(service="fraud_model", entity_rows=rows, as_of=AS_OF)
    assert got.refs == ["customer_v:version", "merchant_v:version", "pair_v:version"]
    assert got.to_dict() == {
        "customer_id": [1, 2, 1, None],
        "merchant_id": [7, 7, 7, 99],
        "customer_v:version": [10, 20, 10, None],
        "merchant_v:version": [70, 70, 70, None],
        "pair_v:version": [17, None, 17, None],
    }
    records = got.to_records()
    assert records[3]["features"]["pair_v:version"]["status"] == "NOT_FOUND"
    assert json.dumps(records)  # JSON-ready
    frame = got.to_pandas(statuses=True)
    assert list(frame["pair_v:version__status"]) == ["PRESENT", "NOT_FOUND", "PRESENT", "NOT_FOUND"]
    assert len(got) == 4


def test_batch_reads_each_view_once(fs: FeatureStore, online_env: dict[str, str]) -> None:
    rows = [{"customer_id": c, "merchant_id": 7} for c in range(1, 1001)]
    online = fs.online_store
    # the first lookup also reads the registry snapshot (once per FeatureStore)
    fs.get_online_features(service="fraud_model", entity_rows=rows[:1], as_of=AS_OF)
    if online_env["kind"] == "sqlite":
        conn = online._reader()
        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        try:
            fs.get_online_features(service="fraud_model", entity_rows=rows, as_of=AS_OF)
        finally:
            conn.set_trace_callback(None)
        # each view read once (one statement per view in a read transaction,
        # or all views in one statement), from one snapshot
        selects = [q for q in statements if q.startswith("select")]
        assert sum(q.count("select") for q in selects) == 3
        if len(statements) > 1:
            assert statements[0] == "begin" and statements[-1] == "commit"
    else:
        client = online.client()

        def calls() -> dict[str, int]:
            stats = client.info("commandstats")
            names = ("hmget", "exec", "evalsha")
            return {c: stats.get(f"cmdstat_{c}", {}).get("calls", 0) for c in names}

        before = calls()
        fs.get_online_features(service="fraud_model", entity_rows=rows, as_of=AS_OF)
        after = calls()
        assert after["hmget"] - before["hmget"] == 3
        # one atomic unit, one round trip: the lookup script (or a MULTI/EXEC)
        assert after["evalsha"] - before["evalsha"] + after["exec"] - before["exec"] == 1
        before = calls()
        fs.get_online_features(service="fraud_model", entity_rows=rows[:1], as_of=AS_OF)
        after = calls()
        assert after["evalsha"] - before["evalsha"] == 1
        assert after["exec"] - before["exec"] == 0


def test_errors(fs: FeatureStore) -> None:
    one = {"customer_id": [1]}
    with pytest.raises(UnknownFeatureViewError, match="nope"):
        fs.get_online_features(features=["nope:x"], entities=one)
    with pytest.raises(UnknownFeatureViewError, match="offline_v"):
        fs.get_online_features(features=["offline_v"], entities=one)
    with pytest.raises(UnknownFeatureError, match="no feature 'x'"):
        fs.get_online_features(features=["customer_v:x"], entities=one)
    with pytest.raises(UnknownFeatureError):
        fs.get_online_features(features=["a:b:c"], entities=one)
    with pytest.raises(UnknownServiceError):
        fs.get_online_features(service="nope", entities=one)
    with pytest.raises(InvalidRequestError):
        fs.get_online_features(entities=one)
    with pytest.raises(InvalidRequestError):
        fs.get_online_features(features=["customer_v"], service="fraud_model", entities=one)
    with pytest.raises(InvalidRequestError):
        fs.get_online_features(features=["customer_v"])
    with pytest.raises(InvalidEntityKeyError, match="missing customer_id"):
        fs.get_online_features(features=["customer_v"], entities={"cust_id": [1]})
    with pytest.raises(InvalidEntityKeyError, match="unexpected merchant_id"):
        fs.get_online_features(
            features=["customer_v"], entities={"customer_id": [1], "merchant_id": [1]}
        )
    with pytest.raises(InvalidEntityKeyError, match="integer"):
        fs.get_online_features(features=["customer_v"], entities={"customer_id": ["1"]})
    with pytest.raises(InvalidEntityKeyError, match="integer"):
        fs.get_online_features(features=["customer_v"], entities={"customer_id": [True]})
    with pytest.raises(InvalidEntityKeyError, match="string"):
        fs.get_online_features(features=["account_v"], entities={"account_code": [1]})
    with pytest.raises(InvalidEntityKeyError, match="same number"):
        fs.get_online_features(
            service="fraud_model", entities={"customer_id": [1, 2], "merchant_id": [1]}
        )
    for error in (UnknownFeatureViewError, InvalidEntityKeyError, UnknownServiceError):
        assert 400 <= error.http_status < 500


@pytest.mark.parametrize("batch", [False, True], ids=["one", "batch"])
def test_malformed_requests_are_clear_errors(fs: FeatureStore, batch: bool) -> None:
    """Bad input is a 4xx `PitstopError` naming the problem, never a raw
    TypeError/AttributeError/OverflowError from deep inside the lookup."""

    def ids(*values: Any) -> list[Any]:
        return [*values, 2] if batch else list(values)

    refs = ["customer_v:version"]
    # integer keys outside signed 64 bits (SQLite raised OverflowError)
    for huge in (99999999999999999999999, 2**63, -(2**63) - 1):
        with pytest.raises(InvalidEntityKeyError, match="64-bit"):
            fs.get_online_features(features=refs, entities={"customer_id": ids(huge)})
        with pytest.raises(InvalidEntityKeyError, match="64-bit"):
            fs.get_online_features(
                service="fraud_model",
                entity_rows=[{"customer_id": c, "merchant_id": 7} for c in ids(huge)],
            )
    import numpy as np

    with pytest.raises(InvalidEntityKeyError, match="64-bit"):
        fs.get_online_features(features=refs, entities={"customer_id": [np.uint64(2**64 - 1)]})
    # the edges of the range are valid keys (just not found)
    edges = fs.get_online_features(
        features=refs, entities={"customer_id": [2**63 - 1, -(2**63)]}, as_of=AS_OF
    )
    assert edges.statuses["customer_v:version"] == [Status.NOT_FOUND, Status.NOT_FOUND]
    # rows that are not mappings
    for rows in ([(42,)], [42], [{"customer_id": 1}, [1]], "customer_id", 42):
        with pytest.raises(InvalidRequestError, match="entity_rows"):
            fs.get_online_features(features=refs, entity_rows=rows)  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="entities"):
        fs.get_online_features(features=refs, entities=[("customer_id", [1])])  # type: ignore[arg-type]
    # features that are not a list of strings
    for features in ([["customer_v"]], {"customer_v": 1}, [None], 42, ["customer_v", 1]):
        with pytest.raises(InvalidRequestError, match="feature"):
            fs.get_online_features(features=features, entities={"customer_id": ids(1)})  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="service"):
        fs.get_online_features(service=["fraud_model"], entities={"customer_id": [1]})  # type: ignore[arg-type]
    # as_of that is neither a datetime nor a date
    for as_of in ("2025-06-01", 1_748_736_000, AS_OF.timestamp()):
        with pytest.raises(InvalidRequestError, match="as_of"):
            fs.get_online_features(features=refs, entities={"customer_id": ids(1)}, as_of=as_of)  # type: ignore[arg-type]
    for error in (InvalidEntityKeyError, InvalidRequestError):
        assert 400 <= error.http_status < 500


def test_scalar_entities_and_date_as_of(fs: FeatureStore) -> None:
    """Documented conveniences: a scalar key value is a one-entity column (a
    None key is NOT_FOUND) and a `date` as_of is its midnight (UTC)."""
    import numpy as np

    got = fs.get_online_features(features=["customer_v:version"], entities={"customer_id": 4})
    assert got.values["customer_v:version"] == [40]
    assert got.keys == {"customer_id": [4]}
    got = fs.get_online_features(
        features=["customer_v:version"], entities={"customer_id": np.int64(3)}
    )
    assert got.values["customer_v:version"] == [30]
    got = fs.get_online_features(features="customer_v:version", entities={"customer_id": None})
    assert got.statuses["customer_v:version"] == [Status.NOT_FOUND]
    got = fs.get_online_features(
        features=["account_v"], entities={"account_code": "A|1"}, as_of=AS_OF
    )
    assert got.values["account_v:balance"] == [1.5]
    # merchant 7's row is exactly as_of - 7d at AS_OF (kept), expired a day later
    for batch in ([7], [7, 9]):
        at_midnight = fs.get_online_features(
            features=["merchant_v:version"],
            entities={"merchant_id": batch},
            as_of=date(2025, 6, 1),
        )
        assert at_midnight.statuses["merchant_v:version"][0] == Status.PRESENT
        next_day = fs.get_online_features(
            features=["merchant_v:version"],
            entities={"merchant_id": batch},
            as_of=date(2025, 6, 2),
        )
        assert next_day.statuses["merchant_v:version"][0] == Status.EXPIRED


def test_empty_store_is_a_clear_error(online_env: dict[str, str]) -> None:
    fs = FeatureStore(online_env["project"])
    with pytest.raises(OnlineStoreError, match="materialize"):
        fs.get_online_features(features=["customer_v"], entities={"customer_id": [1]})


def test_numpy_style_integer_keys(fs: FeatureStore) -> None:
    import numpy as np

    got = fs.get_online_features(
        features=["customer_v:version"], entities={"customer_id": np.array([1, 2])}, as_of=AS_OF
    )
    assert got.values["customer_v:version"] == [10, 20]


def test_layout_change_is_noticed_by_a_running_reader(
    fs: FeatureStore, online_env: dict[str, str]
) -> None:
    """A reader holding a cached snapshot keeps working after a materialize
    that rewrote the view under a new layout (here: another TTL and one more
    feature, so the stored rows are wider than the cached plan expects), on
    the single-entity path and on a batch that mixes found and missing keys
    (whose stand-in rows must not be built with the stale width)."""
    got = fs.get_online_features(features=["customer_v:version"], entities={"customer_id": [1]})
    assert got.values["customer_v:version"] == [10]
    got = fs.get_online_features(
        features=["customer_v:version"], entities={"customer_id": [1, 999]}
    )
    assert got.values["customer_v:version"] == [10, None]
    online = fs.online_store
    meta = online.metadata()
    snapshot = RegistrySnapshot.from_json(meta.snapshot)
    assert snapshot is not None
    # simulate a newer layout written by another process
    writer = online.writer()
    with writer:
        old = snapshot.views["customer_v"]
        features = (*old.features, FeatureSpec("score", "bigint", None))
        spec = dataclasses.replace(old, ttl_seconds=3600, features=features, layout=old.layout + 1)
        snapshot.views["customer_v"] = spec
        from pitstop.online.codec import pack

        writer.reset("customer_v", True)
        us = 1_746_057_600_000_000  # 2025-05-01
        writer.write("customer_v", [(1, us, us, pack(spec.layout, us, us, [11, "x", 5]))])
        writer.commit(snapshot.to_json(), meta.watermarks)
    got = fs.get_online_features(
        features=["customer_v:version"], entities={"customer_id": [1, 999]}, as_of=t("2025-05-01")
    )
    assert got.values["customer_v:version"] == [11, None]
    assert got.statuses["customer_v:version"] == [Status.PRESENT, Status.NOT_FOUND]
    got = fs.get_online_features(
        features=["customer_v:version"], entities={"customer_id": [1]}, as_of=t("2025-05-01")
    )
    assert got.values["customer_v:version"] == [11]
    got = fs.get_online_features(
        features=["customer_v:score"], entities={"customer_id": [1]}, as_of=t("2025-05-01")
    )
    assert got.values["customer_v:score"] == [5]


SKEW_VIEWS = ["customer_v", "merchant_v", "typed_features", "customer_scd2"]


def test_training_serving_skew_is_zero(online_env: dict[str, str]) -> None:
    """The value served online for each entity equals the point-in-time
    join's value (pitstop.offline.training.training_set, the PIT macro) at the
    materialization time: random data with ties, late rows, TTL edges, NULLs
    and rows after as_of."""
    pytest.importorskip("pitstop.offline.training")
    rng = random.Random(7)
    db = Path(online_env["duckdb"])
    _empty(db)
    base = t("2025-05-20")

    def moment() -> datetime:
        return base + timedelta(hours=rng.randrange(0, 24 * 14))

    customer_rows = []
    for c in range(1, 41):
        for _ in range(rng.randrange(0, 5)):
            at = moment()
            ingested = at + timedelta(hours=rng.choice([0, 0, 1, 30]))
            customer_rows.append(
                {"customer_id": c, "feature_at": at, "ingested_at": ingested,
                 "version": rng.randrange(100), "tag": rng.choice(["a", None])}
            )  # fmt: skip
        if customer_rows and rng.random() < 0.3:
            # a tie on the feature timestamp, broken by the created timestamp
            tie = dict(customer_rows[-1])
            tie["version"] = tie["version"] + 1000
            tie["ingested_at"] = tie["ingested_at"] + timedelta(seconds=1)
            customer_rows.append(tie)
    merchant_rows = [
        {"merchant_id": m, "feature_at": moment(), "version": rng.randrange(100)}
        for m in range(1, 31)
        for _ in range(rng.randrange(0, 4))
    ]
    typed_rows = [
        {"customer_id": c, "feature_at": moment(), "ingested_at": base, "f_int": rng.randrange(9),
         "f_float": rng.random(), "f_bool": rng.random() < 0.5, "f_text": rng.choice(["x", None])}
        for c in range(1, 41)
        for _ in range(rng.randrange(0, 3))
    ]  # fmt: skip
    # SCD2: per customer a chain of intervals; the last one open, or closed
    # before the first run, between the two runs, or after as_of
    scd2_rows = []
    for c in range(1, 41):
        start = moment()
        for _ in range(rng.randrange(0, 4)):
            end = start + timedelta(hours=rng.randrange(1, 24 * 5))
            scd2_rows.append(
                {"customer_id": c, "valid_from": start, "valid_to": end,
                 "tier": rng.choice(["gold", "basic", None])}
            )  # fmt: skip
            start = end
        if scd2_rows and scd2_rows[-1]["customer_id"] == c and rng.random() < 0.4:
            scd2_rows[-1]["valid_to"] = None
    write_view(db, "customer_v", customer_rows)
    write_view(db, "merchant_v", merchant_rows)
    write_view(db, "typed_features", typed_rows)
    write_view(db, "customer_scd2", scd2_rows)
    as_of = t("2025-05-27 12:00")
    fs = FeatureStore(online_env["project"])
    fs.materialize(as_of=t("2025-05-24"))  # then incrementally up to as_of
    fs.materialize(as_of=as_of)

    import pandas as pd

    spine = pd.DataFrame(
        {
            "customer_id": list(range(1, 41)),
            "merchant_id": [m % 31 for m in range(1, 41)],
            "event_at": [as_of] * 40,
        }
    )
    refs = SKEW_VIEWS
    offline = fs.training_set(spine, features=refs, spine_timestamp="event_at")
    online = fs.get_online_features(
        features=refs,
        entities={"customer_id": list(spine.customer_id), "merchant_id": list(spine.merchant_id)},
        as_of=as_of,
    )
    checked = 0
    for ref in online.refs:
        column = ref.replace(":", "__")
        for i, served in enumerate(online.values[ref]):
            trained = offline[column].iloc[i]
            trained = None if pd.isna(trained) else trained
            if isinstance(trained, float) or isinstance(served, float):
                assert trained == pytest.approx(served, rel=0, abs=0), (ref, i)
            else:
                assert (None if trained is None else type(served)(trained)) == served, (ref, i)
            checked += 1
    assert checked == 40 * len(online.refs)


def test_cli_get_and_materialize(online_env: dict[str, str], fs: FeatureStore) -> None:
    from pitstop.cli import cli

    runner = CliRunner()
    project = ["--project-dir", online_env["project"]]
    done = runner.invoke(cli, [*project, "materialize", "--json", "--as-of", "2025-06-01"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["rows_read"] == 0
    done = runner.invoke(cli, [*project, "materialize", "-s", "customer_v", "--full-refresh"])
    assert done.exit_code == 0, done.output
    assert "1 view(s)" in done.output and "entities written" in done.output
    got = runner.invoke(
        cli,
        [*project, "get", "customer_id=1", "merchant_id=7", "--service", "fraud_model",
         "--as-of", "2025-06-01"],
    )  # fmt: skip
    assert got.exit_code == 0, got.output
    data = json.loads(got.output)
    assert data["entity"] == {"customer_id": 1, "merchant_id": 7}
    assert data["features"]["pair_v:version"] == {
        "value": 17,
        "status": "PRESENT",
        "timestamp": "2025-05-01T00:00:00",
    }
    typed = runner.invoke(cli, [*project, "get", "customer_id=1", "-f", "typed_features"])
    assert typed.exit_code == 0, typed.output
    assert json.loads(typed.output)["features"]["typed_features:f_dec"]["value"] in (
        None,
        "12345.6789",
    )
    bad = runner.invoke(cli, [*project, "get", "customer_id=x", "-f", "customer_v"])
    assert bad.exit_code != 0
    assert "InvalidEntityKeyError" in bad.output and "Traceback" not in bad.output
    bad = runner.invoke(cli, [*project, "get", "customer_id", "-f", "customer_v"])
    assert bad.exit_code != 0


def test_cold_get_imports_neither_dbt_mlflow_nor_pandas(
    online_env: dict[str, str], fs: FeatureStore
) -> None:
    code = (
        "import sys\n"
        "from pitstop.cli import main\n"
        "try:\n"
        "    main(['get', 'customer_id=1', '-f', 'customer_v'])\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        "heavy = ('dbt', 'mlflow', 'pandas', 'duckdb', 'pyarrow')\n"
        "print('HEAVY', [m for m in heavy if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PITSTOP_PROJECT_DIR": online_env["project"]},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "HEAVY []" in done.stdout, done.stdout + done.stderr
    assert (
        json.loads(done.stdout.split("HEAVY")[0])["features"]["customer_v:version"]["value"] == 10
    )
