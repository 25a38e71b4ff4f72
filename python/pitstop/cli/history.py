"""``pitstop history``: which value of a feature was valid (served) when."""

from __future__ import annotations

import click

from pitstop.cli.keys import parse_key_args, split_key_args
from pitstop.errors import InvalidEntityKeyError

__all__ = ["history_cmd"]


@click.command("history")
@click.argument("view")
@click.argument("keys", nargs=-1, metavar="KEY=VALUE...")
@click.option("--start", help="Start of the range, ISO-8601 UTC, inclusive (default: open).")
@click.option("--end", help="End of the range, ISO-8601 UTC, exclusive (default: open).")
@click.option("--feature", "-f", "features", multiple=True, help="Only these features.")
@click.option("--json", "as_json", is_flag=True, help="JSON records instead of a table.")
@click.pass_context
def history_cmd(
    ctx: click.Context,
    view: str,
    keys: tuple[str, ...],
    start: str | None,
    end: str | None,
    features: tuple[str, ...],
    as_json: bool,
) -> None:
    """Validity intervals of a view's feature values for one entity.

    Runs the `feature_history` macro: one row per run of identical values,
    with valid_from (inclusive) and valid_to (exclusive).

    \b
    Example:
      pitstop history customer_profile customer_id=42 --start 2025-03-01 --end 2025-07-01
    """
    from pitstop.cli import open_store

    store = open_store(ctx)
    fv = store.registry.view(view)
    raw = split_key_args(keys)
    for name in raw:
        if name not in fv.key_columns:
            raise InvalidEntityKeyError(
                f"view '{view}' is keyed by {', '.join(fv.key_columns)}; got key '{name}'"
            )
    row = parse_key_args(raw, {k.name: k.type for k in fv.entity.keys})
    frame = store.feature_history(
        view, keys=[row] if row else None, start=start, end=end, features=list(features) or None
    )
    if as_json:
        click.echo(frame.to_json(orient="records", date_format="iso", indent=2))
    else:
        click.echo(frame.to_string(index=False))
