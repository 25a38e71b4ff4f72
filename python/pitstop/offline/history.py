"""Validity intervals of feature values: which value was served when.

`feature_history` is the Python face of the ``pitstop.feature_history`` macro:
dbt compiles the macro (``dbt compile --inline``) against fixed names for the
entity keys and the time range, and the compiled query runs on a read-only
DuckDB connection with the keys registered under that name and the range bound
as parameters. There is one implementation of the semantics, the macro;
nothing here re-derives intervals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pitstop.errors import InvalidEntityKeyError, InvalidRequestError, UnknownFeatureError
from pitstop.offline.compile import compile_macro, session
from pitstop.registry import is_identifier
from pitstop.times import parse_timestamp

if TYPE_CHECKING:
    import pandas as pd

    from pitstop.project import Project
    from pitstop.registry import FeatureView, Registry

__all__ = ["KEYS_NAME", "compile_feature_history_sql", "feature_history"]

#: The name the entity keys are registered under in DuckDB; compiled queries read it.
KEYS_NAME = "pitstop_history_keys"

_TimeLike = dt.datetime | dt.date | str


def feature_history(
    project: Project,
    registry: Registry,
    view: str,
    *,
    keys: Any = None,
    start: _TimeLike | None = None,
    end: _TimeLike | None = None,
    features: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Each entity's feature values with the interval they were valid (served) in.

    One row per entity and run of identical values: the key columns, the
    features, ``valid_from`` (inclusive) and ``valid_to`` (exclusive; NULL when
    still valid and no ``end`` was given), clipped to ``[start, end)``. Event
    views: a row is valid from its timestamp until the entity's next row and at
    most through timestamp + TTL; scd2/snapshot views: their own intervals.
    Semantics: README, section "History and windows".

    Args:
        project: the dbt project whose DuckDB file holds the view.
        registry: its feature registry.
        view: a feature view name.
        keys: ``None`` for every entity, or the entities to report: a pandas
            DataFrame with the entity's key columns, a list of dicts, or for a
            single-key entity a list of key values.
        start: start of the range (inclusive), a datetime or ISO string; ``None``
            for no lower bound.
        end: end of the range (exclusive); ``None`` for no upper bound.
        features: a subset of the view's features (default: all).

    Returns:
        A pandas DataFrame ordered by keys and ``valid_from``.

    Raises:
        UnknownFeatureViewError: ``view`` is not a feature view.
        UnknownFeatureError: a name in ``features`` is not a feature of the view.
        InvalidEntityKeyError: ``keys`` lacks a key column of the view's entity.
        InvalidRequestError: ``start``/``end`` are not timestamps or start >= end.
        DbtError: dbt could not compile the macro.
    """

    fv = registry.view(view)
    selected = _select_features(fv, features)
    key_frame = _key_frame(fv, keys) if keys is not None else None
    start_ts = _timestamp(start, "start")
    end_ts = _timestamp(end, "end")
    if start_ts is not None and end_ts is not None and start_ts >= end_ts:
        raise InvalidRequestError(f"start ({start_ts}) must be before end ({end_ts})")
    from pitstop.offline.spark import is_spark

    on_spark = is_spark(project)
    # compile before connecting: dbt must not find the file open in this process
    sql = compile_feature_history_sql(
        project,
        fv.name,
        features=selected,
        with_keys=key_frame is not None,
        with_start=start_ts is not None,
        with_end=end_ts is not None,
        parameter_prefix=":" if on_spark else "$",
    )
    order = ", ".join(f'"{c}"' for c in (*fv.key_columns, "valid_from"))
    if on_spark:
        return _history_spark(project, sql, key_frame, start_ts, end_ts, fv.key_columns)
    params: dict[str, Any] = {}
    if start_ts is not None:
        params["start"] = start_ts
    if end_ts is not None:
        params["end"] = end_ts
    with session(project) as con:
        if key_frame is not None:
            con.register(KEYS_NAME, key_frame)
        frame: pd.DataFrame = con.execute(
            f"select * from ({sql}) as history order by {order}",  # noqa: S608 - names from the registry
            params,
        ).df()
    return frame


