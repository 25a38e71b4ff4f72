"""``pitstop features``: discover feature views and their features (the registry)."""

from __future__ import annotations

import json

import click

from pitstop.cli import open_store
from pitstop.times import format_duration

__all__ = ["features"]


@click.group()
def features() -> None:
    """Discover feature views and their features (the registry)."""


@features.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
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
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def features_describe(ctx: click.Context, view: str, as_json: bool) -> None:
    """Describe one feature view: contract, relation and every feature.

    \b
    Example:
      pitstop features describe merchant_daily_stats
    """
    from pitstop.registry import view_dict

    data = view_dict(open_store(ctx).registry.view(view))
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for key, value in data.items():
        if key != "features":
            click.echo(f"{key:>18}: {value}")
    click.echo(f"{'features':>18}:")
    for feature in data["features"]:
        click.echo(f"{'':>20}{feature['name']} ({feature['type']}): {feature['description']}")
