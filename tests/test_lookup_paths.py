"""The lookup read paths against each other, on SQLite and a real Redis: a
batch answers every row exactly as a single lookup of that row does (the
batch path reads all views in request order, in one statement or one Lua
script; the single path in one statement or one script call), including
None keys, repeats, absent keys, odd string keys and the 64-bit extremes;
Redis reloads its lookup scripts after the server forgot them and falls back
to a pipeline when scripts are refused."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from _online_project import t, write_view

from pitstop import FeatureStore

AS_OF = t("2025-06-01 00:00")
ODD_CODES = ["A|1", "été", 'q"uote', "back\\slash", "[1,2]", "null", "", " 9", "\u2603|\\|"]
REFS = ["customer_v", "merchant_v:version", "pair_v:version", "account_v"]


@pytest.fixture
def fs(online_env: dict[str, str]) -> FeatureStore:
    db = Path(online_env["duckdb"])
    for view in ("typed_features", "customer_scd2"):
        write_view(db, view, [])
    customers = [1, 2, 3, 2**63 - 1, -(2**63)]
    write_view(
        db,
        "customer_v",
        [
            {"customer_id": c, "feature_at": t("2025-05-01"), "ingested_at": t("2025-05-01"),
             "version": i, "tag": None if i == 2 else f"c{i}"}
            for i, c in enumerate(customers)
        ],
    )  # fmt: skip
    write_view(
        db,
        "merchant_v",
        [
            {"merchant_id": 7, "feature_at": t("2025-05-25"), "version": 70},  # ttl 7d: edge
            {"merchant_id": 8, "feature_at": t("2025-05-24 23:59:59"), "version": 80},  # expired
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
            {"account_code": code, "feature_at": t("2025-05-31 23:00"), "balance": float(i)}
            for i, code in enumerate(ODD_CODES)
        ],
    )
    store = FeatureStore(online_env["project"])
    store.materialize(as_of=AS_OF)
    return store


def _rows() -> list[dict[str, Any]]:
    customers: list[Any] = [1, 2, 3, 4, 2**63 - 1, -(2**63), None, 1, 1]
    merchants: list[Any] = [7, 8, 9, None, 7, 7, 7, 7, 8]
    codes: list[Any] = [*ODD_CODES, "absent", None]
    rows = []
    for i in range(60):
        rows.append(
            {
                "customer_id": customers[i % len(customers)],
                "merchant_id": merchants[(i // 2) % len(merchants)],
                "account_code": codes[i % len(codes)],
            }
        )
    return rows


def _answer(got: Any, row: int) -> list[tuple[Any, str, Any]]:
    return [
        (got.values[ref][row], str(got.statuses[ref][row]), got.timestamp(ref, row))
        for ref in got.refs
    ]


def test_a_batch_answers_as_single_lookups_do(fs: FeatureStore) -> None:
    rows = _rows()
    batch = fs.get_online_features(features=REFS, entity_rows=rows, as_of=AS_OF)
    assert len(batch) == len(rows)
    statuses = {str(s) for ref in batch.refs for s in batch.statuses[ref]}
    assert statuses == {"PRESENT", "NOT_FOUND", "NULL", "EXPIRED"}
    for i, row in enumerate(rows):
        one = fs.get_online_features(features=REFS, entity_rows=[row], as_of=AS_OF)
        assert _answer(batch, i) == _answer(one, 0), row
    # the same through entities= columns
    columns = {name: [row[name] for row in rows] for name in rows[0]}
    again = fs.get_online_features(features=REFS, entities=columns, as_of=AS_OF)
    assert [_answer(again, i) for i in range(len(rows))] == [
        _answer(batch, i) for i in range(len(rows))
    ]
    # every odd string key is found, by value
    found = fs.get_online_features(
        features=["account_v:balance"], entities={"account_code": ODD_CODES}, as_of=AS_OF
    )
    assert found.values["account_v:balance"] == [float(i) for i in range(len(ODD_CODES))]
    ends = fs.get_online_features(
        features=["customer_v:version"],
        entities={"customer_id": [2**63 - 1, -(2**63), 2**63 - 2]},
        as_of=AS_OF,
    )
    assert ends.values["customer_v:version"] == [3, 4, None]


def test_redis_reloads_its_scripts_after_a_flush(
    fs: FeatureStore, online_env: dict[str, str]
) -> None:
    if online_env["kind"] != "redis":
        pytest.skip("Redis only: its lookups run a server-side script")
    rows = _rows()
    before = fs.get_online_features(features=REFS, entity_rows=rows, as_of=AS_OF)
    single = fs.get_online_features(features=REFS, entity_rows=rows[:1], as_of=AS_OF)
    client = fs.online_store.client()  # type: ignore[attr-defined]
    client.script_flush()
    assert fs.get_online_features(features=REFS, entity_rows=rows, as_of=AS_OF).to_dict(
        statuses=True
    ) == before.to_dict(statuses=True)
    client.script_flush()
    assert fs.get_online_features(features=REFS, entity_rows=rows[:1], as_of=AS_OF).to_dict(
        statuses=True
    ) == single.to_dict(statuses=True)


def test_redis_without_scripts_reads_through_a_pipeline(
    fs: FeatureStore, online_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if online_env["kind"] != "redis":
        pytest.skip("Redis only")
    rows = _rows()
    expected = fs.get_online_features(features=REFS, entity_rows=rows, as_of=AS_OF)
    expected_one = fs.get_online_features(features=REFS, entity_rows=rows[:1], as_of=AS_OF)
    client = fs.online_store.client()  # type: ignore[attr-defined]
    # a user the server refuses scripts to (an ACL, as a managed Redis may have)
    client.execute_command(
        "ACL", "SETUSER", "noscripts", "on", "nopass", "~*", "+@all", "-@scripting"
    )
    url = online_env["url"].replace("redis://", "redis://noscripts:x@")
    monkeypatch.setenv("PITSTOP_ONLINE_STORE", url)
    limited = FeatureStore(online_env["project"])
    got = limited.get_online_features(features=REFS, entity_rows=rows, as_of=AS_OF)
    assert got.to_dict(statuses=True) == expected.to_dict(statuses=True)
    one = limited.get_online_features(features=REFS, entity_rows=rows[:1], as_of=AS_OF)
    assert one.to_dict(statuses=True) == expected_one.to_dict(statuses=True)
    assert limited.online_store._scripts is False  # type: ignore[attr-defined]


def test_redis_lookups_survive_dropped_connections_and_threads(
    fs: FeatureStore, online_env: dict[str, str]
) -> None:
    if online_env["kind"] != "redis":
        pytest.skip("Redis only: lookups keep a connection per thread")
    rows = _rows()
    expected = fs.get_online_features(features=REFS, entity_rows=rows, as_of=AS_OF)
    expected_one = fs.get_online_features(features=REFS, entity_rows=rows[:1], as_of=AS_OF)
    client = fs.online_store.client()  # type: ignore[attr-defined]
    for _ in range(2):
        # the server drops every other client: the lookup connection reconnects
        client.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        got = fs.get_online_features(features=REFS, entity_rows=rows, as_of=AS_OF)
        assert got.to_dict(statuses=True) == expected.to_dict(statuses=True)
        client.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        one = fs.get_online_features(features=REFS, entity_rows=rows[:1], as_of=AS_OF)
        assert one.to_dict(statuses=True) == expected_one.to_dict(statuses=True)

    def work(start: int) -> list[dict[str, list[Any]]]:
        return [
            fs.get_online_features(
                features=REFS, entity_rows=rows[(start + i) % len(rows) :][:5], as_of=AS_OF
            ).to_dict(statuses=True)
            for i in range(30)
        ]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, range(4)))
    for start, got_all in enumerate(results):
        for i, got_dict in enumerate(got_all):
            chunk = rows[(start + i) % len(rows) :][:5]
            alone = fs.get_online_features(features=REFS, entity_rows=chunk, as_of=AS_OF)
            assert got_dict == alone.to_dict(statuses=True)
    fs.online_store.close()
    assert fs.get_online_features(features=REFS, entity_rows=rows, as_of=AS_OF).to_dict(
        statuses=True
    ) == expected.to_dict(statuses=True)
