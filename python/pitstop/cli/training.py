"""``pitstop training-set``: a point-in-time correct training set from a Parquet spine."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pitstop.errors import InvalidRequestError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["training_set_cmd", "write_parquet"]


def write_parquet(table: pa.Table, out: Path, option: str = "--out") -> None:
    """Write ``table`` to ``out`` (folders created); any failure is one clear error.

    A disk that is full (``/dev/full``), a folder that cannot be created or a
    file that cannot be written is an `InvalidRequestError` naming ``option``
    and the path, never a traceback. A regular file this call created and
    could not finish is removed, so no truncated Parquet file is left behind.

    Raises:
        InvalidRequestError: the file could not be written.
    """
    import pyarrow.parquet as pq

    existed = os.path.lexists(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, out)
    except OSError as exc:
        if not existed and out.is_file():
            out.unlink(missing_ok=True)
        reason = exc.strerror or str(exc)
        raise InvalidRequestError(f"cannot write {option} {out}: {reason}") from None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and a.samefile(b))
    except OSError:
        return False


@click.command("training-set")
@click.option(
    "--spine",
    "spine_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Parquet file with the entity keys and a timestamp column (`pitstop spine` writes one).",
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
    help="Parquet file to write (folders are created; never the --spine file).",
)
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
    import pyarrow.parquet as pq

    from pitstop.cli import open_store
    from pitstop.offline.training import EmptySpineWarning, spine_timestamp_column

    refs = [ref.strip() for item in feature_refs for ref in item.split(",") if ref.strip()]
    if bool(refs) == bool(service):
        raise InvalidRequestError("pass exactly one of --service or --features")
    if _same_file(spine_path, out):
        raise InvalidRequestError(
            f"--out {out} is the --spine file; write the training set to another file"
        )
    try:
        spine = pq.read_table(spine_path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidRequestError(
            f"--spine {spine_path} is not a readable Parquet file: {exc}"
        ) from exc
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
