"""The HTTP server in process (Starlette's TestClient drives the raw ASGI app):
Feast's exact JSON, Pitstop's shape, statuses, every kind of bad input as a
4xx error body, auth (401/403) and per-view access from dbt, the registry
routes, metrics, the OpenAPI document and the docs page.

The same routes run against a real uvicorn process in `test_serving_e2e.py`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from _serving import (
    ADMIN,
    PLAIN,
    RISK,
    bearer,
    materialize,
    prepare_served,
    token_lines,
)
from starlette.testclient import TestClient

from pitstop.online.base import get_online_store
from pitstop.project import Project
from pitstop.serving import ServeSettings, create_app
from pitstop.serving.auth import AccessPolicy, Principal, Tokens, hash_token, parse_tokens
from pitstop.serving.errors import ServeConfigError
from pitstop.serving.state import StateLoader

pytestmark = pytest.mark.slow

EPOCH = "1970-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The served test project, seeded and materialized at AS_OF."""
    yield prepare_served(tmp_path_factory.mktemp("serving"))


def _app(served: dict[str, Any], **settings: Any) -> Any:
    store = get_online_store({"type": "sqlite", "path": str(served["work"] / "online.sqlite")})
    loader = StateLoader(Project(served["root"]), store)
    return create_app(ServeSettings(project_dir=served["root"], **settings), loader)


@pytest.fixture(scope="module")
def client(served: dict[str, Any]) -> Iterator[TestClient]:
    """Auth on: tokens admin (*), risk (group risk), plain (no group)."""
    tokens = Tokens(parse_tokens(token_lines(), "test"))
    with TestClient(_app(served, tokens=tokens), raise_server_exceptions=False) as c:
        c.headers.update(bearer(ADMIN))
        yield c


