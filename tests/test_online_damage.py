"""A damaged or edited online store is an `OnlineStoreError` that says how to
recover, never a traceback and never a materialize that reports "0 rows":
overwritten pages, a dropped view table or Redis hash, metadata or values that
do not decode, a malformed Redis URL. A full refresh rebuilds what it can."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from _online_project import t, write_view
from click.testing import CliRunner

from pitstop import FeatureStore, OnlineStoreError
from pitstop.cli import cli
from pitstop.online.base import get_online_store, online_store_config

AS_OF = t("2025-06-01")
VIEWS = ("typed_features", "customer_v", "merchant_v", "pair_v", "account_v", "customer_scd2")
REBUILD = "pitstop materialize --full-refresh"


def _materialized(env: dict[str, str], customers: int = 300) -> FeatureStore:
    db = Path(env["duckdb"])
    for view in VIEWS:
        write_view(db, view, [])
    write_view(
        db,
        "customer_v",
        [{"customer_id": c, "feature_at": t("2025-05-01"), "ingested_at": t("2025-05-01"),
          "version": c, "tag": "x" * 200} for c in range(customers)],
    )  # fmt: skip
    write_view(db, "merchant_v", [{"merchant_id": 7, "feature_at": t("2025-05-30"), "version": 7}])
    fs = FeatureStore(env["project"])
    fs.materialize(as_of=AS_OF)
    return fs


def _redis(env: dict[str, str]) -> object:
    import redis

    return redis.Redis.from_url(env["url"])


def _sqlite_path(env: dict[str, str]) -> Path:
    return Path(env["url"].removeprefix("sqlite:"))


def _edit_sqlite(env: dict[str, str], sql: str, *params: object) -> None:
    conn = sqlite3.connect(_sqlite_path(env))
    try:
        conn.execute(sql, params)
        conn.commit()
    finally:
        conn.close()


def _lookup(fs: FeatureStore, ids: list[int]) -> object:
    fs.reload()
    return fs.get_online_features(
        features=["customer_v:version"], entities={"customer_id": ids}, as_of=AS_OF
    )


def test_lost_view_values_stop_an_incremental_run(online_env: dict[str, str]) -> None:
    fs = _materialized(online_env)
    if online_env["kind"] == "sqlite":
        _edit_sqlite(online_env, 'drop table "view__customer_v"')
    else:
        _redis(online_env).delete("pitstop:view:customer_v")  # type: ignore[attr-defined]
    with pytest.raises(OnlineStoreError, match=r"has lost the values of view\(s\) customer_v") as e:
        fs.materialize(as_of=AS_OF)
    assert REBUILD in str(e.value)
    assert "--select customer_v" in str(e.value)
    # a full refresh (of that view alone, even) rebuilds it
    fs.materialize(as_of=AS_OF, select=["customer_v"], full_refresh=True)
    assert _lookup(fs, [5]).value("customer_v:version") == 5  # type: ignore[attr-defined]
    fs.materialize(as_of=AS_OF)  # incremental again: nothing lost any more


def test_a_legitimately_empty_view_is_not_lost(online_env: dict[str, str]) -> None:
    """Redis keeps no hash for a view without rows: that is not damage."""
    fs = _materialized(online_env)
    fs.materialize(as_of=AS_OF)  # pair_v, account_v... are empty views
    fs.materialize(as_of=t("2025-06-02"))


def test_overwritten_pages_are_detected(online_env: dict[str, str]) -> None:
    if online_env["kind"] != "sqlite":
        pytest.skip("page damage is a SQLite file's problem")
    fs = _materialized(online_env)
    path = _sqlite_path(online_env)
    size = path.stat().st_size
    with path.open("r+b") as f:  # garbage over the pages after the schema page
        f.seek(size // 2)
        f.write(b"\xff" * 8192)
    for full in (False, True):
        with pytest.raises(OnlineStoreError, match="is damaged") as e:
            fs.materialize(as_of=AS_OF, full_refresh=full)
        assert f"delete it (rm {path}" in str(e.value)
        assert "run `pitstop materialize`" in str(e.value)
    # deleting the file, as the message says, recovers
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    fs.materialize(as_of=AS_OF)
    assert _lookup(fs, [5]).value("customer_v:version") == 5  # type: ignore[attr-defined]


def test_a_file_that_is_not_a_database(online_env: dict[str, str]) -> None:
    if online_env["kind"] != "sqlite":
        pytest.skip("SQLite only")
    fs = _materialized(online_env)
    path = _sqlite_path(online_env)
    path.write_bytes(b"this is not a database" * 500)
    with pytest.raises(OnlineStoreError, match="is damaged"):
        fs.materialize(as_of=AS_OF)
    with pytest.raises(OnlineStoreError, match="is damaged"):
        _lookup(fs, [1])


def _break_metadata(env: dict[str, str]) -> None:
    if env["kind"] == "sqlite":
        _edit_sqlite(env, "update pitstop_meta set value = '{bad' where key = 'snapshot'")
    else:
        _redis(env).hset("pitstop:meta", "snapshot", "{bad")  # type: ignore[attr-defined]


def test_unreadable_metadata(online_env: dict[str, str]) -> None:
    fs = _materialized(online_env)
    _break_metadata(online_env)
    with pytest.raises(OnlineStoreError, match="holds unreadable metadata") as e:
        _lookup(fs, [1])
    assert REBUILD in str(e.value)
    with pytest.raises(OnlineStoreError, match="holds unreadable metadata"):
        fs.materialize(as_of=AS_OF)
    # a full refresh rewrites it
    fs.materialize(as_of=AS_OF, full_refresh=True)
    assert _lookup(fs, [5]).value("customer_v:version") == 5  # type: ignore[attr-defined]


@pytest.mark.parametrize("blob", [b"\x00\xff", b"garbage", b"\xe9\x03\x00\x00"], ids=repr)
def test_a_value_that_does_not_decode(online_env: dict[str, str], blob: bytes) -> None:
    fs = _materialized(online_env)
    if online_env["kind"] == "sqlite":
        _edit_sqlite(online_env, 'update "view__customer_v" set v = ? where k = 42', blob)
    else:
        _redis(online_env).hset("pitstop:view:customer_v", "42", blob)  # type: ignore[attr-defined]
    for ids in ([42], [1, 42]):  # the single-entity path and the batch path
        with pytest.raises(OnlineStoreError, match="value of view 'customer_v' that does not"):
            _lookup(fs, ids)
    assert _lookup(fs, [1]).value("customer_v:version") == 1  # type: ignore[attr-defined]
    if online_env["kind"] == "redis":
        # an incremental run compares against stored values: it must say what is wrong
        write_view(
            Path(online_env["duckdb"]),
            "customer_v",
            [{"customer_id": 42, "feature_at": t("2025-05-02"), "ingested_at": t("2025-05-02"),
              "version": 1, "tag": "y"}],
        )  # fmt: skip
        with pytest.raises(OnlineStoreError, match="view 'customer_v' for key 42 "):
            fs.materialize(as_of=t("2025-06-02"))
    fs.materialize(as_of=t("2025-06-02"), full_refresh=True)


def test_cli_errors_are_one_line(online_env: dict[str, str]) -> None:
    _materialized(online_env)
    _break_metadata(online_env)
    runner = CliRunner()
    base = ["--project-dir", online_env["project"]]
    for args in (["get", "customer_id=1", "-f", "customer_v"], ["materialize"]):
        result = runner.invoke(cli, [*base, *args])
        assert result.exit_code == 1, result.output
        assert result.output.startswith("Error: OnlineStoreError: the online store")
        assert isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(
    "url",
    ["redis://127.0.0.1:notaport/0", "redis://user:secret@127.0.0.1:99999999/0",
     "redis://127.0.0.1:6379/notadb"],
)  # fmt: skip
def test_malformed_redis_url(url: str, tmp_path: Path) -> None:
    with pytest.raises(OnlineStoreError, match=r"URL .* is malformed") as e:
        get_online_store(online_store_config({}, tmp_path, env={"PITSTOP_ONLINE_STORE": url}))
    assert "secret" not in str(e.value)


def test_cli_malformed_redis_url(
    online_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if online_env["kind"] != "sqlite":
        pytest.skip("once is enough")
    monkeypatch.setenv("PITSTOP_ONLINE_STORE", "redis://127.0.0.1:notaport/0")
    runner = CliRunner()
    for args in (["get", "customer_id=1", "-f", "customer_v"], ["materialize"]):
        result = runner.invoke(cli, ["--project-dir", online_env["project"], *args])
        assert result.exit_code == 1, result.output
        assert "Error: OnlineStoreError: the redis online store URL" in result.output
        assert "notaport" in result.output
