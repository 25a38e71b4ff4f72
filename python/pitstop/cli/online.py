"""``pitstop materialize`` and ``pitstop get``.

``pitstop get`` is the cold-start path of an online lookup: this module imports
only click and the standard library at the top, and the lookup itself never
loads dbt, MLflow or pandas.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from pitstop.cli._options import json_default, json_option, parse_as_of
from pitstop.cli.keys import parse_key_args, split_key_args

__all__ = ["get_cmd", "materialize_cmd"]


def _open_store(ctx: click.Context) -> Any:
    from pitstop.cli import open_store

    return open_store(ctx)


@click.command("materialize")
@click.option(
    "--select",
    "-s",
    "select",
    multiple=True,
    metavar="VIEW",
    help="Only these feature views (repeatable; default: every online view).",
)
@click.option("--full-refresh", is_flag=True, help="Rebuild instead of reading only new rows.")
@click.option("--as-of", help="Materialization time, ISO-8601 UTC (default: now).")
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="How long to wait for another materialize writing the same store "
    "(default: PITSTOP_LOCK_TIMEOUT, else 600; 0 fails at once).",
)
@json_option
@click.pass_context
def materialize_cmd(
    ctx: click.Context,
    select: tuple[str, ...],
    full_refresh: bool,
    as_of: str | None,
    lock_timeout: float | None,
    as_json: bool,
) -> None:
    """Write the latest feature values of online views to the online store.

    Incremental by default (only rows newer than each view's watermark are
    read); atomic (lookups see the previous values until the run commits).
    Views no longer online (removed, or online: false) are dropped from the
    store in the same step, and the output says so. A run that has to wait
    for another one says so on stderr.

    \b
    Examples:
      pitstop materialize
      pitstop materialize --select customer_profile --full-refresh --json
      pitstop materialize --lock-timeout 30
    """
    from pitstop.online.materialize import materialize

    store = _open_store(ctx)
    bar = None
    progress = None
    if not as_json and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(unit=" rows", unit_scale=True, file=sys.stderr, leave=False)
        seen: dict[str, int] = {}

        def progress(view: str, rows_read: int, entities_written: int) -> None:
            assert bar is not None
            bar.set_description_str(view)
            bar.update(rows_read - seen.get(view, 0))
            seen[view] = rows_read

    def on_wait(message: str) -> None:
        click.echo(f"pitstop: {message}", err=True)

    try:
        result = materialize(
            store.project,
            store.registry,
            select=list(select) or None,
            full_refresh=full_refresh,
            progress=progress,
            as_of=parse_as_of(as_of),
            lock_timeout=lock_timeout,
            on_wait=on_wait,
        )
    finally:
        if bar is not None:
            bar.close()
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(result.summary())


@click.command("get")
@click.argument("keys", nargs=-1, required=True, metavar="KEY=VALUE...")
@click.option("--service", help="A feature service (training model) whose features to get.")
@click.option(
    "--features",
    "-f",
    "features",
    multiple=True,
    metavar="VIEW[:FEATURE]",
    help="Feature references (repeatable, or comma-separated).",
)
@click.option("--as-of", help="Clock for TTL checks, ISO-8601 UTC (default: now).")
@click.pass_context
def get_cmd(
    ctx: click.Context,
    keys: tuple[str, ...],
    service: str | None,
    features: tuple[str, ...],
    as_of: str | None,
) -> None:
    """Look up online feature values of one entity; prints JSON.

    Each feature comes with its value, status (PRESENT, NOT_FOUND, NULL,
    EXPIRED) and feature timestamp.

    \b
    Examples:
      pitstop get customer_id=42 --features customer_profile
      pitstop get customer_id=42 merchant_id=7 --service fraud_training_set
      pitstop get merchant_id=7 -f merchant_daily_stats:amount_sum_1d --as-of 2025-07-01
    """
    from pitstop.online.lookup import entity_key_types

    refs = [ref for item in features for ref in item.split(",") if ref] or None
    raw = split_key_args(keys)
    store = _open_store(ctx)
    row = parse_key_args(raw, entity_key_types(store.online, features=refs, service=service))
    result = store.get_online_features(
        features=refs, service=service, entity_rows=[row], as_of=parse_as_of(as_of)
    )
    click.echo(json.dumps(result.to_records()[0], indent=2, default=json_default))
