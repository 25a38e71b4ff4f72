"""Helpers of the HTTP server tests: a served copy of the online test project
(with dbt groups and access), its data, tokens, and a real uvicorn process.

The project is `tests/_online_project.py`'s plus:

* a dbt group ``risk`` and ``account_v`` in it with ``access: private``
  (readable only by tokens in group ``risk``);
* ``typed_features`` with ``meta.pitstop_readers: [ml]``;
* everything else ``protected`` (any valid token).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import yaml
from _online_project import build_project, t, write_view

from pitstop.serving.auth import hash_token

AS_OF = t("2025-06-01 00:00")
VIEWS = ("typed_features", "customer_v", "merchant_v", "pair_v", "account_v", "customer_scd2")

# plain-text tokens exist only in the tests; the server is given their hashes
ADMIN = "admin-token-0123456789abcdef"
RISK = "risk-token-fedcba9876543210"
PLAIN = "plain-token-00000000000000000"
TOKENS = {"admin": (ADMIN, "*"), "risk": (RISK, "risk"), "plain": (PLAIN, "")}


def token_lines() -> str:
    """The token configuration: names, SHA-256 hashes and groups (no secrets)."""
    return "\n".join(
        f"{name} {hash_token(token)} {groups}".rstrip() for name, (token, groups) in TOKENS.items()
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def build_served_project(root: Path) -> Path:
    """The online test project with groups and access rules, parsed by dbt."""
    from pitstop.project import Project

    build_project(root)
    models = root / "models"
    (models / "_groups.yml").write_text(
        "version: 2\ngroups:\n  - name: risk\n    owner:\n      name: Risk team\n"
    )
    _edit_config(models / "account_v.yml", group="risk", access="private")
    _edit_config(models / "typed_features.yml", meta_readers=["ml"])
    # lineage: a model downstream of customer_v
    (models / "customer_v_rollup.sql").write_text("select * from {{ ref('customer_v') }}\n")
    Project(root).run_dbt(["parse"])
    return root


def _edit_config(
    path: Path,
    group: str | None = None,
    access: str | None = None,
    meta_readers: list[str] | None = None,
) -> None:
    data = yaml.safe_load(path.read_text())
    config = data["models"][0]["config"]
    if group:
        config["group"] = group
        # the group's owner is the view's owner (a second one in meta is an error)
        config["meta"]["pitstop"].pop("owner", None)
    if access:
        config["access"] = access
    if meta_readers is not None:
        config["meta"]["pitstop_readers"] = meta_readers
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def project_env(root: Path, work: Path) -> dict[str, str]:
    """Environment pointing the project at its own DuckDB file and SQLite store."""
    return {
        "DBT_PROFILES_DIR": str(root),
        "PITSTOP_DUCKDB_PATH": str(work / "offline.duckdb"),
        "PITSTOP_ONLINE_STORE": f"sqlite:{work / 'online.sqlite'}",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "1",
    }


def prepare_served(work: Path) -> dict[str, Any]:
    """The served test project under ``work``: built, seeded and materialized
    with its environment set only meanwhile. Returns root, env and work."""
    import pytest

    root = work / "project"
    env = project_env(root, work)
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        build_served_project(root)
        seed(Path(env["PITSTOP_DUCKDB_PATH"]))
        materialize(root, env)
    return {"root": root, "env": env, "work": work}


def customer_rows(version: int, count: int = 5) -> list[dict[str, Any]]:
    """``customer_v`` rows whose ``version`` feature is ``c * 10 + version - 1``
    (``version`` 1: 10, 20, ...); customer 3's ``tag`` is NULL."""
    return [
        {
            "customer_id": c,
            "feature_at": t("2025-05-01"),
            "ingested_at": t("2025-05-01"),
            "version": c * 10 + version - 1,
            "tag": f"c{c}" if c != 3 else None,
        }
        for c in range(1, count + 1)
    ]


def seed(db: Path) -> None:
    """The tests' data: known statuses for known keys (see the tests)."""
    for view in VIEWS:
        write_view(db, view, [])
    write_view(
        db,
        "typed_features",
        [
            {"customer_id": 1, "feature_at": t("2025-05-31 12:00"),
             "ingested_at": t("2025-05-31 12:00"), "f_int": 7, "f_float": float("nan"),
             "f_text": "naïve ☃", "f_dec": None},
        ],
    )  # fmt: skip
    write_view(db, "customer_v", customer_rows(1))
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
        [{"account_code": "été|1", "feature_at": t("2025-05-31 23:00"), "balance": 1.5}],
    )


def materialize(
    root: Path, env: Mapping[str, str], as_of: datetime = AS_OF, full_refresh: bool = False
) -> None:
    """``FeatureStore.materialize`` in-process with ``env`` applied for the call."""
    from pitstop import FeatureStore

    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        FeatureStore(root).materialize(as_of=as_of, full_refresh=full_refresh)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """A running ``pitstop serve`` process."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.process = process
        self.url = url
        self.log = log

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)


@contextmanager
def run_server(
    root: Path,
    env: Mapping[str, str],
    log: Path,
    args: tuple[str, ...] = (),
    tokens: str | None = None,
) -> Iterator[Server]:
    """``python -m pitstop serve`` on a free loopback port until the block ends."""
    port = free_port()
    full_env = {**os.environ, **env}
    full_env.pop("PITSTOP_SERVE_TOKENS", None)
    full_env.pop("PITSTOP_SERVE_TOKENS_FILE", None)
    if tokens is not None:
        full_env["PITSTOP_SERVE_TOKENS"] = tokens
    command = [
        sys.executable, "-m", "pitstop", "--project-dir", str(root), "serve",
        "--host", "127.0.0.1", "--port", str(port), *args,
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited ({process.returncode}):\n{log.read_text()}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield Server(process, url, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def copy_served_project(src: Path, dest: Path) -> Path:
    """A copy of a served project (with its target/ and manifest) to edit."""
    shutil.copytree(src, dest, symlinks=True)
    return dest
