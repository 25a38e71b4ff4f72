"""``pitstop features``: discover feature views and their features (the registry)."""

from __future__ import annotations

import json
from typing import Any

import click

from pitstop.cli import open_store
from pitstop.cli._options import json_option
from pitstop.times import format_duration

__all__ = ["features"]


@click.group()
def features() -> None:
    """Discover feature views and their features (the registry)."""


@features.command("list")
@json_option
@click.pass_context
def features_list(ctx: click.Context, as_json: bool) -> None:
    """List feature views with entity, timestamp, TTL, online flag and features.

    \b
    Example:
      pitstop features list --json
    """
    from pitstop.registry import view_dict

    registry = open_store(ctx).registry
    if as_json:
        click.echo(json.dumps([view_dict(v) for v in registry.views.values()], indent=2))
        return
    for view in sorted(registry.views.values(), key=lambda v: v.name):
        ttl = format_duration(view.ttl.total_seconds()) if view.ttl else "none"
        click.echo(
            f"{view.name}  entity={view.entity.name} keys={','.join(view.key_columns)} "
            f"timestamp={view.timestamp} ttl={ttl} online={str(view.online).lower()} "
            f"kind={view.kind} owner={view.owner}"
        )
        click.echo("    features: " + ", ".join(f"{f.name} ({f.dtype})" for f in view.features))
    for service in sorted(registry.services.values(), key=lambda s: s.name):
        click.echo(f"service {service.name}: {', '.join(service.features)}")


@features.command("describe")
@click.argument("view")
@json_option
@click.pass_context
def features_describe(ctx: click.Context, view: str, as_json: bool) -> None:
    """Describe one feature view: contract, relation and every feature.

    \b
    Example:
      pitstop features describe merchant_daily_stats
    """
    from pitstop.registry import view_dict

    store = open_store(ctx)
    data = view_dict(store.registry.view(view))
    data["models"] = _models_using(store.project, view)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for key, value in data.items():
        if key not in ("features", "models"):
            click.echo(f"{key:>18}: {value}")
    click.echo(f"{'features':>18}:")
    for feature in data["features"]:
        click.echo(f"{'':>20}{feature['name']} ({feature['type']}): {feature['description']}")
    click.echo(f"{'models':>18}:{'' if data['models'] else ' none registered'}")
    for model in data["models"]:
        aliases = " ".join(f"@{a}" for a in model["aliases"])
        click.echo(
            f"{'':>20}{model['name']} v{model['version']} (service "
            f"{model['feature_service']}) {aliases}".rstrip()
        )


def _models_using(project: Any, view: str) -> list[dict[str, Any]]:
    """Registered model versions reading ``view`` (MLflow's registry); an
    unreachable registry is a note on stderr, not a failed describe."""
    from pitstop.errors import PitstopError
    from pitstop.models.catalog import models_using_view

    try:
        return [
            {k: v[k] for k in ("name", "version", "aliases", "feature_service", "run_id")}
            for v in models_using_view(view, project)
        ]
    except PitstopError as exc:
        click.echo(f"note: registered models unknown: {exc}", err=True)
        return []


@features.command("lineage")
@click.argument("ref", metavar="VIEW[:FEATURE]")
@json_option
@click.pass_context
def features_lineage(ctx: click.Context, ref: str, as_json: bool) -> None:
    """Where a feature comes from: its upstream columns, down to the sources.

    Traced with sqlglot through the compiled SQL of every model (compiled
    first when the manifest is stale). A column sqlglot cannot trace is marked
    `unresolved` with the reason; no edge is guessed.

    \b
    Examples:
      pitstop features lineage merchant_daily_stats:amount_sum_1d
      pitstop features lineage customer_profile --json
    """
    from pitstop.registry.lineage import UNRESOLVED, LineageGraph

    graph = LineageGraph.load(open_store(ctx).project)
    trees = graph.feature(ref)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ref": ref,
                    "catalog": graph.has_catalog,
                    "features": [
                        {**tree.to_dict(), "sources": [r.to_dict() for r in tree.roots()]}
                        for tree in trees
                    ],
                },
                indent=2,
            )
        )
    else:
        for index, tree in enumerate(trees):
            if index:
                click.echo("")
            click.echo("\n".join(tree.lines()))
    if not graph.has_catalog:
        click.echo(
            "note: target/catalog.json is missing: column types are unknown and source columns "
            f"are known only by their use (run `pitstop docs`); {UNRESOLVED} marks what is not "
            "traced",
            err=True,
        )


@features.command("impact")
@click.argument("target", metavar="SOURCE_OR_MODEL[.COLUMN]")
@json_option
@click.pass_context
def features_impact(ctx: click.Context, target: str, as_json: bool) -> None:
    """What breaks if a column (or a whole model or source) changes.

    Lists the columns computed from it, the feature columns among them, the
    feature services that use those features and the registered models (dbt
    exposures) downstream. Downstream models whose lineage is unresolved are
    listed too: they may use it.

    \b
    Examples:
      pitstop features impact stg_payments__transactions.amount
      pitstop features impact payments.transactions.transacted_at --json
      pitstop features impact int_merchant_risk_events
    """
    from pitstop.registry.lineage import LineageGraph

    graph = LineageGraph.load(open_store(ctx).project)
    report = graph.impact(target)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    head = report["target"]
    what = f"{head['name']}.{head['column']}" if head["column"] else head["name"]
    click.echo(f"impact of {head['resource_type']} {what}:")
    click.echo(f"  feature columns ({len(report['features'])}):")
    for ref in report["features"]:
        click.echo(f"    {ref}")
    click.echo(f"  feature services ({len(report['services'])}):")
    for service in report["services"]:
        used = ", ".join(service["features"]) or "its own columns"
        click.echo(f"    {service['name']}: {used}")
    click.echo(f"  registered models ({len(report['registered_models'])}):")
    for model in report["registered_models"]:
        click.echo(f"    {model}")
    others = [c for c in report["columns"] if not c["feature"]]
    click.echo(f"  other columns ({len(others)}):")
    for column in others:
        click.echo(f"    {column['name']}.{column['column']}")
    if report["unresolved_downstream"]:
        click.echo(
            "  downstream models with unresolved lineage (may be affected): "
            + ", ".join(report["unresolved_downstream"])
        )
