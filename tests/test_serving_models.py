"""``POST /models/{name}/predict`` end to end with a real MLflow store: a
real ``pitstop serve --model fraud`` loads ``fraud@champion``, answers with
the model's name, version and alias, and swaps to a newly promoted version
while clients keep predicting, without a failed request and without going
back to the old version once a client has seen the new one."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _serving import Server, prepare_served, run_server

pytestmark = pytest.mark.slow

BODY = {"entity_rows": [{"customer_id": 1, "merchant_id": 7}], "as_of": "2025-06-01"}
COLUMNS = ["customer_v__version", "merchant_v__version", "pair_v__version"]


def _log_and_promote(root: Path, slope: float) -> str:
    """Fit ``label = slope * customer_v__version``, log it as ``fraud`` and
    point ``@champion`` at the new version."""
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    from pitstop.models import log_model
    from pitstop.models.catalog import promote
    from pitstop.project import Project

    frame = pd.DataFrame({COLUMNS[0]: [10, 20, 30, 40], COLUMNS[1]: [70, 70, 80, 80],
                          COLUMNS[2]: [17, 1, 2, 3]})  # fmt: skip
    frame["label"] = frame[COLUMNS[0]] * slope
    model = LinearRegression().fit(frame[COLUMNS], frame["label"])
    project = Project(root)
    logged = log_model(model, service="fraud_model", training_set=frame,
                       registered_model_name="fraud", project=project)  # fmt: skip
    assert logged.version is not None
    promote("fraud", logged.version, "champion", project=project)
    return logged.version


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    served = prepare_served(tmp_path_factory.mktemp("serving_models"))
    root, env = served["root"], served["env"]
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        assert _log_and_promote(root, 1.0) == "1"
        yield served


@pytest.fixture(scope="module")
def server(served: dict[str, Any]) -> Iterator[Server]:
    args = ("--model", "fraud", "--model-poll", "0.3")
    with run_server(served["root"], served["env"], served["work"] / "server.log", args) as srv:
        with srv.client() as client:
            deadline = time.monotonic() + 120
            while client.get("/models").json()["models"][0]["version"] is None:
                assert time.monotonic() < deadline, (served["work"] / "server.log").read_text()
                time.sleep(0.2)
        yield srv


def test_predict_names_model_version_and_alias(server: Server) -> None:
    with server.client() as client:
        response = client.post("/models/fraud/predict", json=BODY)
        assert response.status_code == 200, response.text
        data = response.json()
        assert {k: data[k] for k in ("model", "version", "alias")} == {
            "model": "fraud",
            "version": "1",
            "alias": "champion",
        }
        # customer 1's customer_v:version is 10, looked up online: 1 x 10
        assert data["predictions"] == [pytest.approx(10.0)]
        columns = {
            "entities": {"customer_id": [1, 2], "merchant_id": [7, 8]},
            "as_of": "2025-06-01",
        }
        response = client.post("/models/fraud/predict", json=columns)
        # (2, 8) has no pair_v row: the model gets NaN and refuses it, which is
        # about these entities (422), not a server error
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["type"] == "PredictionError" and "NaN" in error["message"]
        columns["entities"] = {"customer_id": [1, 1], "merchant_id": [7, 7]}
        assert client.post("/models/fraud/predict", json=columns).json()["predictions"] == [
            pytest.approx(10.0),
            pytest.approx(10.0),
        ]
        assert client.get("/models").json() == {
            "models": [{"name": "fraud", "alias": "champion", "version": "1", "error": None}]
        }
        # the registry shows the served model on the views it reads
        models = client.get("/features/pair_v").json()["models"]
        assert {"name": "fraud", "alias": "champion", "version": "1", "served": True} in models


def test_predict_bad_input_is_4xx(server: Server) -> None:
    with server.client() as client:
        for body, status, kind in [
            (b"{", 400, "InvalidRequestError"),
            (b'{"entity_rows": [{"customer_id": 1}]}', 400, "InvalidEntityKeyError"),
            (b'{"entity_rows": [{"customer_id": 1, "merchant_id": 7, "x": 1}]}', 400,
             "InvalidRequestError"),
            (b'{"entity_rows": [{"customer_id": "a", "merchant_id": 7}]}', 400,
             "InvalidEntityKeyError"),
            (b'{"rows": []}', 400, "InvalidRequestError"),
        ]:  # fmt: skip
            response = client.post("/models/fraud/predict", content=body)
            assert response.status_code == status, (body, response.text)
            assert response.json()["error"]["type"] == kind
        response = client.post("/models/other/predict", json=BODY)
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "ModelNotServedError"


def test_promotion_swaps_under_load_without_failures(
    server: Server, served: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in served["env"].items():
        monkeypatch.setenv(key, value)
    stop = threading.Event()
    failures: list[str] = []
    sequences: list[list[tuple[str, float]]] = []

    def predict() -> None:
        seen: list[tuple[str, float]] = []
        sequences.append(seen)
        with server.client() as client:
            while not stop.is_set():
                response = client.post("/models/fraud/predict", json=BODY)
                if response.status_code != 200:
                    failures.append(response.text)
                    continue
                data = response.json()
                seen.append((data["version"], data["predictions"][0]))

    threads = [threading.Thread(target=predict) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        version = _log_and_promote(served["root"], 2.0)
        assert version == "2"
        deadline = time.monotonic() + 120
        while not all(seen and seen[-1][0] == "2" for seen in sequences):
            assert time.monotonic() < deadline, "the server did not swap to version 2"
            time.sleep(0.1)
        time.sleep(0.5)  # a few more requests on the new version
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert failures == []
    for seen in sequences:
        versions = [v for v, _ in seen]
        assert set(versions) == {"1", "2"}
        # once a client got version 2, it never got version 1 again
        first_new = versions.index("2")
        assert set(versions[first_new:]) == {"2"}
        # and each version answered with its own model: 1 x 10 and 2 x 10
        assert {v: round(p, 6) for v, p in seen} == {"1": 10.0, "2": 20.0}
    metrics = server.client().get("/metrics").text
    assert 'pitstop_model_info{alias="champion",model="fraud",version="2"} 1.0' in metrics
