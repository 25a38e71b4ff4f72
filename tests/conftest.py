"""Shared fixtures: the project root and disposable copies of the project."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

_PROJECT_PARTS = (
    "dbt_project.yml",
    "profiles.example.yml",
    "models",
    "macros",
    "seeds",
    "snapshots",
    "analyses",
)


# written from the local MLflow registry by `pitstop models exposures` (make demo),
# git-ignored: a copy must not depend on which models this machine registered
_LOCAL_FILES = shutil.ignore_patterns("_ml_models.yml")


def copy_project(dest: Path) -> Path:
    """Copy the dbt project's sources (not its target/ or database) to ``dest``."""
    dest.mkdir(parents=True)
    for part in _PROJECT_PARTS:
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=_LOCAL_FILES)
        elif src.exists():
            shutil.copy2(src, dest / part)
    return dest


@contextmanager
def isolated(root: Path) -> Iterator[None]:
    """Point dbt and Pitstop at the copy in ``root`` (own profile, target/ and
    DuckDB file) until the block ends, whatever scope the caller has."""
    with pytest.MonkeyPatch.context() as mp:
        for name in ("DBT_PROFILES_DIR", "DBT_TARGET_PATH", "PITSTOP_PROJECT_DIR"):
            mp.delenv(name, raising=False)
        mp.setenv("PITSTOP_DUCKDB_PATH", str(root / "pitstop.duckdb"))
        yield


@contextmanager
def built_copy(dest: Path) -> Iterator[Path]:
    """A copy of the project at ``dest``, built (``dbt build`` without its
    tests) into its own DuckDB file, with dbt and Pitstop pointed at it until
    the block ends."""
    from pitstop.store import FeatureStore

    root = copy_project(dest)
    with isolated(root):
        FeatureStore(root).project.run_dbt(["build", "--exclude", "resource_type:test"])
        yield root


@pytest.fixture
def project_root() -> Path:
    """The real project directory."""
    return ROOT


@pytest.fixture
def project_copy(tmp_path: Path) -> Iterator[Path]:
    """A throwaway copy of the dbt project (own target/, profile and DuckDB file),
    for tests that edit models or build into a fresh database."""
    dest = copy_project(tmp_path / "project")
    with isolated(dest):
        yield dest


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``redis-server`` on a free loopback port in a temp dir, for the
    whole session; yields its URL. Installs the Debian package when missing
    (``scripts/ensure-redis.sh``)."""
    import socket
    import subprocess
    import time

    if shutil.which("redis-server") is None:
        done = subprocess.run([str(ROOT / "scripts" / "ensure-redis.sh")], check=False)
        if done.returncode != 0 or shutil.which("redis-server") is None:
            pytest.fail("redis-server is missing and scripts/ensure-redis.sh could not install it")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [
            "redis-server",
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--dir", str(workdir),
            "--save", "",
            "--appendonly", "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                time.sleep(0.05)
        else:
            pytest.fail(f"redis-server did not answer on port {port}")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def online_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The small dbt project of the online-store tests (tests/_online_project.py), parsed."""
    from _online_project import build_project

    root = tmp_path_factory.mktemp("online") / "project"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DBT_PROFILES_DIR", str(root))
        patch.delenv("DBT_TARGET_PATH", raising=False)
        patch.setenv("PITSTOP_DUCKDB_PATH", str(root / "parse.duckdb"))
        yield build_project(root)


@pytest.fixture(params=["sqlite", "redis"])
def online_env(
    request: pytest.FixtureRequest,
    online_project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[dict[str, str]]:
    """One test per online-store kind: env pointing the online test project at a
    fresh DuckDB file and a fresh SQLite file or (flushed) Redis database.
    Yields ``{"kind", "url", "duckdb", "project"}``."""
    if request.param == "redis":
        url = request.getfixturevalue("redis_server")
        import redis

        redis.Redis.from_url(url).flushdb()
    else:
        url = f"sqlite:{tmp_path / 'online.sqlite'}"
    duckdb_path = tmp_path / "offline.duckdb"
    monkeypatch.setenv("DBT_PROFILES_DIR", str(online_project))
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    monkeypatch.setenv("PITSTOP_DUCKDB_PATH", str(duckdb_path))
    monkeypatch.setenv("PITSTOP_ONLINE_STORE", url)
    yield {
        "kind": request.param,
        "url": url,
        "duckdb": str(duckdb_path),
        "project": str(online_project),
    }
