"""Column-level lineage (pitstop.registry.lineage): the tracer on small SQL it
must handle, the unresolved marker, the cache, and the demo's features checked
by hand against their SQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import copy_project, isolated

from pitstop.cli import cli
from pitstop.errors import NotFoundError, ProjectError, UnknownFeatureViewError
from pitstop.project import Project
from pitstop.registry.lineage import (
    CACHE_FILE,
    UNRESOLVED,
    LineageGraph,
    LineageNode,
    build_graph,
)

# -- small projects built by hand ---------------------------------------------------


def _node(name: str, sql: str | None, kind: str = "model", **extra: Any) -> dict[str, Any]:
    return {
        "unique_id": f"{kind}.demo.{name}",
        "resource_type": kind,
        "name": name,
        "relation_name": f'"db"."main"."{name}"',
        "compiled_code": sql,
        "depends_on": {"nodes": extra.pop("parents", [])},
        "columns": {c: {"name": c} for c in extra.pop("columns", [])},
        "config": extra.pop("config", {}),
        **extra,
    }


def _source(name: str) -> dict[str, Any]:
    return {
        "unique_id": f"source.demo.raw.{name}",
        "resource_type": "source",
        "source_name": "raw",
        "name": name,
        "relation_name": f'"db"."raw"."{name}"',
        "columns": {},
    }


def _graph(
    nodes: list[dict[str, Any]],
    catalog: dict[str, dict[str, str]] | None = None,
    sources: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> LineageGraph:
    manifest = {
        "metadata": {"adapter_type": "duckdb"},
        "nodes": {n["unique_id"]: n for n in nodes},
        "sources": {s["unique_id"]: s for s in sources},
    }
    cat = None
    if catalog is not None:
        cat = {
            "nodes": {},
            "sources": {
                uid: {
                    "columns": {
                        c: {"name": c, "type": t, "index": i}
                        for i, (c, t) in enumerate(cols.items(), 1)
                    }
                }
                for uid, cols in catalog.items()
            },
        }
    return LineageGraph.from_artifacts(manifest, cat)


def _parents(graph: LineageGraph, uid: str, column: str) -> set[str]:
    return {f"{c.name}.{c.column}" for c in graph.column(uid, column).upstream}


ORDERS = "source.demo.raw.orders"
CUSTOMERS = "source.demo.raw.customers"
RAW = {
    ORDERS: {"order_id": "bigint", "customer_id": "bigint", "amount": "double", "at": "timestamp"},
    CUSTOMERS: {"id": "bigint", "name": "varchar", "rate": "double", "secret": "varchar"},
}


def test_star_exclude_ctes_and_joins() -> None:
    sql = """
    with orders as (select * from "db"."raw"."orders"),
    customers as (select * exclude (secret) from "db"."raw"."customers"),
    joined as (
        select orders.order_id, customers.name as customer_name,
               orders.amount * customers.rate as amount_eur, customers.*
        from orders
        left join customers on orders.customer_id = customers.id
    )
    select * from joined
    """
    m = _node("enriched", sql, parents=[ORDERS, CUSTOMERS])
    graph = _graph([m], RAW, [_source("orders"), _source("customers")])
    uid = m["unique_id"]
    # `* exclude (secret)` and the final `select *` expand to exactly these
    assert list(graph.nodes[uid]["columns"]) == [
        "order_id",
        "customer_name",
        "amount_eur",
        "id",
        "name",
        "rate",
    ]
    assert _parents(graph, uid, "amount_eur") == {"raw.orders.amount", "raw.customers.rate"}
    assert _parents(graph, uid, "customer_name") == {"raw.customers.name"}
    # the join key decides rows, not values: no edge from orders.customer_id
    assert _parents(graph, uid, "order_id") == {"raw.orders.order_id"}
    assert graph.column(uid, "amount_eur").upstream[0].type in ("double", "")


def test_window_functions_inline_and_named() -> None:
    sql = """
    select
        customer_id,
        sum(amount) over (partition by customer_id order by at) as running_amount,
        count(order_id) over w as order_count,
        lag(at) over w2 as previous_at
    from "db"."raw"."orders"
    window w as (partition by customer_id order by at), w2 as (w)
    """
    m = _node("windows", sql, parents=[ORDERS])
    graph = _graph([m], RAW, [_source("orders")])
    uid = m["unique_id"]
    assert _parents(graph, uid, "running_amount") == {
        "raw.orders.amount",
        "raw.orders.customer_id",
        "raw.orders.at",
    }
    assert _parents(graph, uid, "order_count") == {
        "raw.orders.order_id",
        "raw.orders.customer_id",
        "raw.orders.at",
    }
    assert _parents(graph, uid, "previous_at") == {"raw.orders.at", "raw.orders.customer_id"}


def test_aggregates_depend_on_their_group_keys() -> None:
    sql = """
    select customer_id, date_trunc('day', at) as day, count(*) as n, sum(amount) as total
    from "db"."raw"."orders"
    group by 1, 2
    """
    m = _node("daily", sql, parents=[ORDERS])
    graph = _graph([m], RAW, [_source("orders")])
    uid = m["unique_id"]
    assert _parents(graph, uid, "n") == {"raw.orders.customer_id", "raw.orders.at"}
    assert _parents(graph, uid, "total") == {
        "raw.orders.amount",
        "raw.orders.customer_id",
        "raw.orders.at",
    }
    assert _parents(graph, uid, "day") == {"raw.orders.at"}


def test_unions_subqueries_constants_and_chains() -> None:
    events = _node(
        "events",
        """
        select customer_id as who, at as event_at, 1 as is_order from "db"."raw"."orders"
        union all
        select id, cast(null as timestamp), null from "db"."raw"."customers"
        """,
        parents=[ORDERS, CUSTOMERS],
    )
    top = _node(
        "top",
        """
        select who, (select max(amount) from "db"."raw"."orders") as max_amount,
               event_at
        from "db"."main"."events"
        """,
        parents=[events["unique_id"], ORDERS],
    )
    graph = _graph([events, top], RAW, [_source("orders"), _source("customers")])
    assert _parents(graph, events["unique_id"], "who") == {
        "raw.orders.customer_id",
        "raw.customers.id",
    }
    constant = graph.column(events["unique_id"], "is_order")
    assert constant.upstream == () and constant.unresolved is None
    assert _parents(graph, top["unique_id"], "max_amount") == {"raw.orders.amount"}
    # through the chain: top.event_at <- events.event_at <- orders.at
    tree = graph.column(top["unique_id"], "event_at")
    assert [(r.name, r.column) for r in tree.roots()] == [("raw.orders", "at")]
    assert "source raw.orders.at" in "\n".join(tree.lines())


def test_without_a_catalog_a_single_star_is_followed_and_two_are_unresolved() -> None:
    staged = _node(
        "staged",
        'with source as (select * from "db"."raw"."orders") '
        "select cast(order_id as bigint) as order_id, amount from source",
        parents=[ORDERS],
    )
    both = _node(
        "both",
        'select * from "db"."raw"."orders", "db"."raw"."customers"',
        parents=[ORDERS, CUSTOMERS],
        columns=["amount"],
    )
    graph = _graph([staged, both], None, [_source("orders"), _source("customers")])
    assert graph.has_catalog is False
    # the only relation under the star must hold the column: a sound edge
    assert _parents(graph, staged["unique_id"], "amount") == {"raw.orders.amount"}
    # two relations with unknown columns: say so, invent nothing
    tree = graph.column(both["unique_id"], "amount")
    assert tree.upstream == ()
    assert tree.unresolved and "several relations" in tree.unresolved


def test_unparsable_sql_marks_every_column_unresolved() -> None:
    broken = _node("broken", "select from where (", columns=["a", "b"], parents=[ORDERS])
    graph = _graph([broken], RAW, [_source("orders")])
    info = graph.nodes[broken["unique_id"]]
    assert info["problem"].startswith("sqlglot cannot parse the compiled SQL")
    tree = graph.column(broken["unique_id"], "a")
    assert tree.unresolved == info["problem"]
    assert f"[{UNRESOLVED}: sqlglot cannot parse" in tree.lines()[0]
    assert tree.to_dict()[UNRESOLVED] == info["problem"]


def test_incremental_self_reference_is_not_an_edge() -> None:
    sql = """
    select order_id, amount from "db"."raw"."orders"
    where at > (select max(at) from "db"."main"."incr")
    union all
    select order_id, amount from "db"."main"."incr"
    """
    incr = _node("incr", sql, parents=[ORDERS])
    graph = _graph([incr], RAW, [_source("orders")])
    assert _parents(graph, incr["unique_id"], "amount") == {"raw.orders.amount"}


def test_snapshot_columns_come_from_updated_at_and_the_key() -> None:
    snap = _node(
        "snap",
        'select * from "db"."raw"."customers"',
        kind="snapshot",
        parents=[CUSTOMERS],
        config={"strategy": "timestamp", "updated_at": "at", "unique_key": "id"},
    )
    catalog = {CUSTOMERS: {**RAW[CUSTOMERS], "at": "timestamp"}}
    graph = _graph([snap], catalog, [_source("customers")])
    uid = snap["unique_id"]
    assert _parents(graph, uid, "dbt_valid_from") == {"raw.customers.at"}
    assert _parents(graph, uid, "dbt_scd_id") == {"raw.customers.at", "raw.customers.id"}
    assert _parents(graph, uid, "name") == {"raw.customers.name"}


def test_unknown_node_and_column_are_not_found() -> None:
    m = _node("m", 'select amount from "db"."raw"."orders"', parents=[ORDERS])
    graph = _graph([m], RAW, [_source("orders")])
    with pytest.raises(NotFoundError, match="has no column 'nope'"):
        graph.column(m["unique_id"], "nope")
    with pytest.raises(NotFoundError, match="names no model"):
        graph.impact("nothing.at.all.here")
    with pytest.raises(NotFoundError, match="model 'm' has no column 'x'"):
        graph.impact("m.x")
    with pytest.raises(UnknownFeatureViewError):
        graph.feature("m:amount")


def test_unchanged_nodes_are_not_traced_again() -> None:
    m = _node("m", 'select amount from "db"."raw"."orders"', parents=[ORDERS])
    manifest = {"nodes": {m["unique_id"]: m}, "sources": {ORDERS: _source("orders")}}
    first = build_graph(manifest, None)
    # a sentinel in the previous document survives only if the node is reused
    first["nodes"][m["unique_id"]]["columns"]["amount"]["from"] = [["sentinel", "x"]]
    again = build_graph(manifest, None, previous=first)
    assert again["nodes"][m["unique_id"]]["columns"]["amount"]["from"] == [["sentinel", "x"]]
    m["compiled_code"] = 'select amount * 2 as amount from "db"."raw"."orders"'
    changed = build_graph(manifest, None, previous=first)
    assert changed["nodes"][m["unique_id"]]["columns"]["amount"]["from"] == [[ORDERS, "amount"]]


def _tiny_project(root: Path, manifest: dict[str, Any]) -> Project:
    root.mkdir(parents=True)
    (root / "dbt_project.yml").write_text(
        "name: tiny\nversion: '1'\nprofile: tiny\nvars:\n  pitstop_entities: {}\n"
    )
    (root / "target").mkdir()
    (root / "target" / "manifest.json").write_text(json.dumps(manifest))
    return Project(root)


def test_load_uses_the_cache_while_the_manifest_is_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    m = _node("m", 'select amount from "db"."raw"."orders"', parents=[ORDERS])
    manifest = {"nodes": {m["unique_id"]: m}, "sources": {ORDERS: _source("orders")}}
    project = _tiny_project(tmp_path / "tiny", manifest)
    graph = LineageGraph.load(project, compile_if_needed=False)
    cache = project.target_path / CACHE_FILE
    assert cache.exists()
    assert _parents(graph, m["unique_id"], "amount") == {"raw.orders.amount"}
    # the cache alone answers: rewrite it (same stamp) and the answer follows it
    document = json.loads(cache.read_text())
    document["nodes"][m["unique_id"]]["columns"]["amount"]["from"] = []
    cache.write_text(json.dumps(document))
    cached = LineageGraph.load(project, compile_if_needed=False)
    assert cached.column(m["unique_id"], "amount").upstream == ()
    # a new manifest (another SQL) is traced again
    m["compiled_code"] = 'select order_id as amount from "db"."raw"."orders"'
    project.manifest_path.write_text(json.dumps(manifest))
    later = project.manifest_path.stat().st_mtime_ns + 10**10
    os.utime(project.manifest_path, ns=(later, later))
    fresh = LineageGraph.load(project, compile_if_needed=False)
    assert _parents(fresh, m["unique_id"], "amount") == {"raw.orders.order_id"}


def test_a_manifest_without_compiled_sql_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    m = _node("m", None, parents=[ORDERS])
    project = _tiny_project(tmp_path / "tiny", {"nodes": {m["unique_id"]: m}, "sources": {}})
    with pytest.raises(ProjectError, match="holds no compiled SQL; run `dbt compile`"):
        LineageGraph.load(project, compile_if_needed=False)


# -- the demo project, checked by hand against its SQL ---------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, LineageGraph]]:
    """A copy of the demo project, compiled (no warehouse needed), and its graph."""
    root = copy_project(tmp_path_factory.mktemp("lineage") / "project")
    with isolated(root):
        project = Project(root)
        project.run_dbt(["compile"])
        yield root, LineageGraph.load(project)


def _feature(graph: LineageGraph, ref: str) -> LineageNode:
    (tree,) = graph.feature(ref)
    return tree


def _direct(tree: LineageNode) -> set[str]:
    return {f"{c.name}.{c.column}" for c in tree.upstream}


def _roots(tree: LineageNode) -> set[str]:
    return {f"{c.name}.{c.column}" for c in tree.roots()}


STG_TXN = "stg_payments__transactions"
TXN = "payments.transactions"

# feature -> (columns it is computed from, source columns at the ends), read off the SQL:
# merchant_daily_stats groups transactions by merchant and day; the window views partition
# by the entity and order by the event time; the scd2 history nulls attributes while the
# customer is deleted (is_deleted <- operation); the snapshot passes columns through.
HAND_CHECKED = {
    "merchant_daily_stats:transaction_count_1d": (
        {f"{STG_TXN}.merchant_id", f"{STG_TXN}.transacted_at"},
        {f"{TXN}.merchant_id", f"{TXN}.transacted_at"},
    ),
    "merchant_daily_stats:amount_sum_1d": (
        {f"{STG_TXN}.amount", f"{STG_TXN}.merchant_id", f"{STG_TXN}.transacted_at"},
        {f"{TXN}.amount", f"{TXN}.merchant_id", f"{TXN}.transacted_at"},
    ),
    "merchant_daily_stats:customer_count_1d": (
        {f"{STG_TXN}.customer_id", f"{STG_TXN}.merchant_id", f"{STG_TXN}.transacted_at"},
        {f"{TXN}.customer_id", f"{TXN}.merchant_id", f"{TXN}.transacted_at"},
    ),
    "customer_transaction_windows:customer_txn_count_1h": (
        {f"{STG_TXN}.customer_id", f"{STG_TXN}.transacted_at"},
        {f"{TXN}.customer_id", f"{TXN}.transacted_at"},
    ),
    "customer_transaction_windows:customer_amount_sum_24h": (
        {f"{STG_TXN}.amount", f"{STG_TXN}.customer_id", f"{STG_TXN}.transacted_at"},
        {f"{TXN}.amount", f"{TXN}.customer_id", f"{TXN}.transacted_at"},
    ),
    "customer_transaction_windows:customer_merchant_count_7d": (
        {f"{STG_TXN}.merchant_id", f"{STG_TXN}.customer_id", f"{STG_TXN}.transacted_at"},
        {f"{TXN}.merchant_id", f"{TXN}.customer_id", f"{TXN}.transacted_at"},
    ),
    "customer_transaction_windows:last_transaction_at": (
        {f"{STG_TXN}.transacted_at"},
        {f"{TXN}.transacted_at"},
    ),
    "merchant_chargeback_windows:chargeback_rate_30d": (
        {
            "int_merchant_risk_events.event_at",
            "int_merchant_risk_events.is_chargeback",
            "int_merchant_risk_events.is_transaction",
            "int_merchant_risk_events.merchant_id",
        },
        {
            "int_merchant_risk_events.is_chargeback",  # a constant 1 / NULL per event type
            "int_merchant_risk_events.is_transaction",
            f"{TXN}.merchant_id",
            f"{TXN}.transacted_at",
            "payments.chargebacks.reported_at",
        },
    ),
    "merchant_chargeback_windows:chargeback_amount_sum_90d": (
        {
            "int_merchant_risk_events.chargeback_amount",
            "int_merchant_risk_events.event_at",
            "int_merchant_risk_events.merchant_id",
        },
        {
            f"{TXN}.amount",
            f"{TXN}.merchant_id",
            f"{TXN}.transacted_at",
            "payments.chargebacks.reported_at",
        },
    ),
    "customer_profile:tier": (
        {"int_customers_historized.tier"},
        {"payments.customer_changes.tier", "payments.customer_changes.operation"},
    ),
    "customer_profile:is_deleted": (
        {"int_customers_historized.is_deleted"},
        {"payments.customer_changes.operation"},
    ),
    "merchant_risk_snapshot:merchant_country": (
        {"merchants_snapshot.country"},
        {"payments.merchants.country"},
    ),
    "merchant_risk_snapshot:is_high_risk": (
        {"merchants_snapshot.risk_level"},
        {"payments.merchants.risk_level"},
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("ref", sorted(HAND_CHECKED))
def test_demo_feature_lineage_matches_the_sql(demo: tuple[Path, LineageGraph], ref: str) -> None:
    _, graph = demo
    tree = _feature(graph, ref)
    direct, roots = HAND_CHECKED[ref]
    assert _direct(tree) == direct
    assert _roots(tree) == roots


@pytest.mark.slow
def test_demo_lineage_is_fully_resolved(demo: tuple[Path, LineageGraph]) -> None:
    _, graph = demo
    for view, info in graph.views.items():
        for feature in info["features"]:
            tree = _feature(graph, f"{view}:{feature}")
            assert "unresolved" not in json.dumps(tree.to_dict()).replace(
                f'"{UNRESOLVED}": null', ""
            ), f"{view}:{feature}"


@pytest.mark.slow
def test_demo_intermediate_and_training_columns(demo: tuple[Path, LineageGraph]) -> None:
    _, graph = demo
    # the union of transaction and chargeback events
    assert _direct(graph.column("model.pitstop.int_merchant_risk_events", "event_at")) == {
        f"{STG_TXN}.transacted_at",
        "stg_payments__chargebacks.reported_at",
    }
    # the point-in-time join: the value, its validity end and the spine time
    assert _direct(graph.column("model.pitstop.fraud_training_set", "customer_profile__tier")) == {
        "customer_profile.tier",
        "customer_profile.valid_to",
        f"{STG_TXN}.transacted_at",
    }


@pytest.mark.slow
def test_demo_impact_of_a_column_and_a_model(demo: tuple[Path, LineageGraph]) -> None:
    _, graph = demo
    report = graph.impact(f"{STG_TXN}.amount")
    assert set(report["features"]) == {
        *(f"customer_transaction_windows:customer_amount_{a}_{w}" for a in ("sum", "avg", "max")
          for w in ("1h", "24h", "7d", "30d")),
        *(f"merchant_chargeback_windows:chargeback_amount_sum_{w}" for w in ("7d", "30d", "90d")),
        "merchant_daily_stats:amount_sum_1d",
        "merchant_daily_stats:amount_avg_1d",
        "merchant_daily_stats:amount_max_1d",
    }  # fmt: skip
    (service,) = report["services"]
    assert service["name"] == "fraud_training_set"
    assert set(service["features"]) == {
        "customer_transaction_windows:customer_amount_sum_24h",
        "customer_transaction_windows:customer_amount_avg_30d",
        "customer_transaction_windows:customer_amount_max_30d",
        "merchant_daily_stats:amount_avg_1d",
    }
    # a whole model: everything computed from any of its columns
    model = graph.impact("int_merchant_risk_events")
    assert {f for f in model["features"]} == {
        f"merchant_chargeback_windows:{c}"
        for c in graph.views["merchant_chargeback_windows"]["features"]
    }
    source = graph.impact("payments.customer_changes.operation")
    assert {f for f in source["features"] if f.startswith("customer_profile:")} == {
        "customer_profile:tier",
        "customer_profile:country",
        "customer_profile:credit_limit",
        "customer_profile:is_deleted",
    }


@pytest.mark.slow
def test_cli_lineage_and_impact(demo: tuple[Path, LineageGraph]) -> None:
    root, _ = demo
    runner = CliRunner()
    base = ["--project-dir", str(root), "features"]
    with isolated(root):
        text = runner.invoke(cli, [*base, "lineage", "merchant_daily_stats:amount_sum_1d"])
        as_json = runner.invoke(
            cli, [*base, "lineage", "merchant_daily_stats:amount_sum_1d", "--json"]
        )
        impact = runner.invoke(cli, [*base, "impact", f"{STG_TXN}.amount", "--json"])
        impact_text = runner.invoke(cli, [*base, "impact", "payments.transactions.amount"])
    assert text.exit_code == 0, text.output
    assert text.output.splitlines()[0] == "merchant_daily_stats.amount_sum_1d (double)"
    assert "└── source payments.transactions.transacted_at" in text.output
    # compiled but never `dbt docs generate`d: lineage works, and says what it lacks
    assert text.stderr.startswith("note: target/catalog.json is missing")
    data = json.loads(as_json.stdout)
    (feature,) = data["features"]
    assert {s["column"] for s in feature["sources"]} == {"amount", "merchant_id", "transacted_at"}
    assert json.loads(impact.stdout)["target"]["column"] == "amount"
    assert "merchant_daily_stats:amount_sum_1d" in impact_text.output
    assert "feature services (1):" in impact_text.output


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["lineage", "nope:x"], "Error: UnknownFeatureViewError: unknown feature view 'nope'"),
        (
            ["lineage", "merchant_daily_stats:nope"],
            "Error: NotFoundError: feature view 'merchant_daily_stats' has no feature 'nope'",
        ),
        (
            ["impact", f"{STG_TXN}.nope"],
            f"Error: NotFoundError: model '{STG_TXN}' has no column 'nope'",
        ),
        (["impact", "no_such_model"], "Error: NotFoundError: 'no_such_model' names no model"),
    ],
)
def test_cli_bad_input_is_one_line(
    demo: tuple[Path, LineageGraph], args: list[str], message: str
) -> None:
    root, _ = demo
    done = subprocess.run(
        [sys.executable, "-m", "pitstop", "--project-dir", str(root), "features", *args],
        capture_output=True,
        text=True,
        env={
            **{k: v for k, v in os.environ.items() if k not in ("DBT_TARGET_PATH",)},
            "PITSTOP_DUCKDB_PATH": str(root / "pitstop.duckdb"),
            "DBT_PROFILES_DIR": str(root),
        },
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith(message), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr
