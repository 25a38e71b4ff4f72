"""Point-in-time correct training sets from Python.

There is exactly one point-in-time engine: the dbt macro
``pitstop.point_in_time_join`` (``macros/pit/``). This module only moves data
around it: the spine (a pandas DataFrame, an Arrow table or a SQL query) is
registered in DuckDB under a fixed name, dbt compiles the macro against that
name (``dbt compile --inline``), and the compiled query runs on a read-only
connection to the project's DuckDB file. Compiled queries are cached per
argument set, so repeated calls with the same shape pay for dbt only once.

A spine given as a SQL string is **trusted input**: it runs as is on the
project's DuckDB file (read-only, but DuckDB can still read and write other
files, e.g. ``COPY ... TO`` or ``read_csv('/etc/...')``). Never pass SQL built
from untrusted text; pass a DataFrame or an Arrow table instead.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa

from pitstop.errors import InvalidEntityKeyError, InvalidRequestError
from pitstop.offline.compile import compile_macro, macro_call, session
from pitstop.online.codec import INTEGER_TYPES
from pitstop.registry import is_identifier, parse_ttl

if TYPE_CHECKING:
    import pandas as pd

    from pitstop.project import Project
    from pitstop.registry import Registry

__all__ = [
    "SPINE_NAME",
    "EmptySpineWarning",
    "compile_point_in_time_sql",
    "point_in_time_call",
    "spine_timestamp_column",
    "training_set",
]

#: The name the spine is registered under in DuckDB; compiled queries read it.
SPINE_NAME = "pitstop_spine"

_TIMESTAMP_TYPES = (pa.types.is_timestamp, pa.types.is_date)


class EmptySpineWarning(UserWarning):
    """The spine has no rows, so the training set has none either (usually a
    filter or a file that is not the one meant)."""


def training_set(
    project: Project,
    registry: Registry,
    spine: Any,
    features: Sequence[str] | None = None,
    service: str | None = None,
    *,
    spine_timestamp: str | None = None,
    key_map: Mapping[str, Mapping[str, str]] | None = None,
    ttl: Mapping[str, str | None] | None = None,
    exclude_late_rows: bool = True,
    naming: Literal["prefixed", "short"] = "prefixed",
    impl: Literal["default"] | None = None,
    output: Literal["pandas", "arrow"] = "pandas",
) -> pd.DataFrame | pa.Table:
    """Join feature values onto ``spine`` as they were known at each spine row's time.

    The semantics are the macro's (README, "Point-in-time training sets"): for
    each spine row and view, the latest view row with timestamp <= t, NULL when
    older than the TTL; every spine row exactly once, in spine order.

    Args:
        project: the dbt project whose DuckDB file holds the feature views.
        registry: its feature registry.
        spine: a pandas DataFrame, an Arrow table, or a SQL query (run on the
            project's DuckDB file) with the entity keys and a timestamp column.
            A SQL string is trusted input: it runs as is (see the module
            docstring); never build it from untrusted text.
        features: feature references, ``"view"`` or ``"view:feature"``.
        service: instead of ``features``, the name of a training model whose
            YAML lists them (``config.meta.pitstop.training_set.features``).
        spine_timestamp: the spine's timestamp column; default: its only
            timestamp (or date) column.
        key_map: per view, ``{view_key: spine_column}`` when names differ.
        ttl: per view, a TTL override such as ``"30d"``, or None for no TTL.
        exclude_late_rows: also require created timestamp <= t (default True).
        naming: ``"prefixed"`` (``<view>__<feature>``) or ``"short"``.
        impl: ``"default"`` forces the portable SQL form instead of DuckDB's ASOF.
        output: ``"pandas"`` or ``"arrow"``.

    Returns:
        The spine's columns followed by one column per feature.

    Raises:
        InvalidRequestError: bad arguments (both or neither of features/service,
            no or several spine timestamps, unknown output).
        InvalidEntityKeyError: the spine lacks a key column a view needs, or an
            integer key column holds a fractional number (42.5).
        UnknownServiceError, UnknownFeatureViewError, UnknownFeatureError:
            names the registry does not know.
        DbtError: dbt could not compile the join.

    Warns:
        EmptySpineWarning: the spine has no rows (the empty result is returned).
    """

    if output not in ("pandas", "arrow"):
        raise InvalidRequestError(f"output must be 'pandas' or 'arrow', got {output!r}")
    refs = _feature_refs(registry, features, service)
    from pitstop.offline.spark import is_spark

    if is_spark(project):
        result = _training_set_spark(
            project,
            registry,
            spine,
            refs,
            spine_timestamp=spine_timestamp,
            key_map=key_map,
            ttl=ttl,
            exclude_late_rows=exclude_late_rows,
            naming=naming,
            impl=impl,
        )
        return result.to_pandas() if output == "pandas" else result
    table = _spine_table(project, spine)
    timestamp = spine_timestamp_column(table, spine_timestamp)
    _check_keys(registry, refs, table, key_map)
    if table.num_rows == 0:
        warnings.warn(
            "the spine has no rows, so the training set is empty",
            EmptySpineWarning,
            stacklevel=3,
        )
    # compile before connecting: dbt must not find the file open in this process
    sql = compile_point_in_time_sql(
        project,
        refs,
        spine_timestamp=timestamp,
        spine_columns=table.column_names,
        key_map=key_map,
        ttl=ttl,
        exclude_late_rows=exclude_late_rows,
        naming=naming,
        impl=impl,
    )
    with session(project) as con:
        con.register(SPINE_NAME, table)
        result = con.sql(sql).to_arrow_table()
    return result.to_pandas() if output == "pandas" else result


def _training_set_spark(
    project: Project,
    registry: Registry,
    spine: Any,
    refs: Sequence[str],
    *,
    spine_timestamp: str | None,
    **options: Any,
) -> pa.Table:
    """`training_set` on a spark target: the spine becomes the temporary view
    `SPINE_NAME` in the project's Spark session (a DataFrame or Arrow table as
    is; a string as a Parquet path, a table name or a SQL query), the same
    compiled macro runs there, and the result is collected as Arrow with
    timestamps as naive UTC. Checks are those of the DuckDB path, on the
    spine's schema (integer-key checks only for an in-memory spine)."""
    from pitstop.offline import spark

    session = spark.spark_session(project)
    with spark.spark_errors("reading the spine"):
        if isinstance(spine, str):
            frame = spark.spine_from_source(session, spine)
            schema_table = spark.to_naive_utc(frame.limit(0).toArrow())
        else:
            schema_table = _spine_table(project, spine)
            frame = None
    timestamp = spine_timestamp_column(schema_table, spine_timestamp)
    _check_keys(registry, refs, schema_table, options.get("key_map"))
    sql = compile_point_in_time_sql(
        project,
        refs,
        spine_timestamp=timestamp,
        spine_columns=schema_table.column_names,
        **options,
    )
    with spark.spark_errors("the training set"):
        if frame is None:
            if schema_table.num_rows == 0:
                warnings.warn(
                    "the spine has no rows, so the training set is empty",
                    EmptySpineWarning,
                    stacklevel=4,
                )
            spark.register_arrow(session, SPINE_NAME, schema_table)
        else:
            frame.createOrReplaceTempView(SPINE_NAME)
        return spark.collect_arrow(session.sql(sql), project)