def _history_spark(
    project: Project,
    sql: str,
    key_frame: pd.DataFrame | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    key_columns: Sequence[str],
) -> pd.DataFrame:
    """`feature_history` on a spark target: the keys as the temporary view
    `KEYS_NAME`, the range bound as named parameters (ISO text cast by the
    compiled SQL, so no Python time zone is involved), the result collected
    as Arrow with timestamps as naive UTC."""
    import pyarrow as pa

    from pitstop.offline import spark

    session = spark.spark_session(project)
    params: dict[str, Any] = {}
    if start is not None:
        params["start"] = start.isoformat(sep=" ")
    if end is not None:
        params["end"] = end.isoformat(sep=" ")
    order = ", ".join(f"`{c}`" for c in (*key_columns, "valid_from"))
    with spark.spark_errors("feature history"):
        if key_frame is not None:
            spark.register_arrow(
                session, KEYS_NAME, pa.Table.from_pandas(key_frame, preserve_index=False)
            )
        query = f"select * from ({sql}) as history order by {order}"  # noqa: S608 - registry names
        result = spark.collect_arrow(session.sql(query, args=params or None), project)
    frame: pd.DataFrame = result.to_pandas()
    return frame


def compile_feature_history_sql(
    project: Project,
    view: str,
    *,
    features: Sequence[str] | None = None,
    with_keys: bool = False,
    with_start: bool = False,
    with_end: bool = False,
    parameter_prefix: str = "$",
) -> str:
    """Compile ``pitstop.feature_history`` for ``view``.

    The keys are read from a relation named `KEYS_NAME` and the range from the
    query parameters ``$start`` and ``$end`` (``:start``/``:end`` with
    ``parameter_prefix=":"``, Spark's named parameters), so the SQL depends
    only on the shape of the call and is cached per shape and manifest version.

    Raises:
        DbtError: the macro raised a compile-time error or dbt failed.
    """
    if parameter_prefix not in ("$", ":"):
        raise InvalidRequestError(f"parameter_prefix must be '$' or ':', not {parameter_prefix!r}")
    for name in (view, *(features or ())):
        if not is_identifier(name):
            raise InvalidRequestError(f"{name!r} is not a plain identifier")
    args = {
        "view": view,
        "entities": KEYS_NAME if with_keys else None,
        "start": f"cast({parameter_prefix}start as timestamp)" if with_start else None,
        "end": f"cast({parameter_prefix}end as timestamp)" if with_end else None,
        "features": list(features) if features is not None else None,
    }
    return compile_macro(project, "feature_history", args)


def _select_features(fv: FeatureView, features: Sequence[str] | None) -> list[str] | None:
    if features is None:
        return None
    if isinstance(features, str):
        features = [features]
    known = {f.name for f in fv.features}
    for name in features:
        if name not in known:
            raise UnknownFeatureError(
                f"view '{fv.name}' has no feature '{name}' (features: {', '.join(sorted(known))})"
            )
    return list(dict.fromkeys(features))


def _key_frame(fv: FeatureView, keys: Any) -> pd.DataFrame:
    """The requested entities as a DataFrame holding exactly the key columns."""
    import pandas as pd

    columns = list(fv.key_columns)
    if isinstance(keys, pd.DataFrame):
        frame = keys
    elif isinstance(keys, Iterable) and not isinstance(keys, str | bytes | Mapping):
        rows = list(keys)
        if rows and all(isinstance(r, Mapping) for r in rows):
            frame = pd.DataFrame(rows)
        elif len(columns) == 1 and not any(isinstance(r, Mapping | tuple | list) for r in rows):
            frame = pd.DataFrame({columns[0]: rows})
        elif all(isinstance(r, tuple | list) and len(r) == len(columns) for r in rows):
            frame = pd.DataFrame([list(r) for r in rows], columns=columns)
        else:
            raise InvalidEntityKeyError(
                f"keys for view '{fv.name}' must be dicts with {columns}, tuples in that order"
                + (" or plain key values" if len(columns) == 1 else "")
            )
    else:
        raise InvalidEntityKeyError(
            f"keys for view '{fv.name}' must be a DataFrame or a list, got {type(keys).__name__}"
        )
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidEntityKeyError(
            f"keys for view '{fv.name}' lack the key column(s) {', '.join(missing)} "
            f"of entity '{fv.entity.name}'"
        )
    return frame[columns].copy()


def _timestamp(value: _TimeLike | None, name: str) -> dt.datetime | None:
    """A naive UTC datetime (the warehouse stores naive UTC timestamps)."""
    if value is None:
        return None
    try:
        return parse_timestamp(value, name)
    except ValueError as exc:
        raise InvalidRequestError(str(exc)) from None
