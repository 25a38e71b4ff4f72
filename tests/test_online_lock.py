"""A second materialize on a SQLite store says that it waits, for how long and
for whom, and gives up after ``--lock-timeout`` / ``PITSTOP_LOCK_TIMEOUT``
with an error naming the holder and the option; the store file is private."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from _online_project import t, write_view

from pitstop import FeatureStore, MaterializationError, OnlineStoreError
from pitstop.online.base import OnlineWriter, get_online_store

VIEWS = ("typed_features", "customer_v", "merchant_v", "pair_v", "account_v", "customer_scd2")


@pytest.fixture
def sqlite_env(
    online_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    db = tmp_path / "offline.duckdb"
    store = tmp_path / "online.sqlite"
    monkeypatch.setenv("DBT_PROFILES_DIR", str(online_project))
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    monkeypatch.delenv("PITSTOP_LOCK_TIMEOUT", raising=False)
    monkeypatch.setenv("PITSTOP_DUCKDB_PATH", str(db))
    monkeypatch.setenv("PITSTOP_ONLINE_STORE", f"sqlite:{store}")
    for view in VIEWS:
        write_view(db, view, [])
    yield {"project": str(online_project), "store": str(store)}


@contextmanager
def _held(path: str) -> Iterator[OnlineWriter]:
    """This process holds the store's write lock (a real SQLite writer)."""
    store = get_online_store({"type": "sqlite", "path": path})
    writer = store.writer()
    try:
        yield writer
    finally:
        writer.abort()
        store.close()


def _cli(env: dict[str, str], *args: str, **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pitstop", "--project-dir", env["project"], "materialize",
         "--as-of", "2025-06-01", *args],
        env={**os.environ, **extra}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_timeout_names_the_holder_and_the_option(sqlite_env: dict[str, str]) -> None:
    FeatureStore(sqlite_env["project"]).materialize(as_of=t("2025-06-01"))
    with _held(sqlite_env["store"]):
        proc = _cli(sqlite_env, "--lock-timeout", "0.5")
        out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, (out, err)
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[0].startswith("pitstop: the online store ")
    assert f"pid {os.getpid()}" in lines[0]
    assert "waiting up to 0.5 s" in lines[0]
    assert lines[-1].startswith("Error: OnlineStoreError: gave up after 0.5 s waiting")
    assert f"pid {os.getpid()}" in lines[-1]
    assert "--lock-timeout" in lines[-1] and "PITSTOP_LOCK_TIMEOUT" in lines[-1]


def test_environment_variable_sets_the_timeout(sqlite_env: dict[str, str]) -> None:
    with _held(sqlite_env["store"]):
        proc = _cli(sqlite_env, PITSTOP_LOCK_TIMEOUT="0")
        _, err = proc.communicate(timeout=300)
    assert proc.returncode == 1
    # 0: fail at once, without a waiting line
    assert err.startswith("Error: OnlineStoreError: gave up after 0 s"), err


def test_waits_says_so_and_then_runs(sqlite_env: dict[str, str]) -> None:
    from pitstop.online.materialize import MaterializeResult, materialize

    fs = FeatureStore(sqlite_env["project"])
    fs.materialize(as_of=t("2025-05-01"))  # dbt compiles once, here, not in the thread
    registry = fs.registry
    messages: list[str] = []
    waiting = threading.Event()
    outcome: list[MaterializeResult | BaseException] = []

    def on_wait(message: str) -> None:
        messages.append(message)
        waiting.set()

    def second_run() -> None:
        try:
            outcome.append(
                materialize(fs.project, registry, as_of=t("2025-06-01"), lock_timeout=300,
                            on_wait=on_wait)
            )  # fmt: skip
        except BaseException as exc:
            outcome.append(exc)
        finally:
            waiting.set()

    with _held(sqlite_env["store"]):
        thread = threading.Thread(target=second_run)
        thread.start()
        assert waiting.wait(timeout=300)
        # leaving the block ends the first "run": the second one goes ahead
    thread.join(timeout=300)
    assert len(outcome) == 1 and not isinstance(outcome[0], BaseException), outcome
    assert len(outcome[0].views) == len(VIEWS)
    assert len(messages) == 1
    assert f"is being written by pitstop materialize, pid {os.getpid()}" in messages[0]
    assert "waiting up to 300 s" in messages[0]


@pytest.mark.parametrize("value", ["soon", "-1", "inf", "nan"])
def test_bad_lock_timeout_setting(
    sqlite_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("PITSTOP_LOCK_TIMEOUT", value)
    with pytest.raises(MaterializationError, match="PITSTOP_LOCK_TIMEOUT="):
        FeatureStore(sqlite_env["project"]).materialize(as_of=t("2025-06-01"))


def test_store_files_are_private_whatever_the_umask(sqlite_env: dict[str, str]) -> None:
    old = os.umask(0o022)
    try:
        path = Path(sqlite_env["store"])
        with _held(str(path)) as writer:
            writer.reset("v", True)
            writer.write("v", [(1, 1, None, b"x")])
            files = [path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}.writer")]
            modes = {f.name: stat.S_IMODE(f.stat().st_mode) for f in files}
    finally:
        os.umask(old)
    assert modes == dict.fromkeys(modes, 0o600), {k: oct(v) for k, v in modes.items()}


def test_holder_record_is_removed_after_a_run(sqlite_env: dict[str, str]) -> None:
    FeatureStore(sqlite_env["project"]).materialize(as_of=t("2025-06-01"))
    assert not Path(f"{sqlite_env['store']}.writer").exists()
    with pytest.raises(OnlineStoreError, match="gave up after 0 s"), _held(sqlite_env["store"]):
        get_online_store({"type": "sqlite", "path": sqlite_env["store"]}).writer(lock_timeout=0)
