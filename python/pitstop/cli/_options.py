"""Options and helpers the CLI's command groups share, so that ``--json``,
``--as-of``, ``--spine`` and ``--out`` behave and read the same everywhere.

Only click and the standard library at the top: ``pitstop get`` imports this
module on its cold path; pyarrow is imported inside the Parquet helpers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from pitstop.errors import InvalidRequestError
from pitstop.times import parse_timestamp

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "json_default",
    "json_option",
    "out_option",
    "parse_as_of",
    "read_spine",
    "spine_option",
    "to_json",
    "write_parquet",
]

F = TypeVar("F", bound=Callable[..., Any])

json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


def spine_option(help: str) -> Callable[[F], F]:
    """``--spine FILE``: an existing Parquet file, passed as ``spine_path``."""
    return click.option(
        "--spine",
        "spine_path",
        required=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help=help,
    )


def out_option(help: str, required: bool = True) -> Callable[[F], F]:
    """``--out FILE``: a file to write (its folders are created)."""
    return click.option(
        "--out", required=required, type=click.Path(dir_okay=False, path_type=Path), help=help
    )


def parse_as_of(value: str | None) -> datetime | None:
    """``--as-of`` as naive UTC; a malformed value is a usage error naming the option."""
    if value is None:
        return None
    try:
        return parse_timestamp(value, "--as-of")
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--as-of") from None


def json_default(value: Any) -> Any:
    """Timestamps as ISO-8601 and decimals as strings (exact), for `json.dumps`."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def to_json(value: Any) -> str:
    """The ``--json`` output: indented, with `json_default`."""
    return json.dumps(value, indent=2, default=json_default)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and a.samefile(b))
    except OSError:
        return False


def read_spine(spine_path: Path, out: Path) -> pa.Table:
    """Read the ``--spine`` Parquet file, refusing an ``--out`` that is the
    same file (writing would destroy the input before it is read).

    Raises:
        InvalidRequestError: ``--out`` is the spine, or the spine is not Parquet.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if _same_file(spine_path, out):
        raise InvalidRequestError(f"--out {out} is the --spine file; write to another file")
    try:
        return pq.read_table(spine_path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidRequestError(
            f"--spine {spine_path} is not a readable Parquet file: {exc}"
        ) from None


def write_parquet(table: pa.Table, out: Path, option: str = "--out") -> None:
    """Write ``table`` to ``out``; an unwritable path is a clear error naming
    the option and the path, never a traceback. A regular file this call
    created and could not finish is removed, so no truncated Parquet file is
    left behind.

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
