"""The SQLite writer's bulk path (`write_columns`): however the values and
created timestamps come (``bytes`` or ``bytearray``, NULL created timestamps
for every row, some rows or none), the store holds the same BLOBs and
NULLs, and an incremental upsert keeps the newer (timestamp, created
timestamp) value. Real SQLite files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pitstop.online.sqlite import SQLiteOnlineStore

# more rows than one INSERT statement takes, and a remainder
ROWS = 457


def _stored(path: Path, view: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            f'select k, ts, cts, typeof(cts), v, typeof(v) from "view__{view}" order by k'
        ).fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("kind", [bytes, bytearray])
@pytest.mark.parametrize("created", ["none", "some", "all"])
def test_rows_are_stored_as_given(tmp_path: Path, kind: type, created: str) -> None:
    store = SQLiteOnlineStore({"path": str(tmp_path / "online.sqlite")})
    keys = list(range(ROWS))
    ts = [1_000 + k for k in keys]
    cts: list[int | None] = {
        "none": [None] * ROWS,
        "some": [None if k % 3 else 2_000 + k for k in keys],
        "all": [2_000 + k for k in keys],
    }[created]
    values = [kind(b"v%d" % k) for k in keys]
    writer = store.writer()
    try:
        writer.reset("view", True)
        assert writer.write_columns("view", keys, ts, cts, values) == ROWS
        writer.commit({}, {})
    finally:
        writer.abort()
    assert _stored(store.path, "view") == [
        (k, t, c, "null" if c is None else "integer", b"v%d" % k, "blob")
        for k, t, c in zip(keys, ts, cts, strict=True)
    ]
    assert store.read([("view", [0, ROWS - 1])]) == [{0: b"v0", ROWS - 1: b"v%d" % (ROWS - 1)}]
    store.close()


def test_an_upsert_without_created_timestamps_keeps_the_newer_value(tmp_path: Path) -> None:
    store = SQLiteOnlineStore({"path": str(tmp_path / "online.sqlite")})
    keys = list(range(ROWS))
    with store.writer() as writer:
        writer.reset("view", True)
        writer.write_columns("view", keys, [10] * ROWS, [None] * ROWS, [b"old"] * ROWS)
        writer.commit({}, {})
    # even keys get a newer value, odd keys an older one: only the even change
    ts = [20 if k % 2 == 0 else 5 for k in keys]
    with store.writer() as writer:
        written = writer.write_columns("view", keys, ts, [None] * ROWS, [bytearray(b"new")] * ROWS)
        writer.commit({}, {})
    assert written == (ROWS + 1) // 2
    assert [(k, t, v) for k, t, _, _, v, _ in _stored(store.path, "view")] == [
        (k, 20, b"new") if k % 2 == 0 else (k, 10, b"old") for k in keys
    ]
    store.close()
