"""The feature server end to end: a real ``pitstop serve`` (uvicorn, uvloop,
httptools) on a free loopback port, driven over HTTP.

Covers Feast-format requests, auth (401/403 exact), a bounded load test,
hot reload of materializations and manifests under load, tokens never
written to the log, and schemathesis fuzzing of the OpenAPI document (zero
5xx, zero schema violations). No timing assertions: the bounds are only there
so that a broken server fails the test instead of hanging it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from _online_project import write_view
from _serving import (
    ADMIN,
    PLAIN,
    RISK,
    Server,
    bearer,
    copy_served_project,
    customer_rows,
    materialize,
    prepare_served,
    project_env,
    run_server,
    seed,
    token_lines,
)

pytestmark = pytest.mark.slow

EPOCH = "1970-01-01T00:00:00Z"
FEAST = "/get-online-features"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    yield prepare_served(tmp_path_factory.mktemp("serving_e2e"))


@pytest.fixture(scope="module")
def server(served: dict[str, Any]) -> Iterator[Server]:
    """One server with tokens for the module (its log is checked for tokens)."""
    with run_server(
        served["root"], served["env"], served["work"] / "server.log",
        args=("--access-log",), tokens=token_lines(),
    ) as running:  # fmt: skip
        yield running


def _wait_for(check: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_feast_request_over_http(server: Server) -> None:
    with server.client(headers=bearer(ADMIN)) as client:
        body = (
            b'{"features": ["customer_v:tag", "merchant_v:version"], '
            b'"entities": {"customer_id": [1, 3, 99], "merchant_id": [7, 8, 7]}, '
            b'"as_of": "2025-06-01"}'
        )
        # curl -d sends form encoding; Feast's server reads JSON regardless, so does this one
        response = client.post(
            FEAST, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        data = response.json()
        assert data["metadata"] == {
            "feature_names": ["customer_id", "merchant_id", "tag", "version"]
        }
        assert data["results"][2] == {
            "values": ["c1", None, None],
            "statuses": ["PRESENT", "NULL_VALUE", "NOT_FOUND"],
            "event_timestamps": ["2025-05-01T00:00:00Z", "2025-05-01T00:00:00Z", EPOCH],
        }
        assert data["results"][3]["statuses"] == ["PRESENT", "OUTSIDE_MAX_AGE", "PRESENT"]
        # one keep-alive connection serves many requests
        for _ in range(20):
            assert client.post(FEAST, content=body).status_code == 200


def test_auth_401_and_403_exact(server: Server) -> None:
    body = {
        "features": ["account_v"],
        "entities": {"account_code": ["été|1"]},
        "as_of": "2025-06-01",
    }
    with server.client() as client:
        expected = {
            None: (401, "UnauthorizedError"),
            "wrong-token": (401, "UnauthorizedError"),
            PLAIN: (403, "ForbiddenError"),
            RISK: (200, None),
            ADMIN: (200, None),
        }
        for token, (status, kind) in expected.items():
            headers = bearer(token) if token else {}
            response = client.post(FEAST, json=body, headers=headers)
            assert response.status_code == status, (token, response.text)
            if kind:
                assert response.json()["error"]["type"] == kind
        response = client.post(FEAST, json=body)
        assert response.headers["www-authenticate"] == 'Bearer realm="pitstop"'
        assert client.get("/health").status_code == 200
        assert client.get("/ready").json()["ready"] is True


def test_bounded_load(server: Server) -> None:
    """Three keep-alive clients, 3 x 600 requests (single entities and
    batches of 100), all answered 200 and all counted by the server."""
    per_client, clients = 600, 3
    single = {"feature_service": "fraud_model", "full_feature_names": True,
              "entities": {"customer_id": [1], "merchant_id": [7]}}  # fmt: skip
    batch = {"feature_service": "fraud_model", "full_feature_names": True,
             "entities": {"customer_id": list(range(100)), "merchant_id": [7] * 100}}  # fmt: skip

    def before() -> float:
        return _counter(server, 'method="POST",route="/get-online-features",status="200"')

    start_count = before()
    statuses: list[int] = []
    lock = threading.Lock()
    deadline = time.monotonic() + 240

    def run() -> None:
        got = []
        with server.client(headers=bearer(ADMIN)) as client:
            for i in range(per_client):
                if time.monotonic() > deadline:
                    break
                got.append(client.post(FEAST, json=batch if i % 10 == 0 else single).status_code)
        with lock:
            statuses.extend(got)

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(statuses) == per_client * clients, "the load did not finish in its time bound"
    assert set(statuses) == {200}
    assert before() - start_count == per_client * clients


def _counter(server: Server, labels: str) -> float:
    text = httpx.get(f"{server.url}/metrics", headers=bearer(ADMIN)).text
    match = re.search(
        r"^pitstop_http_requests_total\{" + re.escape(labels) + r"\} (\S+)$", text, re.M
    )
    return float(match.group(1)) if match else 0.0


def test_tokens_never_reach_the_log(server: Server, served: dict[str, Any]) -> None:
    leaked = "leaky-secret-token-4242"
    with server.client() as client:
        client.post(FEAST, json={"features": ["customer_v"]}, headers=bearer(leaked))
        client.post(FEAST, json={"features": ["account_v"], "entities": {"account_code": ["x"]}},
                    headers=bearer(PLAIN))  # fmt: skip
        client.get("/features", headers=bearer(RISK))
        client.post(FEAST, content=b"{", headers=bearer(ADMIN))
    time.sleep(0.5)
    log = (served["work"] / "server.log").read_text()
    assert "POST /get-online-features" in log  # the access log is on and written
    for secret in (ADMIN, RISK, PLAIN, leaked):
        assert secret not in log


def test_schemathesis_finds_no_5xx_and_no_schema_violation(server: Server, tmp_path: Path) -> None:
    checks = ",".join(
        [
            "not_a_server_error",
            "status_code_conformance",
            "content_type_conformance",
            "response_schema_conformance",
            "negative_data_rejection",
            "ignored_auth",
            "unsupported_method",
            "allow_header_conformance",
        ]
    )
    command = [
        str(Path(sys.executable).parent / "schemathesis"), "run", f"{server.url}/openapi.json",
        "--header", f"Authorization: Bearer {ADMIN}",
        "--checks", checks,
        "--max-examples", "15", "--seed", "20251129", "--workers", "1",
        "--phases", "examples,coverage,fuzzing", "--max-time", "40",
        "--generation-database", "none", "--no-color",
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    assert re.search(r"\d+ generated", output), output[-2000:]


def test_hot_reload_under_load(served: dict[str, Any], tmp_path: Path) -> None:
    """New materializations and a new manifest (a new view from `dbt parse`)
    become visible without a restart while clients keep asking; no request
    fails."""
    root = copy_served_project(served["root"], tmp_path / "project")
    env = project_env(root, tmp_path)
    db = Path(env["PITSTOP_DUCKDB_PATH"])
    seed(db)
    materialize(root, env)
    with run_server(root, env, tmp_path / "server.log", args=("--reload-interval", "0.2")) as srv:
        stop = threading.Event()
        failures: list[tuple[int, str]] = []
        served_versions: list[int] = []
        counted = [0]

        def lookups() -> None:
            body = {"features": ["customer_v:version"], "entity_rows": [{"customer_id": 1}]}
            with srv.client() as client:
                while not stop.is_set():
                    response = client.post("/features/online", json=body)
                    counted[0] += 1
                    if response.status_code != 200:
                        failures.append((response.status_code, response.text))
                        continue
                    value = response.json()["results"][0]["features"]["customer_v:version"]
                    served_versions.append(value["value"])

        def registry() -> None:
            with srv.client() as client:
                while not stop.is_set():
                    response = client.get("/features")
                    counted[0] += 1
                    if response.status_code != 200:
                        failures.append((response.status_code, response.text))

        threads = [threading.Thread(target=lookups) for _ in range(2)]
        threads.append(threading.Thread(target=registry))
        for thread in threads:
            thread.start()
        try:
            with srv.client() as client:
                # 1. new materializations (same views, new values)
                for version in (2, 3, 4):
                    write_view(db, "customer_v", customer_rows(version))
                    materialize(root, env, full_refresh=True)
                    _wait_for(lambda v=version: bool(served_versions) and
                              served_versions[-1] == 10 + v - 1, f"version {version}")  # fmt: skip

                # 2. a new manifest: a new feature view, then its materialization
                _add_view(root, env)
                _wait_for(lambda: client.get("/features/score_v").status_code == 200, "new view")
                con = duckdb.connect(str(db))
                con.execute(
                    "create or replace table main.score_v as select 2 as customer_id, "
                    "timestamp '2025-05-30' as feature_at, 0.25::double as score"
                )
                con.close()
                materialize(root, env)
                body = {"features": ["score_v:score"], "entity_rows": [{"customer_id": 2}],
                        "as_of": "2025-06-01"}  # fmt: skip

                def new_view_served() -> bool:
                    response = client.post("/features/online", json=body)
                    if response.status_code != 200:
                        return False
                    score = response.json()["results"][0]["features"]["score_v:score"]
                    return bool(score == {
                        "value": 0.25, "status": "PRESENT", "timestamp": "2025-05-30T00:00:00Z"
                    })  # fmt: skip

                _wait_for(new_view_served, "new view's values")
                assert client.get("/ready").json()["generation"] > 1
        finally:
            stop.set()
            for thread in threads:
                thread.join()
    assert failures == []
    assert counted[0] > 50
    # every value served was one of the materialized versions, never a torn one
    assert set(served_versions) <= {10, 11, 12, 13}


def _add_view(root: Path, env: dict[str, str]) -> None:
    """A new feature view ``score_v`` in the project, then `dbt parse`."""
    from pitstop.project import Project

    models = root / "models"
    (models / "score_v.sql").write_text(
        "select cast(null as bigint) as customer_id, cast(null as timestamp) as feature_at, "
        "cast(null as double) as score\n"
    )
    (models / "score_v.yml").write_text(
        "version: 2\nmodels:\n  - name: score_v\n    description: a new view\n"
        "    config:\n      meta:\n        pitstop:\n          entity: customer\n"
        "          timestamp: feature_at\n          online: true\n          owner: tests\n"
        "    columns:\n      - name: customer_id\n        data_type: bigint\n"
        "      - name: feature_at\n        data_type: timestamp\n"
        "      - name: score\n        description: a score\n        data_type: double\n"
    )
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        Project(root).run_dbt(["parse"])
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
