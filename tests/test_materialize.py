"""`pitstop.online.materialize`: full and incremental runs, never older over newer,
atomicity under kill -9, readers during writes, on SQLite and Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from _online_project import append_view, t, write_view

from pitstop import ContractError, FeatureStore, MaterializationError, UnknownFeatureViewError
from pitstop.online.base import get_online_store, online_store_config
from pitstop.online.spec import RegistrySnapshot

AS_OF = t("2025-06-01 00:00")


def _store(env: dict[str, str]) -> FeatureStore:
    return FeatureStore(env["project"])


def _online(env: dict[str, str]) -> Any:
    fs = _store(env)
    return get_online_store(online_store_config(fs.project.vars, fs.project.root))


def _empty_views(env: dict[str, str], *skip: str) -> None:
    for view in ("typed_features", "customer_v", "merchant_v", "pair_v", "account_v"):
        if view not in skip:
            write_view(Path(env["duckdb"]), view, [])
    if "customer_scd2" not in skip:
        write_view(Path(env["duckdb"]), "customer_scd2", [])


def _versions(env: dict[str, str], ids: list[int], as_of: datetime = AS_OF) -> list[Any]:
    result = _store(env).get_online_features(
        features=["customer_v:version"], entities={"customer_id": ids}, as_of=as_of
    )
    return result.values["customer_v:version"]


def _state(env: dict[str, str]) -> tuple[Any, ...]:
    """Everything a reader can see: metadata and every stored value."""
    online = _online(env)
    meta = online.metadata()
    snapshot = RegistrySnapshot.from_json(meta.snapshot)
    values = []
    for view, spec in sorted(snapshot.views.items() if snapshot else []):
        keys: list[Any] = list(range(200)) if spec.integer_key else [f"{c}|{c}" for c in range(200)]
        values.append(sorted(online.read([(view, keys)])[0].items()))
    online.close()
    return meta.snapshot, meta.watermarks, values


def test_full_then_incremental_reads_only_new_rows(online_env: dict[str, str]) -> None:
    db = Path(online_env["duckdb"])
    _empty_views(online_env, "customer_v")
    write_view(
        db,
        "customer_v",
        [
            {"customer_id": c, "feature_at": t("2025-01-01") + timedelta(days=d),
             "ingested_at": t("2025-01-01") + timedelta(days=d, hours=1), "version": d, "tag": "a"}
            for c in range(1, 11)
            for d in range(5)
        ],
    )  # fmt: skip
    fs = _store(online_env)
    first = fs.materialize(as_of=AS_OF)
    by_view = {v.view: v for v in first.views}
    assert by_view["customer_v"].full_refresh
    assert by_view["customer_v"].rows_read == 50
    assert by_view["customer_v"].entities_written == 10
    assert _versions(online_env, [1, 10, 11]) == [4, 4, None]

    again = fs.materialize(as_of=AS_OF + timedelta(hours=1))
    assert {v.view: v.rows_read for v in again.views}["customer_v"] == 0
    assert not {v.view: v.full_refresh for v in again.views}["customer_v"]

    # two customers change, one is new
    append_view(
        db,
        "customer_v",
        [
            {"customer_id": c, "feature_at": t("2025-05-20"), "ingested_at": t("2025-05-20 01:00"),
             "version": 100 + c, "tag": "b"}
            for c in (3, 7, 12)
        ],
    )  # fmt: skip
    third = fs.materialize(select=["customer_v"], as_of=AS_OF + timedelta(hours=2))
    assert [v.view for v in third.views] == ["customer_v"]
    assert third.views[0].rows_read == 3
    assert third.views[0].entities_written == 3
    assert _versions(online_env, [3, 7, 12, 1]) == [103, 107, 112, 4]


def test_never_older_over_newer(online_env: dict[str, str]) -> None:
    db = Path(online_env["duckdb"])
    _empty_views(online_env, "customer_v")
    write_view(
        db,
        "customer_v",
        [{"customer_id": 1, "feature_at": t("2025-05-01"), "ingested_at": t("2025-05-01"),
          "version": 2, "tag": "new"}],
    )  # fmt: skip
    fs = _store(online_env)
    fs.materialize(as_of=AS_OF)
    # a late row: ingested after the last run, but its feature timestamp is older
    append_view(
        db,
        "customer_v",
        [{"customer_id": 1, "feature_at": t("2025-04-01"), "ingested_at": t("2025-05-30"),
          "version": 1, "tag": "old"}],
    )  # fmt: skip
    result = fs.materialize(as_of=AS_OF + timedelta(days=1))
    outcome = {v.view: v for v in result.views}["customer_v"]
    assert outcome.rows_read == 1  # the late row was read (created after the watermark)
    assert outcome.entities_written == 0  # ... and lost to the newer stored value
    assert _versions(online_env, [1]) == [2]
    # a correction with the same feature timestamp but a later created timestamp wins
    append_view(
        db,
        "customer_v",
        [{"customer_id": 1, "feature_at": t("2025-05-01"), "ingested_at": t("2025-05-31"),
          "version": 3, "tag": "fix"}],
    )  # fmt: skip
    fs.materialize(as_of=AS_OF + timedelta(days=2))
    assert _versions(online_env, [1]) == [3]
    # a full refresh agrees
    fs.materialize(full_refresh=True, as_of=AS_OF + timedelta(days=2))
    assert _versions(online_env, [1]) == [3]


def test_future_rows_wait_until_their_time(online_env: dict[str, str]) -> None:
    db = Path(online_env["duckdb"])
    _empty_views(online_env, "merchant_v")
    write_view(
        db,
        "merchant_v",
        [
            {"merchant_id": 1, "feature_at": t("2025-05-31"), "version": 1},
            {"merchant_id": 1, "feature_at": t("2025-06-02"), "version": 2},
        ],
    )
    fs = _store(online_env)
    fs.materialize(as_of=AS_OF)
    get = {"features": ["merchant_v:version"], "entities": {"merchant_id": [1]}}
    assert fs.get_online_features(**get, as_of=AS_OF).values["merchant_v:version"] == [1]
    fs.materialize(as_of=t("2025-06-03"))
    later = fs.get_online_features(**get, as_of=t("2025-06-03"))
    assert later.values["merchant_v:version"] == [2]


def test_scd2_closed_interval_serves_nulls(online_env: dict[str, str]) -> None:
    db = Path(online_env["duckdb"])
    _empty_views(online_env, "customer_scd2")
    write_view(
        db,
        "customer_scd2",
        [
            {"customer_id": 1, "valid_from": t("2025-01-01"), "valid_to": t("2025-03-01"),
             "tier": "gold"},
            {"customer_id": 2, "valid_from": t("2025-01-01"), "valid_to": t("2025-07-01"),
             "tier": "basic"},
        ],
    )  # fmt: skip
    fs = _store(online_env)
    fs.materialize(as_of=AS_OF)
    got = fs.get_online_features(
        features=["customer_scd2:tier"], entities={"customer_id": [1, 2]}, as_of=AS_OF
    )
    assert got.values["customer_scd2:tier"] == [None, "basic"]
    assert [str(s) for s in got.statuses["customer_scd2:tier"]] == ["NULL", "PRESENT"]
    # customer 2's interval closes between runs: an incremental run notices
    fs.materialize(as_of=t("2025-07-02"))
    got = fs.get_online_features(
        features=["customer_scd2:tier"], entities={"customer_id": [2]}, as_of=AS_OF
    )
    assert got.values["customer_scd2:tier"] == [None]


def test_select_errors(online_env: dict[str, str]) -> None:
    _empty_views(online_env)
    fs = _store(online_env)
    with pytest.raises(UnknownFeatureViewError):
        fs.materialize(select=["nope"])
    with pytest.raises(ContractError, match="not online"):
        fs.materialize(select=["offline_v"])


def test_watermark_state_does_not_grow(online_env: dict[str, str]) -> None:
    _empty_views(online_env)
    fs = _store(online_env)
    fs.materialize(as_of=AS_OF)
    size = len(repr(_online(online_env).metadata()))
    for hours in range(1, 6):
        fs.materialize(as_of=AS_OF + timedelta(hours=hours))
    assert len(repr(_online(online_env).metadata())) == size


def _seed_versioned(db: Path, version: int, customers: int = 50) -> None:
    """Every feature of a run carries the run's version: a reader that sees
    two different versions in one lookup saw a torn write."""
    stamp = t("2025-01-01") + timedelta(hours=version)
    write_view(
        db,
        "customer_v",
        [
            {"customer_id": c, "feature_at": stamp, "ingested_at": stamp, "version": version,
             "tag": f"v{version}"}
            for c in range(customers)
        ],
    )  # fmt: skip
    write_view(
        db,
        "merchant_v",
        [{"merchant_id": m, "feature_at": stamp, "version": version} for m in range(customers)],
    )
    write_view(
        db,
        "pair_v",
        [
            {"customer_id": c, "merchant_id": c, "feature_at": stamp, "version": version}
            for c in range(customers)
        ],
    )


def _run(env: dict[str, str], code: str, **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code],
        env={**os.environ, **extra},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


MATERIALIZE = """
import sys
from datetime import datetime
from pitstop import FeatureStore
FeatureStore({project!r}).materialize(as_of=datetime(2025, 6, 1), full_refresh={full})
"""


@pytest.mark.parametrize("point", ["after_write", "before_commit"])
def test_kill_9_leaves_store_and_watermark_unchanged(
    online_env: dict[str, str], tmp_path: Path, point: str
) -> None:
    db = Path(online_env["duckdb"])
    _empty_views(online_env)
    _seed_versioned(db, 1)
    fs = _store(online_env)
    fs.materialize(as_of=t("2025-01-01 01:01"))
    before = _state(online_env)
    _seed_versioned(db, 2)
    for full in (False, True):
        marker = tmp_path / f"paused-{point}-{full}"
        proc = _run(
            online_env,
            MATERIALIZE.format(project=online_env["project"], full=full),
            PITSTOP_FAULT=f"materialize.{point}",
            PITSTOP_FAULT_FILE=str(marker),
        )
        try:
            while not marker.exists():
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.05)
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        assert _state(online_env) == before
    # and the next run completes normally
    fs.materialize(as_of=AS_OF)
    assert _versions(online_env, [0, 49]) == [2, 2]


READER = """
import sys, time
from datetime import datetime
from pitstop import FeatureStore
fs = FeatureStore({project!r})
rows = [{{"customer_id": c, "merchant_id": c}} for c in range(50)]
lookups = torn = errors = 0
seen = []  # the consistent versions observed, in the order observed
deadline = time.monotonic() + 120
stop = {stop!r}
import os
while time.monotonic() < deadline:
    try:
        got = fs.get_online_features(service="fraud_model", entity_rows=rows,
                                     as_of=datetime(2025, 1, 3))
        one = fs.get_online_features(service="fraud_model", entity_rows=[rows[lookups % 50]],
                                     as_of=datetime(2025, 1, 3))
        for answer in (got, one):  # the batch path and the single-entity path
            versions = set()
            for ref in answer.refs:
                versions.update(answer.values[ref])
            if len(versions) != 1:
                torn += 1
            elif not seen or seen[-1] != min(versions):
                seen.append(min(versions))
        lookups += 1
    except Exception as exc:
        errors += 1
        print(repr(exc), file=sys.stderr)
    if os.path.exists(stop):
        break
