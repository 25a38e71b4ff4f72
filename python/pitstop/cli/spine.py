"""``pitstop spine``: write a spine (entity keys + a timestamp) to a Parquet file.

A training set needs a spine, and a new user has none: this command makes one
from a training model (its rows' entity keys and one of its timestamp columns,
plus the label it declares) or from any SQL query on the project's DuckDB file,
so that ``pitstop training-set --spine spine.parquet ...`` works right away.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pitstop.errors import InvalidRequestError, ProjectError, UnknownServiceError

if TYPE_CHECKING:
    import pyarrow as pa

    from pitstop.project import Project
    from pitstop.registry import Registry

__all__ = ["spine_cmd"]

# the constant timestamp column written with --at
AT_COLUMN = "spine_at"
_QUOTED = re.compile(r'"((?:[^"]|"")*)"')


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _relation(project: Project, service: str) -> str:
    """``"schema"."table"`` of the training model ``service`` (the DuckDB file is
    opened under its own catalog name, which need not be the one dbt recorded)."""
    from pitstop.registry.manifest import read_manifest

    manifest = read_manifest(project)
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") == "model" and node.get("name") == service:
            relation = str(node.get("relation_name") or "")
            parts = [part.replace('""', '"') for part in _QUOTED.findall(relation)]
            if len(parts) >= 2:
                return ".".join(_q(part) for part in parts[-2:])
            if relation:
                return relation
    raise ProjectError(f"training model '{service}' has no relation in the dbt manifest")


def _service_sql(
    project: Project,
    registry: Registry,
    con: Any,
    service: str,
    timestamp: str | None,
    at: str | None,
) -> str:
    """The query selecting a spine from training model ``service``."""
    import pyarrow as pa

    spec = registry.service(service)
    keys: list[str] = []
    for view, _ in registry.resolve(list(spec.features)):
        keys.extend(key for key in view.key_columns if key not in keys)
    relation = _relation(project, service)
    schema = con.sql(f"select * from {relation} limit 0").to_arrow_table().schema  # noqa: S608
    columns = schema.names
    missing = [key for key in keys if key not in columns]
    if missing:
        raise InvalidRequestError(
            f"training model '{service}' has no column {', '.join(missing)} (the entity keys "
            "of its features); write the spine with --sql instead"
        )
    key_list = ", ".join(_q(key) for key in keys)
    if at is not None:
        from pitstop.times import parse_timestamp

        try:
            moment = parse_timestamp(at, "--at")
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--at") from None
        stamp = moment.isoformat(sep=" ")
        return (
            f"select distinct {key_list}, timestamp '{stamp}' as {_q(AT_COLUMN)} "  # noqa: S608
            f"from {relation} order by {key_list}"
        )
    stamps = [
        field.name
        for field in schema
        if pa.types.is_timestamp(field.type) or pa.types.is_date(field.type)
    ]
    if timestamp is None:
        if len(stamps) != 1:
            raise InvalidRequestError(
                f"pass --timestamp COLUMN (one of {', '.join(stamps) or 'none'}: the time the "
                f"features are read at) or --at TIMESTAMP: training model '{service}' has "
                + ("several timestamp columns" if stamps else "no timestamp column")
            )
        timestamp = stamps[0]
    elif timestamp not in stamps:
        raise InvalidRequestError(
            f"--timestamp {timestamp!r} is not a timestamp column of training model "
            f"'{service}' (its timestamp columns: {', '.join(stamps) or 'none'})"
        )
    selected = [*keys, timestamp]
    if spec.label and spec.label in columns and spec.label not in selected:
        selected.append(spec.label)
    return (
        f"select {', '.join(_q(c) for c in selected)} from {relation} "  # noqa: S608
        f"order by {_q(timestamp)}, {key_list}"
    )


@click.command("spine")
@click.option("--service", help="A training model: the spine is its entity keys, time and label.")
@click.option(
    "--sql",
    "query",
    metavar="QUERY",
    help="Instead of --service, any query on the project's DuckDB file (trusted input: "
    "it runs as is).",
)
@click.option(
    "--timestamp",
    help="With --service: the model's column the features are read at "
    "(default: its only timestamp column).",
)
@click.option(
    "--at",
    help=f"With --service: one time for every distinct entity (ISO-8601 UTC), "
    f"in a column {AT_COLUMN}.",
)
@click.option("--limit", type=click.IntRange(min=0), help="At most this many rows.")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Parquet file to write (folders are created).",
)
@click.pass_context
def spine_cmd(
    ctx: click.Context,
    service: str | None,
    query: str | None,
    timestamp: str | None,
    at: str | None,
    limit: int | None,
    out: Path,
) -> None:
    """Write a spine (entity keys and a timestamp) for `pitstop training-set`.

    With --service, the rows of that training model (dbt model): the entity
    keys its features need, the timestamp column named by --timestamp (or one
    time for every distinct entity with --at) and the label it declares,
    ordered by time. With --sql, the result of any query on the project's
    DuckDB file; the query runs as is, so pass only SQL you trust.

    \b
    Examples:
      pitstop spine --service fraud_training_set --timestamp feature_at --limit 1000 \\
          --out spine.parquet
      pitstop spine --service fraud_training_set --at 2025-06-01 --out spine_june.parquet
      pitstop spine --sql "select customer_id, timestamp '2025-06-01' as at from
          range(1, 100) t(customer_id)" --out spine.parquet
    """
    from pitstop.cli import open_store
    from pitstop.cli._options import write_parquet
    from pitstop.offline.compile import session

    if (service is None) == (query is None):
        raise InvalidRequestError("pass exactly one of --service or --sql")
    if query is not None and (timestamp is not None or at is not None):
        raise InvalidRequestError("--timestamp and --at go with --service, not --sql")
    if timestamp is not None and at is not None:
        raise InvalidRequestError("pass --timestamp or --at, not both")
    store = open_store(ctx)
    if service is not None and service not in store.registry.services:
        known = ", ".join(sorted(store.registry.services)) or "none"
        raise UnknownServiceError(f"unknown training model '{service}' (known: {known})")
    with session(store.project) as con:
        if service is not None:
            sql = _service_sql(store.project, store.registry, con, service, timestamp, at)
        else:
            assert query is not None
            sql = query.strip().rstrip(";")
        if limit is not None:
            sql = f"select * from ({sql}) limit {int(limit)}"  # noqa: S608 - an int
        relation = con.sql(sql)
        if relation is None:
            raise InvalidRequestError("--sql must be a query that returns rows (a SELECT)")
        table: pa.Table = relation.to_arrow_table()
    write_parquet(table, out)
    if table.num_rows == 0:
        click.echo(f"Warning: the spine written to {out} has no rows", err=True)
    click.echo(f"wrote {table.num_rows} rows ({', '.join(table.column_names)}) to {out}")
