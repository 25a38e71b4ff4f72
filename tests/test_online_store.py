"""The online-store layer on its own: codec, config, and the store contract
(atomic commit, abort, never older over newer, teardown) on SQLite and Redis."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pitstop import OnlineStoreError
from pitstop.online import get_online_store, online_store_config
from pitstop.online.base import OnlineStore
from pitstop.online.codec import encode_key, key_sql, pack, unpack
from pitstop.online.spec import FeatureSpec, ViewSpec, _layout_id


def test_key_encoding() -> None:
    assert encode_key([42], ["bigint"]) == 42
    assert encode_key(["42"], ["varchar"]) == "42"
    assert encode_key([42, 7], ["bigint", "bigint"]) == "42|7"
    assert encode_key(["a|b", 1], ["varchar", "integer"]) == "a\\|b|1"
    assert encode_key(["a\\", "|"], ["varchar", "varchar"]) == "a\\\\|\\|"


def test_key_sql_matches_encode_key() -> None:
    import duckdb

    cases: list[tuple[list[Any], list[str]]] = [
        ([42, 7], ["bigint", "bigint"]),
        (["a|b", 1], ["varchar", "integer"]),
        (["a\\", "|"], ["varchar", "varchar"]),
        (["été", -3], ["varchar", "bigint"]),
    ]
    con = duckdb.connect()
    for parts, types in cases:
        columns = [f"c{i}" for i in range(len(parts))]
        select = ", ".join(f"?::{t} as c{i}" for i, t in enumerate(types))
        sql = f"select {key_sql(columns, types)} from (select {select})"
        assert con.execute(sql, parts).fetchall()[0][0] == encode_key(parts, types)


def test_pack_round_trips_exactly() -> None:
    values = [2**70, -0.0, float("nan"), True, False, None, "x\u0000y", [1.5, -0.0, 5e-324], []]
    row = unpack(pack(123, -5, None, values))
    assert row[:3] == (123, -5, None)
    assert [type(v) for v in row[3:]] == [type(v) for v in values]
    assert math.copysign(1, row[4]) == -1 and math.isnan(row[5])
    assert row[9] == "x\u0000y" and math.copysign(1, row[10][1]) == -1


def test_view_spec_round_trips_and_layout_is_sensitive() -> None:
    def spec(ttl: int | None, dtype: str = "bigint") -> ViewSpec:
        features = (FeatureSpec("a", dtype, None),)
        keys = (("customer_id", "bigint"),)
        return ViewSpec(
            "v", "customer", keys, "ts", None, ttl, features, _layout_id(keys, features, ttl)
        )

    base = spec(None)
    assert ViewSpec.from_json("v", base.to_json()) == base
    assert base.layout == spec(None).layout
    assert len({base.layout, spec(60).layout, spec(None, "double").layout}) == 3
    with pytest.raises(OnlineStoreError, match="malformed"):
        ViewSpec.from_json("v", {**base.to_json(), "keys": 5})


def test_config_resolution(tmp_path: Path) -> None:
    default = online_store_config({}, tmp_path, env={})
    assert default == {"type": "sqlite", "path": str(tmp_path / ".pitstop/online.sqlite")}
    configured = {"pitstop_online_store": {"type": "redis", "url": "redis://h:1/2"}}
    assert online_store_config(configured, tmp_path, env={})["url"] == "redis://h:1/2"
    env = {"PITSTOP_ONLINE_STORE": "redis://x:6379/0"}
    assert online_store_config(configured, tmp_path, env=env)["url"] == "redis://x:6379/0"
    for text, path in [
        ("sqlite:///abs/o.sqlite", "/abs/o.sqlite"),
        ("sqlite:rel/o.sqlite", str(tmp_path / "rel/o.sqlite")),
        ("here.db", str(tmp_path / "here.db")),
    ]:
        config = online_store_config({}, tmp_path, env={"PITSTOP_ONLINE_STORE": text})
        assert config == {"type": "sqlite", "path": path}
    with pytest.raises(OnlineStoreError, match="neither"):
        online_store_config({}, tmp_path, env={"PITSTOP_ONLINE_STORE": "mysql://x"})
    with pytest.raises(OnlineStoreError, match="unknown"):
        online_store_config({"pitstop_online_store": {"type": "cassandra"}}, tmp_path, env={})


@pytest.fixture(params=["sqlite", "redis"])
def online(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OnlineStore]:
    if request.param == "redis":
        url = request.getfixturevalue("redis_server")
        config: dict[str, Any] = {"type": "redis", "url": url, "prefix": f"t{id(tmp_path)}"}
    else:
        config = {"type": "sqlite", "path": str(tmp_path / "o.sqlite")}
    store = get_online_store(config)
    yield store
    store.teardown()
    store.close()


SNAPSHOT: dict[str, Any] = {"format": 1, "views": {}, "services": {}}


def _row(key: Any, ts: int, cts: int | None, value: Any) -> tuple[Any, int, int | None, bytes]:
    return (key, ts, cts, pack(1, ts, cts, [value]))


def _values(store: OnlineStore, view: str, keys: list[Any]) -> dict[Any, Any]:
    return {k: unpack(v)[3] for k, v in store.read([(view, keys)])[0].items()}


def test_commit_publishes_abort_discards(online: OnlineStore) -> None:
    with online.writer() as writer:
        assert writer.metadata().snapshot is None
        writer.reset("v", True)
        assert writer.write("v", [_row(1, 10, None, "a"), _row(2, 10, None, "b")]) == 2
        writer.commit(SNAPSHOT, {"v": {"as_of_us": 10}})
    assert _values(online, "v", [1, 2, 3]) == {1: "a", 2: "b"}
    assert online.metadata().watermarks == {"v": {"as_of_us": 10}}
    with online.writer() as writer:
        writer.write("v", [_row(1, 20, None, "changed")])
        writer.reset("w", False)
        writer.write("w", [_row("k", 1, None, "new")])
        # leaving the block without commit discards everything
    assert _values(online, "v", [1, 2]) == {1: "a", 2: "b"}
    assert online.metadata().watermarks == {"v": {"as_of_us": 10}}


def test_never_older_over_newer(online: OnlineStore) -> None:
    with online.writer() as writer:
        writer.reset("v", False)
        writer.write("v", [_row("a", 10, 5, "a10"), _row("b", 10, None, "b10")])
        writer.commit(SNAPSHOT, {})
    with online.writer() as writer:
        written = writer.write(
            "v",
            [
                _row("a", 9, 99, "older ts"),  # older feature timestamp: loses
                _row("b", 10, 1, "same ts, created"),  # created beats no created
                _row("c", 1, None, "new key"),
            ],
        )
        assert written == 2
        writer.write("v", [_row("a", 10, 4, "older created")])  # loses
        writer.write("v", [_row("a", 10, 5, "replay")])  # same version: latest run wins
        writer.commit(SNAPSHOT, {})
    assert _values(online, "v", ["a", "b", "c"]) == {
        "a": "replay",
        "b": "same ts, created",
        "c": "new key",
    }


def test_reset_replaces_the_view_and_teardown_empties(online: OnlineStore) -> None:
    with online.writer() as writer:
        writer.reset("v", True)
        writer.write("v", [_row(1, 1, None, "x"), _row(2, 1, None, "y")])
        writer.commit(SNAPSHOT, {})
    with online.writer() as writer:
        writer.reset("v", True)
        writer.write("v", [_row(2, 0, None, "rebuilt")])
        writer.commit(SNAPSHOT, {})
    assert _values(online, "v", [1, 2]) == {2: "rebuilt"}
    with online.writer() as writer:
        writer.reset("v", True)  # rebuilt empty
        writer.commit(SNAPSHOT, {})
    assert _values(online, "v", [1, 2]) == {}
    online.teardown()
    assert online.metadata().snapshot is None
