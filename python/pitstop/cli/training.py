"""``pitstop training-set``: a point-in-time correct training set from a Parquet spine."""

from __future__ import annotations

from pathlib import Path

import click

from pitstop.errors import InvalidRequestError

__all__ = ["training_set_cmd"]


@click.command("training-set")
@click.option(
    "--spine",
    "spine_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Parquet file with the entity keys and a timestamp column.",
)
@click.option("--service", help="A training model whose YAML lists the features.")
@click.option(
    "--features",
    "feature_refs",
    multiple=True,
    help="A feature reference, 'view' or 'view:feature' (repeatable; or comma-separated).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Parquet file to write (folders are created).",
)
@click.option("--timestamp", "spine_timestamp", help="The spine's timestamp column.")
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
    its timestamp (see the README for the exact rules).

    \b
    Examples:
      pitstop training-set --spine spine.parquet --service fraud_training_set --out train.parquet
      pitstop training-set --spine spine.parquet --features customer_profile \\
          --features merchant_daily_stats:amount_sum_1d --out train.parquet
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pitstop.cli import open_store

    refs = [ref.strip() for item in feature_refs for ref in item.split(",") if ref.strip()]
    if bool(refs) == bool(service):
        raise InvalidRequestError("pass exactly one of --service or --features")
    try:
        spine = pq.read_table(spine_path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidRequestError(
            f"--spine {spine_path} is not a readable Parquet file: {exc}"
        ) from exc
    store = open_store(ctx)
    table = store.training_set(
        spine,
        features=refs or None,
        service=service,
        spine_timestamp=spine_timestamp,
        exclude_late_rows=not allow_late_rows,
        naming="short" if short_names else "prefixed",
        output="arrow",
    )
    assert isinstance(table, pa.Table)
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out)
    click.echo(f"wrote {table.num_rows} rows x {table.num_columns} columns to {out}")