def _error(response: Any, status: int, kind: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message"}
    assert body["error"]["type"] == kind, body
    message: str = body["error"]["message"]
    return message


# -- Feast's JSON --------------------------------------------------------------


def test_feast_request_gets_feasts_exact_response(client: TestClient) -> None:
    response = client.post(
        "/get-online-features",
        json={
            "features": ["customer_v:tag", "merchant_v:version"],
            "entities": {"customer_id": [1, 3, 99], "merchant_id": [7, 8, 7]},
            "as_of": "2025-06-01T00:00:00",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "metadata": {"feature_names": ["customer_id", "merchant_id", "tag", "version"]},
        "results": [
            {"values": [1, 3, 99], "statuses": ["PRESENT"] * 3, "event_timestamps": [EPOCH] * 3},
            {"values": [7, 8, 7], "statuses": ["PRESENT"] * 3, "event_timestamps": [EPOCH] * 3},
            {
                "values": ["c1", None, None],
                "statuses": ["PRESENT", "NULL_VALUE", "NOT_FOUND"],
                "event_timestamps": ["2025-05-01T00:00:00Z", "2025-05-01T00:00:00Z", EPOCH],
            },
            {
                # merchant 7 sits exactly on the 7-day TTL bound (still PRESENT), 8 one second past
                "values": [70, None, 70],
                "statuses": ["PRESENT", "OUTSIDE_MAX_AGE", "PRESENT"],
                "event_timestamps": [
                    "2025-05-25T00:00:00Z",
                    "2025-05-24T23:59:59Z",
                    "2025-05-25T00:00:00Z",
                ],
            },
        ],
    }


def test_feast_full_feature_names_and_feature_service(client: TestClient) -> None:
    body = {"feature_service": "fraud_model", "entities": {"customer_id": [1], "merchant_id": [7]}}
    # short names collide (three views have `version`): Feast's advice, as a 400
    message = _error(client.post("/get-online-features", json=body), 400, "InvalidRequestError")
    assert "full_feature_names" in message
    response = client.post(
        "/get-online-features", json={**body, "full_feature_names": True, "as_of": "2025-06-01"}
    )
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["metadata"]["feature_names"] == [
        "customer_id",
        "merchant_id",
        "customer_v__version",
        "merchant_v__version",
        "pair_v__version",
    ]
    assert [r["values"] for r in data["results"][2:]] == [[10], [70], [17]]
    # a feature service wins over a feature list, as in Feast
    both = {**body, "features": ["customer_v:tag"], "full_feature_names": True}
    assert client.post("/get-online-features", json=both).json()["metadata"] == data["metadata"]


def test_feast_values_keep_their_types(client: TestClient) -> None:
    response = client.post(
        "/get-online-features",
        json={
            "features": ["typed_features:f_int", "typed_features:f_float",
                         "typed_features:f_text", "typed_features:f_bool"],
            "entities": {"customer_id": [1]},
            "as_of": "2025-06-01",
        },
    )  # fmt: skip
    results = response.json()["results"]
    assert [r["values"] for r in results[1:]] == [[7], [None], ["naïve ☃"], [None]]
    # NaN has no JSON form: null, yet PRESENT (the status tells it from NULL)
    assert [r["statuses"] for r in results[1:]] == [
        ["PRESENT"], ["PRESENT"], ["PRESENT"], ["NULL_VALUE"]
    ]  # fmt: skip


# -- Pitstop's JSON ------------------------------------------------------------


def test_pitstop_shape_with_rows_and_columns(client: TestClient) -> None:
    rows = {
        "service": "fraud_model",
        "entity_rows": [{"customer_id": 1, "merchant_id": 7}, {"customer_id": 2, "merchant_id": 8}],
        "as_of": "2025-06-01T00:00:00Z",
    }
    response = client.post("/features/online", json=rows)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["features"] == ["customer_v:version", "merchant_v:version", "pair_v:version"]
    assert data["results"][0] == {
        "entity": {"customer_id": 1, "merchant_id": 7},
        "features": {
            "customer_v:version": {
                "value": 10, "status": "PRESENT", "timestamp": "2025-05-01T00:00:00Z"
            },
            "merchant_v:version": {
                "value": 70, "status": "PRESENT", "timestamp": "2025-05-25T00:00:00Z"
            },
            "pair_v:version": {
                "value": 17, "status": "PRESENT", "timestamp": "2025-05-01T00:00:00Z"
            },
        },
    }  # fmt: skip
    second = data["results"][1]["features"]
    assert second["merchant_v:version"] == {
        "value": None, "status": "EXPIRED", "timestamp": "2025-05-24T23:59:59Z"
    }  # fmt: skip
    assert second["pair_v:version"] == {"value": None, "status": "NOT_FOUND", "timestamp": None}
    columns = {
        "service": "fraud_model",
        "entities": {"customer_id": [1, 2], "merchant_id": [7, 8]},
        "as_of": "2025-06-01T00:00:00Z",
    }
    assert client.post("/features/online", json=columns).json() == data


def test_unicode_string_keys(client: TestClient) -> None:
    body = {
        "features": ["account_v"],
        "entity_rows": [{"account_code": "été|1"}, {"account_code": "☃\u0000"}],
        "as_of": "2025-06-01",
    }
    results = client.post("/features/online", json=body).json()["results"]
    assert [r["features"]["account_v:balance"]["status"] for r in results] == [
        "PRESENT",
        "NOT_FOUND",
    ]


# -- bad input: always a 4xx with {"error": {"type", "message"}} ---------------

FEAST = "/get-online-features"
OWN = "/features/online"
_CUSTOMER = '"features": ["customer_v"], "entities": {"customer_id": %s}'

BAD: list[tuple[str, bytes, int, str]] = [
    (FEAST, b"", 400, "InvalidRequestError"),
    (FEAST, b"{", 400, "InvalidRequestError"),
    (FEAST, b"[1, 2]", 400, "InvalidRequestError"),
    (FEAST, b"null", 400, "InvalidRequestError"),
    (FEAST, b'{"features": ["customer_v"]}', 400, "InvalidRequestError"),
    (FEAST, b'{"entities": {"customer_id": [1]}}', 400, "InvalidRequestError"),
    (FEAST, b'{"features": "customer_v", "entities": {"customer_id": [1]}}', 400,
     "InvalidRequestError"),
    (FEAST, b'{"features": [1], "entities": {"customer_id": [1]}}', 400, "InvalidRequestError"),
    (FEAST, b'{"features": [], "entities": {"customer_id": [1]}}', 400, "InvalidRequestError"),
    (FEAST, b"{" + (_CUSTOMER % "1").encode() + b"}", 400, "InvalidEntityKeyError"),
    (FEAST, b"{" + (_CUSTOMER % "[1.5]").encode() + b"}", 400, "InvalidEntityKeyError"),
    (FEAST, b"{" + (_CUSTOMER % "[true]").encode() + b"}", 400, "InvalidEntityKeyError"),
    (FEAST, b"{" + (_CUSTOMER % '["1"]').encode() + b"}", 400, "InvalidEntityKeyError"),
    (FEAST, b"{" + (_CUSTOMER % "[[1]]").encode() + b"}", 400, "InvalidEntityKeyError"),
    (FEAST, b"{" + (_CUSTOMER % '[{"a": 1}]').encode() + b"}", 400, "InvalidEntityKeyError"),
    (FEAST, b"{" + (_CUSTOMER % "[9223372036854775808]").encode() + b"}", 400,
     "InvalidEntityKeyError"),
    (FEAST, b"{" + (_CUSTOMER % "[123456789012345678901234567890]").encode() + b"}", 400,
     "InvalidEntityKeyError"),
    (FEAST, b"{" + (_CUSTOMER % "[1e400]").encode() + b"}", 400, "InvalidRequestError"),
    (FEAST, '{"features": ["customer_v"], "entities": {"kundennr_ü☃": [1]}}'.encode(), 400,
     "InvalidEntityKeyError"),
    (FEAST, b'{"features": ["pair_v"], "entities": {"customer_id": [1], "merchant_id": [1, 2]}}',
     400, "InvalidEntityKeyError"),
    (FEAST, b'{"features": ["nope"], "entities": {"customer_id": [1]}}', 404,
     "UnknownFeatureViewError"),
    (FEAST, b'{"features": ["customer_v:nope"], "entities": {"customer_id": [1]}}', 404,
     "UnknownFeatureError"),
    (FEAST, b'{"features": ["customer_v:a:b"], "entities": {"customer_id": [1]}}', 404,
     "UnknownFeatureError"),
    (FEAST, b'{"feature_service": "nope", "entities": {"customer_id": [1]}}', 404,
     "UnknownServiceError"),
    (FEAST, b'{"feature_service": 5, "entities": {"customer_id": [1]}}', 400,
     "InvalidRequestError"),
    (FEAST, b"{" + (_CUSTOMER % "[1]").encode() + b', "full_feature_names": "yes"}', 400,
     "InvalidRequestError"),
    (FEAST, b"{" + (_CUSTOMER % "[1]").encode() + b', "as_of": "tomorrow"}', 400,
     "InvalidRequestError"),
    (FEAST, b"{" + (_CUSTOMER % "[1]").encode() + b', "as_of": 5}', 400, "InvalidRequestError"),
    (FEAST, b"{" + (_CUSTOMER % "[1]").encode() + b', "as_of": "0001-01-01T00:00:00+05:00"}',
     400, "InvalidRequestError"),
    (FEAST, b"[" * 100_000 + b"]" * 100_000, 400, "InvalidRequestError"),
    (FEAST, b'{"features": ["\xff\xfe"], "entities": {"customer_id": [1]}}', 400,
     "InvalidRequestError"),
    (FEAST, b'{"features": ["\\ud800"], "entities": {"customer_id": [1]}}', 400,
     "InvalidRequestError"),
    (FEAST, b'{"features": ["customer_v"], "entities": {"customer_id": [' + b"1," * 1000 + b"1]}}",
     413, "RequestTooLargeError"),
    (OWN, b'{"features": ["customer_v"], "entity_rows": [{"customer_id": 1}], "x": 1}', 400,
     "InvalidRequestError"),
    (OWN, b'{"features": ["customer_v"], "service": "fraud_model", "entity_rows": []}', 400,
     "InvalidRequestError"),
    (OWN, b'{"entity_rows": [{"customer_id": 1}]}', 400, "InvalidRequestError"),
    (OWN, b'{"features": ["customer_v"], "entity_rows": {"customer_id": 1}}', 400,
     "InvalidRequestError"),
    (OWN, b'{"features": ["customer_v"], "entity_rows": [1]}', 400, "InvalidRequestError"),
    (OWN, b'{"features": ["customer_v"], "entity_rows": [{"customer_id": 1}, {"x": 2}]}', 400,
     "InvalidEntityKeyError"),
    (OWN, b'{"features": ["customer_v"], "entity_rows": [{"customer_id": 1}], '
          b'"entities": {"customer_id": [1]}}', 400, "InvalidRequestError"),
    (OWN, b'{"features": ["customer_v"], "entity_rows": [' + b'{"customer_id": 1},' * 1000
     + b'{"customer_id": 1}]}', 413, "RequestTooLargeError"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "body", "status", "kind"), BAD)
def test_bad_input_is_a_4xx_error_body(
    client: TestClient, path: str, body: bytes, status: int, kind: str
) -> None:
    _error(client.post(path, content=body), status, kind)


def test_body_over_the_limit_is_413(client: TestClient) -> None:
    big = b'{"features": ["customer_v"], "entities": {"customer_id": [1]}, "pad": "'
    big += b"x" * (2 << 20) + b'"}'
    _error(client.post(FEAST, content=big), 413, "RequestTooLargeError")
    # without a Content-Length (chunked): counted while it arrives
    _error(client.post(FEAST, content=iter([big[:1000], big[1000:]])), 413, "RequestTooLargeError")


def test_routes_and_methods(client: TestClient) -> None:
    _error(client.get("/nope"), 404, "RouteNotFoundError")
    response = client.put("/health")
    _error(response, 405, "MethodNotAllowedError")
    assert response.headers["allow"] == "GET"
    _error(client.get(FEAST), 405, "MethodNotAllowedError")
    # a concrete path shadows /features/{view}, as OpenAPI's path matching says
    response = client.get("/features/online")
    _error(response, 405, "MethodNotAllowedError")
    assert response.headers["allow"] == "POST"
    _error(client.post("/models/fraud/predict", json={}), 404, "ModelNotServedError")


# -- auth and per-view access ----------------------------------------------------


@contextmanager
def anonymous(client: TestClient) -> Iterator[TestClient]:
    """The client without its default (admin) token for the block."""
    saved = client.headers.pop("Authorization")
    try:
        yield client
    finally:
        client.headers["Authorization"] = saved


def _lookup(client: TestClient, view: str, token: str, **entities: Any) -> Any:
    body = {"features": [view], "entities": {k: [v] for k, v in entities.items()}}
    return client.post(FEAST, json=body, headers=bearer(token))


def test_missing_or_wrong_token_is_401(client: TestClient) -> None:
    body = {"features": ["customer_v"], "entities": {"customer_id": [1]}}
    wrong = [
        {},
        bearer("not-a-token"),
        {"Authorization": f"Basic {ADMIN}"},
        {"Authorization": "Bearer"},
        {"Authorization": f"Bearer {ADMIN}x"},
    ]
    for headers in wrong:
        with anonymous(client):
            response = client.post(FEAST, json=body, headers=headers)
            _error(response, 401, "UnauthorizedError")
            assert response.headers["www-authenticate"].startswith("Bearer")
            # the registry and the metrics need a token too; health, readiness, docs do not
            _error(client.get("/features", headers=headers), 401, "UnauthorizedError")
            _error(client.get("/metrics", headers=headers), 401, "UnauthorizedError")
            for public in ("/health", "/ready", "/openapi.json", "/docs"):
                assert client.get(public, headers=headers).status_code == 200, public
    # the scheme is case-insensitive (RFC 9110), the token is not
    assert client.post(FEAST, json=body, headers={"Authorization": f"bearer {ADMIN}"}).is_success


def test_view_access_from_dbt_group_and_meta(client: TestClient) -> None:
    # account_v: dbt access private in group risk; typed_features: meta.pitstop_readers [ml]
    assert _lookup(client, "customer_v", PLAIN, customer_id=1).status_code == 200
    message = _error(_lookup(client, "account_v", PLAIN, account_code="x"), 403, "ForbiddenError")
    assert "'plain'" in message and "account_v" in message
    assert _lookup(client, "account_v", RISK, account_code="x").status_code == 200
    _error(_lookup(client, "typed_features", RISK, customer_id=1), 403, "ForbiddenError")
    _error(_lookup(client, "typed_features", PLAIN, customer_id=1), 403, "ForbiddenError")
    assert _lookup(client, "typed_features", ADMIN, customer_id=1).status_code == 200
    assert _lookup(client, "account_v", ADMIN, account_code="x").status_code == 200


def test_registry_hides_views_a_token_cannot_read(client: TestClient) -> None:
    def views(token: str) -> set[str]:
        response = client.get("/features", headers=bearer(token))
        assert response.status_code == 200, response.text
        return set(response.json()["feature_views"])

    everything = {"typed_features", "customer_v", "merchant_v", "pair_v", "account_v",
                  "customer_scd2", "offline_v"}  # fmt: skip
    assert views(ADMIN) == everything
    assert views(RISK) == everything - {"typed_features"}
    assert views(PLAIN) == everything - {"typed_features", "account_v"}
    _error(client.get("/features/account_v", headers=bearer(PLAIN)), 404, "UnknownFeatureViewError")
    view = client.get("/features/account_v", headers=bearer(RISK)).json()
    assert view["access"] == {
        "readers": ["risk"],
        "rule": "dbt access: private",
        "dbt_group": "risk",
        "dbt_access": "private",
    }
    assert view["materialized"] is True
    assert view["materialized_at"] == "2025-06-01T00:00:00Z"
    assert view["ttl_seconds"] == 7200
    customer = client.get("/features/customer_v").json()
    assert customer["services"] == ["fraud_model"]
    assert customer["lineage"] == {
        "upstream": [],
        "downstream": [{"type": "model", "name": "customer_v_rollup"}],
    }
    assert client.get("/features/offline_v").json()["materialized"] is False


def test_tokens_are_configured_as_hashes_only(tmp_path: Path) -> None:
    digest = hash_token("s3cret")
    assert parse_tokens(f"svc {digest} risk,ml  # a comment\n\n", "x") == {
        digest: Principal("svc", frozenset({"risk", "ml"}))
    }
    with pytest.raises(ServeConfigError, match="SHA-256") as info:
        parse_tokens("svc s3cret risk", "x")
    assert "s3cret" not in str(info.value)
    with pytest.raises(ServeConfigError, match="twice"):
        parse_tokens(f"a {digest}; b {digest}", "x")
    with pytest.raises(ServeConfigError, match="fields"):
        parse_tokens(f"a {digest} risk extra", "x")
    file = tmp_path / "tokens.txt"
    file.write_text(f"svc {digest}\n")
    tokens = Tokens.load(None, file)
    assert tokens is not None and len(tokens) == 1
    assert Tokens.load(None, None) is None
    empty = Tokens.load("", None)  # configured but empty: auth on, nobody gets in
    assert empty is not None and len(empty) == 0
    with pytest.raises(ServeConfigError, match="both"):
        Tokens.load(f"other {digest}", file)


def test_access_policy_rules() -> None:
    manifest = {
        "nodes": {
            "model.p.a": {"name": "a", "resource_type": "model", "group": "g", "access": "private",
                          "config": {}},
            "model.p.b": {"name": "b", "resource_type": "model", "group": "g",
                          "access": "protected", "config": {}},
            "model.p.c": {"name": "c", "resource_type": "model", "access": "public",
                          "config": {"meta": {"pitstop_readers": "x"}}},
        }
    }  # fmt: skip
    policy = AccessPolicy.from_manifest(manifest, ["a", "b", "c"])
    g, x, nobody = (Principal(n, frozenset(s)) for n, s in (("g", {"g"}), ("x", {"x"}), ("n", ())))
    assert [policy.can_read(p, "a") for p in (g, x, nobody, None)] == [True, False, False, True]
    assert [policy.can_read(p, "b") for p in (g, x, nobody)] == [True, True, True]
    assert [policy.can_read(p, "c") for p in (g, x, nobody)] == [False, True, False]


# -- operations: health, readiness, metrics, docs --------------------------------------


def test_health_ready_and_metrics(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready").json()
    assert ready["ready"] is True and ready["checks"] == {"registry": "ok", "online_store": "ok"}
    client.post(FEAST, json={"features": ["customer_v"], "entities": {"customer_id": [1, 42]}})
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert (
        'pitstop_http_requests_total{method="POST",route="/get-online-features",status="200"}'
        in (text)
    )
    assert (
        'pitstop_http_request_duration_seconds_bucket{le="+Inf",route="/get-online-features"}'
        in (text)
    )
    assert 'pitstop_online_values_total{status="NOT_FOUND",view="customer_v"}' in text
    assert 'pitstop_online_lookups_total{view="customer_v"}' in text
    assert 'pitstop_materialization_age_seconds{view="customer_v"}' in text
    # paths outside the routes share one label (bounded cardinality)
    before = _sample(client, 'method="GET",route="unmatched",status="404"')
    client.get("/nope/1")
    client.get("/nope/2")
    assert _sample(client, 'method="GET",route="unmatched",status="404"') == before + 2


def test_metrics_count_single_lookups_like_batches() -> None:
    """Single-entity lookups are counted lazily (folded at scrape time); the
    counts must equal those of the same rows looked up as one batch, also when
    the request interleaves features of two views."""
    import random

    from pitstop.online.lookup import OnlineFeatures, Status
    from pitstop.serving.metrics import Metrics

    refs = ["a:x", "b:y", "a:z", "b:w"]
    rng = random.Random(7)
    rows = [{ref: rng.choice(list(Status)) for ref in refs} for _ in range(300)]

    def result(chunk: list[dict[str, Status]]) -> OnlineFeatures:
        n = len(chunk)
        return OnlineFeatures(
            ["k"], {"k": list(range(n))}, refs, {r: [None] * n for r in refs},
            {r: [row[r] for row in chunk] for r in refs}, {r: [None] * n for r in refs},
        )  # fmt: skip

    one_by_one, batched = Metrics(), Metrics()
    for row in rows:
        one_by_one.lookup(result([row]))
    batched.lookup(result(rows))
    one_by_one.fold()
    assert one_by_one.lookups == batched.lookups == {"a": 300, "b": 300}
    assert one_by_one.statuses == batched.statuses
    assert sum(batched.statuses.values()) == 300 * len(refs)


def _sample(client: TestClient, labels: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("pitstop_http_requests_total{" + labels + "}"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_openapi_and_docs_page(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    operations = {(m.upper(), p) for p, item in document["paths"].items() for m in item}
    assert operations == {
        ("POST", "/get-online-features"),
        ("POST", "/features/online"),
        ("GET", "/features"),
        ("GET", "/features/{view}"),
        ("GET", "/models"),
        ("POST", "/models/{name}/predict"),
        ("GET", "/health"),
        ("GET", "/ready"),
        ("GET", "/metrics"),
    }
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    page = client.get("/docs")
    assert page.headers["content-type"].startswith("text/html")
    for _, path in operations:
        assert path in page.text
    # self-contained: the machine is offline, so nothing is fetched from elsewhere
    assert "<script" not in page.text and "http://" not in page.text and "https://" not in page.text


def test_without_tokens_no_auth_is_needed(served: dict[str, Any]) -> None:
    with TestClient(_app(served), raise_server_exceptions=False) as client:
        response = client.post(
            FEAST, json={"features": ["account_v"], "entities": {"account_code": ["x"]}}
        )
        assert response.status_code == 200
        assert "securitySchemes" not in client.get("/openapi.json").json()["components"]


def test_not_ready_until_materialized(served: dict[str, Any], tmp_path: Path) -> None:
    store = get_online_store({"type": "sqlite", "path": str(tmp_path / "empty.sqlite")})
    app = create_app(ServeSettings(), StateLoader(Project(served["root"]), store))
    with TestClient(app, raise_server_exceptions=False) as client:
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert "materialize" in ready.json()["checks"]["online_store"]
        message = _error(
            client.post(FEAST, json={"features": ["customer_v"], "entities": {"customer_id": [1]}}),
            503,
            "NotReadyError",
        )
        assert "pitstop materialize" in message
        # the registry is served all the same
        assert client.get("/features").status_code == 200


def test_limits_are_configurable(served: dict[str, Any]) -> None:
    with TestClient(_app(served, max_entities=2, max_body_bytes=200)) as client:
        ok = {"features": ["customer_v"], "entities": {"customer_id": [1, 2]}}
        assert client.post(FEAST, json=ok).status_code == 200
        _error(
            client.post(FEAST, json={**ok, "entities": {"customer_id": [1, 2, 3]}}),
            413,
            "RequestTooLargeError",
        )
        _error(client.post(FEAST, content=json.dumps({**ok, "x": "y" * 300})), 413,
               "RequestTooLargeError")  # fmt: skip


def test_big_batches_run_off_the_event_loop(served: dict[str, Any]) -> None:
    with TestClient(_app(served, inline_max_entities=1)) as client:
        body = {"features": ["customer_v:version"], "entities": {"customer_id": [1, 2, 99]}}
        response = client.post(FEAST, json=body)
        assert response.status_code == 200
        assert response.json()["results"][1]["values"] == [10, 20, None]


def test_a_body_that_never_arrives_is_408(served: dict[str, Any]) -> None:
    """A client that sends headers and then nothing gets 408 once the request
    time limit passes (raw ASGI: the receive channel never yields a body)."""
    import asyncio

    app = _app(served, request_timeout_s=0.3)
    sent: list[dict[str, Any]] = []

    async def never() -> dict[str, Any]:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def main() -> None:
        await app.startup()
        try:
            scope = {"type": "http", "method": "POST", "path": FEAST, "headers": []}
            await asyncio.wait_for(app(scope, never, send), 10)
        finally:
            await app.shutdown()

    asyncio.run(main())
    assert sent[0]["status"] == 408
    assert json.loads(sent[1]["body"])["error"]["type"] == "RequestTimeoutError"


def test_cli_hash_token_and_config_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from pitstop.cli import cli

    runner = CliRunner()
    result = runner.invoke(cli, ["serve", "--hash-token"], input="s3cret\n")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == hash_token("s3cret")
    # a plain-text token where a hash belongs: a CLI error that does not echo it
    monkeypatch.setenv("PITSTOP_SERVE_TOKENS", "svc my-plain-secret")
    result = runner.invoke(cli, ["serve", "--port", "0"])
    assert result.exit_code == 1
    assert "Error: ServeConfigError" in result.output
    assert "my-plain-secret" not in result.output


def test_redis_store_serves_too(served: dict[str, Any], redis_server: str) -> None:
    import redis

    redis.Redis.from_url(redis_server).flushdb()
    materialize(served["root"], {**served["env"], "PITSTOP_ONLINE_STORE": redis_server})
    store = get_online_store({"type": "redis", "url": redis_server})
    app = create_app(ServeSettings(), StateLoader(Project(served["root"]), store))
    with TestClient(app) as client:
        response = client.post(
            FEAST,
            json={"features": ["customer_v:tag"], "entities": {"customer_id": [1, 3, 99]}},
        )
        assert response.status_code == 200, response.text
        assert response.json()["results"][1]["statuses"] == ["PRESENT", "NULL_VALUE", "NOT_FOUND"]
        assert client.get("/ready").json()["checks"]["online_store"] == "ok"