def compile_point_in_time_sql(project: Project, features: Sequence[str], **options: Any) -> str:
    """Compile ``pitstop.point_in_time_join`` for a spine table (`SPINE_NAME`
    unless ``spine=`` says otherwise); ``options`` are `point_in_time_args`'s.

    The SQL depends only on the arguments (not on spine data), so it is cached
    per argument set and manifest version; property tests and repeated calls
    reuse it.

    Raises:
        DbtError: the macro raised a compile-time error (its message names the
            argument) or dbt failed.
    """
    return compile_macro(project, "point_in_time_join", point_in_time_args(features, **options))


def point_in_time_call(features: Sequence[str], **options: Any) -> str:
    """The Jinja expression ``{{ pitstop.point_in_time_join(...) }}`` for these
    arguments (see `point_in_time_args`)."""
    return macro_call("point_in_time_join", point_in_time_args(features, **options))


def point_in_time_args(
    features: Sequence[str],
    *,
    spine_timestamp: str,
    spine: str = SPINE_NAME,
    spine_columns: Sequence[str] | None = None,
    key_map: Mapping[str, Mapping[str, str]] | None = None,
    ttl: Mapping[str, str | None] | None = None,
    exclude_late_rows: bool = True,
    naming: str = "prefixed",
    impl: str | None = None,
) -> dict[str, Any]:
    """The macro's arguments as plain values, names checked first; every value
    is later written as a Jinja literal (`pitstop.offline.jinja_literal`)."""
    for column in (spine, spine_timestamp, *_mapped_columns(key_map)):
        if not is_identifier(column):
            raise InvalidRequestError(
                f"spine column or table name {column!r} must be a plain identifier "
                "(letters, digits, underscores)"
            )
    args: dict[str, Any] = {
        "spine": spine,
        "spine_timestamp": spine_timestamp,
        "features": list(features),
        "key_map": dict(key_map) if key_map else None,
        "ttl": _checked_ttl(ttl),
        "exclude_late_rows": bool(exclude_late_rows),
        "naming": naming,
        "spine_columns": list(spine_columns) if spine_columns is not None else None,
        "impl": impl,
    }
    return args


