"""``pitstop training-set``: a point-in-time correct training set from a Parquet spine."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pitstop.cli._options import out_option, read_spine, spine_option, write_parquet
from pitstop.errors import InvalidRequestError

if TYPE_CHECKING:
    pass

__all__ = ["training_set_cmd"]


@click.command("training-set")
@spine_option(
    "Parquet file with the entity keys and a timestamp column (`pitstop spine` writes one)."
)
@click.option("--service", help="A training model whose YAML lists the features.")
@click.option(
    "--features",
    "feature_refs",
    multiple=True,
    help="A feature reference, 'view' or 'view:feature' (repeatable; or comma-separated).",
)
@out_option("Parquet file to write (folders are created; never the --spine file).")
@click.option(
    "--timestamp",
    "spine_timestamp",
    help="The spine's timestamp column (default: its only timestamp or date column).",
)
@click.option(
    "--allow-late-rows",
    is_flag=True,
    help="Also use rows created after the spine time (default: they are excluded).",
)
@click.option(
    "--short-names", is_flag=True, help="Name columns <feature> instead of <view>__<feature>."
)
@click.pass_context
def training_set_cmd(
    ctx: click.Context,
    spine_path: Path,
    service: str | None,
    feature_refs: tuple[str, ...],
    out: Path,
    spine_timestamp: str | None,
    allow_late_rows: bool,
    short_names: bool,
) -> None:
    """Write a point-in-time correct training set to a Parquet file.

    Each spine row gets, per feature view, the latest feature values known at
    its timestamp (see the README for the exact rules). An empty spine gives
    an empty training set and a warning on stderr.

    \b
    Examples:
      pitstop spine --service fraud_training_set --timestamp feature_at --out spine.parquet
      pitstop training-set --spine spine.parquet --service fraud_training_set --out train.parquet
      pitstop training-set --spine spine.parquet --features customer_profile \\
          --features merchant_daily_stats:amount_sum_1d --out train.parquet
    """
    import pyarrow as pa

    from pitstop.cli import open_store
    from pitstop.offline.training import EmptySpineWarning, spine_timestamp_column

    refs = [ref.strip() for item in feature_refs for ref in item.split(",") if ref.strip()]
    if bool(refs) == bool(service):
        raise InvalidRequestError("pass exactly one of --service or --features")
    spine = read_spine(spine_path, out)
    # resolved here so that a missing or ambiguous column is named as the option
    timestamp = spine_timestamp_column(spine, spine_timestamp, argument="--timestamp")
    store = open_store(ctx)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", EmptySpineWarning)
        table = store.training_set(
            spine,
            features=refs or None,
            service=service,
            spine_timestamp=timestamp,
            exclude_late_rows=not allow_late_rows,
            naming="short" if short_names else "prefixed",
            output="arrow",
        )
    for warning in caught:
        if issubclass(warning.category, EmptySpineWarning):
            click.echo(f"Warning: --spine {spine_path}: {warning.message}", err=True)
        else:
            warnings.showwarning(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    assert isinstance(table, pa.Table)
    write_parquet(table, out)
    click.echo(f"wrote {table.num_rows} rows x {table.num_columns} columns to {out}")
