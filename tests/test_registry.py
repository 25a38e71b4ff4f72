"""The registry reader: the demo project's contract, and every validation error."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pitstop.errors import (
    ContractError,
    UnknownFeatureError,
    UnknownFeatureViewError,
    UnknownServiceError,
)
from pitstop.project import Project
from pitstop.registry import Registry, parse_ttl

ENTITIES = {
    "customer": {"keys": [{"name": "customer_id", "type": "bigint"}], "description": "c"},
    "account": {
        "keys": [{"name": "bank_id", "type": "bigint"}, {"name": "account_no", "type": "varchar"}]
    },
}


def _column(name: str, data_type: str | None = None) -> dict[str, Any]:
    return {"name": name, "description": f"{name} doc", "data_type": data_type}


def _view_node(name: str = "profile", **meta: Any) -> dict[str, Any]:
    base = {
        "entity": "customer",
        "timestamp": "changed_at",
        "created_timestamp": "ingested_at",
        "ttl": "30d",
        "online": True,
        "owner": "team@example.com",
    }
    base.update(meta)
    return {
        "unique_id": f"model.demo.{name}",
        "resource_type": "model",
        "name": name,
        "original_file_path": f"models/{name}.sql",
        "relation_name": f'"db"."main"."{name}"',
        "description": "A test view.",
        "config": {"meta": {"pitstop": {k: v for k, v in base.items() if v is not None}}},
        "columns": {
            c["name"]: c
            for c in [
                _column("customer_id", "bigint"),
                _column("changed_at", "timestamp"),
                _column("ingested_at", "timestamp"),
                _column("tier", "varchar"),
                _column("credit_limit"),
            ]
        },
    }


def _registry(*nodes: dict[str, Any], catalog: dict[str, Any] | None = None) -> Registry:
    manifest = {"nodes": {n["unique_id"]: n for n in nodes}}
    return Registry.from_manifest(manifest, {"pitstop_entities": ENTITIES}, catalog)


def test_reads_a_valid_view_with_types_from_yaml_and_catalog() -> None:
    catalog = {"nodes": {"model.demo.profile": {"columns": {"CREDIT_LIMIT": {"type": "DOUBLE"}}}}}
    view = _registry(_view_node(), catalog=catalog).view("profile")
    assert view.key_columns == ("customer_id",)
    assert view.timestamp == "changed_at"
    assert view.created_timestamp == "ingested_at"
    assert view.ttl == timedelta(days=30)
    assert view.online is True
    assert view.kind == "event"
    assert [(f.name, f.dtype) for f in view.features] == [
        ("tier", "varchar"),
        ("credit_limit", "double"),
    ]
    assert view.relation == '"db"."main"."profile"'


def test_explicit_feature_list_limits_the_features() -> None:
    view = _registry(_view_node(features=["credit_limit"])).view("profile")
    assert [f.name for f in view.features] == ["credit_limit"]


@pytest.mark.parametrize(
    ("meta", "field", "expected"),
    [
        ({"entity": "shopper"}, "entity", "'shopper' is not declared in var pitstop_entities"),
        ({"entity": None}, "entity", "missing"),
        ({"ttl": "30 days"}, "ttl", "is not a duration"),
        ({"ttl": "0d"}, "ttl", "longer than zero"),
        ({"timestamp": "event_time"}, "timestamp", "'event_time' is not a column"),
        ({"timestamp": None}, "timestamp", "missing"),
        ({"created_timestamp": "loaded_at"}, "created_timestamp", "'loaded_at' is not a column"),
        ({"online": "yes"}, "online", "expected true or false"),
        ({"owner": None}, "owner", "missing"),
        ({"kind": "stream"}, "kind", "must be one of event, scd2, snapshot"),
        ({"kind": "scd2"}, "valid_to", "'valid_to' is not a column"),
        ({"valid_to": "ends_at"}, "valid_to", "only scd2 and snapshot"),
        ({"kind": "scd2", "valid_to": {"a": 1}}, "valid_to", "expected a column name"),
        ({"tags": "vip"}, "tags", "expected a list of strings"),
        ({"features": ["tier", "tier"]}, "features", "duplicate feature names: tier"),
        ({"features": ["nope"]}, "features", "'nope' is not a documented column"),
        ({"features": ["customer_id"]}, "features", "is a key or timestamp column"),
        ({"entitty": "customer"}, "entitty", "is not a feature-view field"),
    ],
)
def test_contract_errors_name_model_field_and_expectation(
    meta: dict[str, Any], field: str, expected: str
) -> None:
    node = _view_node(**meta)
    with pytest.raises(ContractError) as info:
        _registry(node)
    message = str(info.value)
    assert "model 'profile' (models/profile.sql)" in message
    assert f"field {field}:" in message
    assert expected in message


def test_missing_key_column_is_reported() -> None:
    node = _view_node(entity="account")
    with pytest.raises(ContractError, match="key column 'bank_id' of entity 'account'"):
        _registry(node)


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(ContractError) as info:
        _registry(_view_node(ttl="soon"), _view_node("other", entity="nobody"))
    assert "model 'profile'" in str(info.value)
    assert "model 'other'" in str(info.value)


def test_bad_entities_declaration() -> None:
    manifest = {"nodes": {}}
    with pytest.raises(ContractError, match="entity 'x', field keys"):
        Registry.from_manifest(manifest, {"pitstop_entities": {"x": {"keys": []}}})
    with pytest.raises(ContractError, match="var pitstop_entities: missing"):
        Registry.from_manifest(manifest, {})


def test_resolve_and_services() -> None:
    service = copy.deepcopy(_view_node("train"))
    service["config"]["meta"]["pitstop"] = {
        "training_set": {"features": ["profile:tier", "profile"], "label": "is_fraud"}
    }
    registry = _registry(_view_node(), service)
    resolved = registry.resolve(["profile:credit_limit", "profile"])
    assert [(v.name, [f.name for f in fs]) for v, fs in resolved] == [
        ("profile", ["credit_limit", "tier"])
    ]
    assert registry.service("train").features == ("profile:tier", "profile")
    assert registry.service("train").label == "is_fraud"
    with pytest.raises(UnknownFeatureViewError, match="unknown feature view 'nope'"):
        registry.resolve(["nope:x"])
    with pytest.raises(UnknownFeatureError, match="has no feature 'x'"):
        registry.resolve(["profile:x"])
    with pytest.raises(UnknownFeatureError, match="must be 'view' or 'view:feature'"):
        registry.resolve(["a:b:c"])
    with pytest.raises(UnknownServiceError):
        registry.service("fraud_v9")


def test_service_with_unknown_feature_is_a_contract_error() -> None:
    service = copy.deepcopy(_view_node("train"))
    service["config"]["meta"]["pitstop"] = {"training_set": {"features": ["profile:nope"]}}
    with pytest.raises(ContractError, match=r"model 'train'.*field training_set.features"):
        _registry(_view_node(), service)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("45s", 45),
        ("90m", 5400),
        ("12h", 43200),
        ("30d", 2592000),
        ("2w", 1209600),
        ("1d12h", 129600),
    ],
)
def test_parse_ttl(text: object, seconds: int) -> None:
    ttl = parse_ttl(text)
    assert ttl is not None and ttl.total_seconds() == seconds


def test_parse_ttl_none_and_garbage() -> None:
    assert parse_ttl(None) is None
    assert parse_ttl("none") is None
    for bad in ("", "d", "1.5d", "-1d", True, 0, 3600, "7", "10001d", "99999999999999999999d"):
        with pytest.raises(ValueError):
            parse_ttl(bad)


@pytest.mark.slow
def test_demo_project_registry(project_copy: Path) -> None:
    registry = Registry.load(Project(project_copy))
    assert {"customer_profile", "merchant_daily_stats"} <= set(registry.views)
    merchant = registry.view("merchant_daily_stats")
    assert merchant.entity.name == "merchant"
    assert merchant.ttl == timedelta(days=7)
    assert "transaction_count_1d" in {f.name for f in merchant.features}
    assert all(f.dtype != "unknown" for v in registry.views.values() for f in v.features)