def _checked_ttl(ttl: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Per-call TTL overrides, checked by the registry's parser so that the
    Python call accepts exactly what a feature view's `ttl` field accepts."""
    if not ttl:
        return None
    if not isinstance(ttl, Mapping):
        raise InvalidRequestError(f"ttl must map view names to durations, got {ttl!r}")
    for view, value in ttl.items():
        try:
            parse_ttl(value)
        except ValueError as exc:
            raise InvalidRequestError(f"ttl for view '{view}': {exc}") from None
    return dict(ttl)


def _feature_refs(
    registry: Registry, features: Sequence[str] | None, service: str | None
) -> list[str]:
    """The feature references asked for, validated against the registry."""
    if (features is None) == (service is None):
        raise InvalidRequestError("pass exactly one of features=[...] or service='<name>'")
    if service is not None:
        refs = list(registry.service(service).features)
    else:
        if isinstance(features, str):
            features = [features]
        refs = list(features or [])
        if not refs:
            raise InvalidRequestError("features must name at least one 'view' or 'view:feature'")
    registry.resolve(refs)
    return refs


def _spine_table(project: Project, spine: Any) -> pa.Table:
    """The spine as an Arrow table (SQL spines run on the project's database)."""
    if isinstance(spine, pa.Table):
        return spine
    if isinstance(spine, str):
        with session(project) as con:
            return con.sql(spine).to_arrow_table()
    import pandas as pd

    if isinstance(spine, pd.DataFrame):
        return pa.Table.from_pandas(spine, preserve_index=False)
    raise InvalidRequestError(
        f"spine must be a pandas DataFrame, an Arrow table or a SQL string, "
        f"not {type(spine).__name__}"
    )


def spine_timestamp_column(
    table: pa.Table, given: str | None, argument: str = "spine_timestamp"
) -> str:
    """The spine's timestamp column: ``given``, or the only timestamp (or date) column.

    Args:
        table: the spine.
        given: the column the caller named, if any.
        argument: how the caller names the choice in messages
            (``spine_timestamp`` in Python, ``--timestamp`` on the command line).

    Raises:
        InvalidRequestError: ``given`` is not a column, or none was given and the
            spine has no or several timestamp columns.
    """
    hint = f"{argument} COLUMN" if argument.startswith("-") else f"{argument}='<column>'"
    if given is not None:
        if given not in table.column_names:
            raise InvalidRequestError(
                f"{argument} {given!r} is not a spine column "
                f"(columns: {', '.join(table.column_names)})"
            )
        return given
    candidates = [
        field.name for field in table.schema if any(check(field.type) for check in _TIMESTAMP_TYPES)
    ]
    if len(candidates) != 1:
        raise InvalidRequestError(
            f"pass {hint}: the spine has "
            + (
                f"several timestamp columns ({', '.join(candidates)})"
                if candidates
                else "no timestamp or date column"
            )
        )
    return str(candidates[0])


def _check_keys(
    registry: Registry,
    refs: Sequence[str],
    table: pa.Table,
    key_map: Mapping[str, Mapping[str, str]] | None,
) -> None:
    """Fail early, naming the view and the key, when the spine lacks a key column
    or holds a fractional number where the entity's key is an integer (42.5
    would match nothing and silently give NULL features)."""
    columns = table.column_names
    checked: set[str] = set()
    for view, _ in registry.resolve(refs):
        mapping = (key_map or {}).get(view.name, {})
        for key in view.entity.keys:
            column = mapping.get(key.name, key.name)
            if column not in columns:
                raise InvalidEntityKeyError(
                    f"the spine has no column {column!r} for key {key.name!r} of feature view "
                    f"'{view.name}' (spine columns: {', '.join(columns)}); add it or map "
                    f"it with key_map={{'{view.name}': {{'{key.name}': '<spine column>'}}}}"
                )
            if key.type in INTEGER_TYPES and column not in checked:
                checked.add(column)
                _check_integral(table.column(column), column, key.name, key.type, view.name)


def _check_integral(values: pa.ChunkedArray, column: str, key: str, kind: str, view: str) -> None:
    """Reject fractional or infinite values of a floating-point or decimal
    column used as an integer key; NULL and NaN stay (no match, NULL features,
    as pandas turns missing integers into NaN)."""
    import pyarrow.compute as pc

    if not (pa.types.is_floating(values.type) or pa.types.is_decimal(values.type)):
        return
    present = values.drop_null()
    if pa.types.is_floating(present.type):
        present = present.filter(pc.invert(pc.is_nan(present)))
        finite = pc.is_finite(present)
    else:
        finite = pc.is_valid(present)
    bad = pc.or_(pc.invert(finite), pc.not_equal(present, pc.floor(present)))
    if not pc.any(bad).as_py():
        return
    example = present.filter(bad)[0].as_py()
    raise InvalidEntityKeyError(
        f"spine column {column!r} holds {example!r}, but key {key!r} of feature view "
        f"'{view}' is an integer ({kind}); a fractional key matches no entity. Use whole "
        "numbers (or NULL) in that column"
    )


def _mapped_columns(key_map: Mapping[str, Mapping[str, str]] | None) -> list[str]:
    return [column for mapping in (key_map or {}).values() for column in mapping.values()]