print(lookups, torn, errors, ",".join(map(str, seen)))
"""


def test_concurrent_lookups_see_no_torn_reads(online_env: dict[str, str], tmp_path: Path) -> None:
    db = Path(online_env["duckdb"])
    _empty_views(online_env)
    _seed_versioned(db, 0)
    fs = _store(online_env)
    fs.materialize(as_of=t("2025-01-01 00:01"))
    stop = tmp_path / "stop"
    reader = _run(online_env, READER.format(project=online_env["project"], stop=str(stop)))
    try:
        for version in range(1, 11):
            _seed_versioned(db, version)
            # alternate incremental and full refresh publications
            fs.materialize(
                as_of=t("2025-01-01 00:01") + timedelta(hours=version),
                full_refresh=version % 2 == 0,
            )
        stop.touch()
        out, err = reader.communicate(timeout=120)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()
    assert out.strip(), err
    lookups, torn, errors, seen = out.strip().split(" ", 3)
    assert int(errors) == 0, err
    assert int(torn) == 0
    assert int(lookups) > 0
    assert _versions(online_env, [0, 49], as_of=t("2025-01-02")) == [10, 10]
    # each publication is atomic and later than the previous one: the reader
    # saw published versions only, never going back
    versions = [int(v) for v in seen.split(",") if v]
    assert versions, out
    assert all(0 <= v <= 10 for v in versions), versions
    assert versions == sorted(versions), versions


@pytest.mark.parametrize(
    "memory", ["lots", "1GB'; select 1; --", "1GB\n; select 1", "1 G", "-1GB", "  "], ids=repr
)
def test_bad_memory_limit_is_a_clear_error(
    online_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, memory: str
) -> None:
    """PITSTOP_MATERIALIZE_MEMORY is validated, never pasted into SQL as is."""
    _empty_views(online_env)
    before = _state(online_env)
    monkeypatch.setenv("PITSTOP_MATERIALIZE_MEMORY", memory)
    with pytest.raises(MaterializationError, match="PITSTOP_MATERIALIZE_MEMORY"):
        _store(online_env).materialize(as_of=AS_OF)
    assert _state(online_env) == before


def test_duckdb_setup_failure_is_wrapped_and_closes_the_connection(
    online_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A memory size DuckDB rejects (well formed, too large) is a
    MaterializationError, and the read-only connection is closed (else this
    process could not open the file read-write any more)."""
    _empty_views(online_env)
    monkeypatch.setenv("PITSTOP_MATERIALIZE_MEMORY", "99999999999TB")
    with pytest.raises(MaterializationError, match="configure DuckDB"):
        _store(online_env).materialize(as_of=AS_OF)
    duckdb.connect(online_env["duckdb"]).close()
    monkeypatch.setenv("PITSTOP_MATERIALIZE_MEMORY", "1.5 GiB")
    assert len(_store(online_env).materialize(as_of=AS_OF).views) == 6


def test_temp_directory_with_a_quote(
    online_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The spill directory is quoted as an SQL string, whatever TMPDIR holds."""
    import tempfile

    _empty_views(online_env)
    odd = tmp_path / "it's tmp"
    odd.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(odd))
    assert len(_store(online_env).materialize(as_of=AS_OF).views) == 6


def test_reads_duckdb_read_only(online_env: dict[str, str]) -> None:
    """materialize opens the project's DuckDB read-only: another read-only
    process may hold it at the same time."""
    _empty_views(online_env)
    holder = duckdb.connect(online_env["duckdb"], read_only=True)
    try:
        result = _store(online_env).materialize(as_of=AS_OF)
    finally:
        holder.close()
    assert len(result.views) == 6
