"""The SQLite writer's integrity check: a run that empties no view checks the
store as last committed on a connection of its own while it writes, and its
commit fails on damage with nothing published; a run that empties views checks
what it keeps, at once. Real SQLite files, damaged by hand."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pitstop import OnlineStoreError
from pitstop.online.sqlite import SQLiteOnlineStore


def _store(tmp_path: Path) -> SQLiteOnlineStore:
    store = SQLiteOnlineStore({"path": str(tmp_path / "online.sqlite")})
    with store.writer() as writer:
        writer.reset("big", True)
        keys = list(range(3000))
        writer.write_columns("big", keys, [1] * 3000, [None] * 3000, [b"x" * 200] * 3000)
        writer.reset("small", True)  # created after big: its pages are at the end
        writer.write_columns("small", [1], [1], [None], [b"one"])
        writer.commit({}, {})
    return store


def _damage_the_middle(path: Path) -> None:
    size = path.stat().st_size
    with path.open("r+b") as f:  # garbage over pages of "big"
        f.seek(size // 2)
        f.write(b"\xff" * 8192)


def _small(path: Path) -> list[tuple[int, bytes]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute('select k, v from "view__small" order by k').fetchall()
    finally:
        conn.close()


def test_an_incremental_run_on_a_damaged_store_publishes_nothing(tmp_path: Path) -> None:
    store = _store(tmp_path)
    _damage_the_middle(store.path)
    writer = store.writer()
    try:
        writer.check()  # nothing emptied: checks alongside the writes
        # an upsert that only touches the undamaged view succeeds...
        assert writer.write_columns("small", [2], [2], [None], [b"two"]) == 1
        # ...but the commit waits for the check and refuses the damaged store
        with pytest.raises(OnlineStoreError, match="is damaged") as caught:
            writer.commit({}, {})
        assert "delete it (rm" in str(caught.value)
    finally:
        writer.abort()
    assert _small(store.path) == [(1, b"one")]


def test_a_run_emptying_the_damaged_view_checks_what_it_keeps(tmp_path: Path) -> None:
    """Dropping the damaged view walks its pages: damage there fails the drop,
    or, if the drop gets through, the check of what is kept sees it."""
    store = _store(tmp_path)
    _damage_the_middle(store.path)
    writer = store.writer()
    try:
        with pytest.raises(OnlineStoreError, match="is damaged"):
            writer.reset("big", True)
            writer.check()
    finally:
        writer.abort()
    assert _small(store.path) == [(1, b"one")]


def test_an_undamaged_store_commits(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with store.writer() as writer:
        writer.check()
        writer.write_columns("small", [2], [2], [None], [b"two"])
        writer.commit({}, {})
    assert _small(store.path) == [(1, b"one"), (2, b"two")]
    with store.writer() as writer:
        writer.reset("big", True)
        writer.check()  # after emptying: at once
        writer.commit({}, {})
    store.close()
