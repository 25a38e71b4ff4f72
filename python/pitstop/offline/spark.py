"""The Spark engine: the same compiled macros, run by an in-process Spark.

A project whose dbt target has adapter type ``spark`` (dbt-spark) keeps its
tables in Spark, so training sets, feature history and materialize run there
instead of on DuckDB. Nothing about the semantics lives here: dbt compiles the
very macros it compiles for DuckDB (``pitstop.point_in_time_join``,
``pitstop.feature_history``, ``pitstop._pit_tiebreak``) with the spark adapter,
and this module only moves data in and out of Spark:

- spines and entity keys become temporary views (`register_arrow`), under the
  names the compiled SQL reads;
- training sets and history come back through Parquet files Spark writes and
  pyarrow reads (`collect_arrow`: the driver never holds the result),
  timestamps as naive UTC like the rest of Pitstop;
- `SparkLatestRows` feeds `materialize`: Spark picks each entity's latest row
  (the tie order of every entry point, through ``max_by`` over a struct), writes
  that result as Parquet to a scratch directory, and Python streams it back in
  bounded Arrow batches, so neither the driver nor Python ever holds a view.

The session is dbt-spark's ``session`` method's: built from the target's
``server_side_parameters`` (rendered like dbt renders them) with Hive support
and ANSI mode off, through ``getOrCreate()``, so a dbt run in this process
shares it (and its Derby metastore, which admits one JVM at a time). pyspark is
imported only here and only when a Spark target is used.
"""

# SQL here is built from registry names (checked identifiers, quoted with _bt),
# relation names from dbt's manifest, integers and the compiled tie-break macro
# ruff: noqa: S608
from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pitstop.errors import EngineError, InvalidRequestError, ProjectError
from pitstop.settings import env

if TYPE_CHECKING:
    import pyarrow as pa

    from pitstop.online.spec import ViewSpec
    from pitstop.project import Project
    from pitstop.registry import FeatureView

__all__ = [
    "SPARK_DIR_ENV",
    "SparkLatestRows",
    "adapter_type",
    "is_spark",
    "register_arrow",
    "spark_errors",
    "spark_session",
    "to_naive_utc",
]

SPARK_DIR_ENV = "PITSTOP_SPARK_DIR"
_DEFAULT_SPARK_DIR = "target/spark"
# {{ env_var('NAME') }} or {{ env_var('NAME', 'default') }}, as the profile writes them
_ENV_VAR = re.compile(
    r"\{\{\s*env_var\(\s*['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]\s*"
    r"(?:,\s*['\"]([^'\"]*)['\"]\s*)?\)\s*\}\}"
)
_SESSION_LOCK = threading.Lock()
_INT64_MIN = -(2**63)


def adapter_type(project: Project) -> str:
    """The adapter type of the project's target: its ``type`` in the profile,
    else the manifest's ``metadata.adapter_type``, else ``duckdb``."""
    output = project.profile_output()
    if output is not None and isinstance(output.get("type"), str):
        return str(output["type"])
    with contextlib.suppress(OSError, ValueError):
        import json

        metadata = json.loads(project.manifest_path.read_bytes()).get("metadata") or {}
        if isinstance(metadata.get("adapter_type"), str):
            return str(metadata["adapter_type"])
    return "duckdb"


def is_spark(project: Project) -> bool:
    """True when the project's target runs on Spark (dbt-spark)."""
    return adapter_type(project) == "spark"


def spark_dir(project: Project) -> Path:
    """Where Spark writes (warehouse, metastore, scratch): ``PITSTOP_SPARK_DIR``,
    relative paths taken from the project root, as dbt runs there."""
    path = Path(env(SPARK_DIR_ENV) or _DEFAULT_SPARK_DIR)
    return path if path.is_absolute() else project.root / path


def _server_side_parameters(project: Project) -> dict[str, str]:
    """The target's ``server_side_parameters`` with ``env_var`` rendered;
    ``PITSTOP_SPARK_DIR`` is made absolute against the project root, so the
    session finds the metastore dbt wrote whatever this process's directory."""
    output = project.profile_output()
    if output is None:
        raise ProjectError(
            f"cannot read the profile of target '{project.target}' from "
            f"{project.profiles_dir / 'profiles.yml'}"
        )
    method = output.get("method")
    if method != "session":
        raise EngineError(
            f"target '{project.target}' uses dbt-spark method {method!r}; Pitstop's Python "
            "side runs Spark in process and needs method: session (point spark.master at "
            "a cluster with PITSTOP_SPARK_MASTER instead of a Thrift Server)"
        )
    rendered_env = dict(os.environ)
    rendered_env[SPARK_DIR_ENV] = str(spark_dir(project))

    def render(value: Any) -> str:
        return _ENV_VAR.sub(lambda m: rendered_env.get(m[1]) or m[2] or "", str(value))

    params = {str(k): render(v) for k, v in (output.get("server_side_parameters") or {}).items()}
    # what dbt-spark's connection sets on every session
    params["spark.sql.ansi.enabled"] = "false"
    # Catalyst's constraint propagation multiplies with aliased expressions: with
    # it, planning feature_history of a 21-feature view (two row hashes, lead/lag
    # over them, a self-join) ran a 3 GB driver out of heap before any row was
    # read. profiles.example.yml turns it off; so does Python for older profiles
    params.setdefault("spark.sql.constraintPropagation.enabled", "false")
    return params


def _java_problem() -> str | None:
    """Why no Java can start, or None when one is there."""
    home = env("JAVA_HOME")
    if home:
        if not (Path(home) / "bin" / "java").is_file():
            return f"JAVA_HOME={home} has no bin/java"
        return None
    if shutil.which("java") is None:
        return "java is missing (not on PATH and JAVA_HOME is not set)"
    return None


def spark_session(project: Project) -> Any:
    """The in-process SparkSession of the project's spark target (created once
    per process, then shared with dbt through ``getOrCreate``).

    Raises:
        EngineError: no Java, pyspark missing, the target is not a session
            target, or Spark did not start (one line naming the cause).
    """
    params = _server_side_parameters(project)
    problem = _java_problem()
    if problem is not None:
        raise EngineError(
            f"Spark cannot start: {problem}; install a JDK 17+ (scripts/ensure-java.sh) "
            "or set JAVA_HOME"
        )
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise EngineError(
            f"the spark target needs pyspark (pip install 'dbt-spark[session]'): {exc}"
        ) from None
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    with _SESSION_LOCK:
        builder = SparkSession.builder.enableHiveSupport()
        for name, value in params.items():
            builder = builder.config(name, value)
        try:
            return builder.getOrCreate()
        except Exception as exc:  # pyspark raises its own runtime errors, py4j others
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise EngineError(
                f"Spark did not start (spark.master={params.get('spark.master', 'local[*]')!r}): "
                f"{text}. Check Java (scripts/ensure-java.sh), PITSTOP_SPARK_MASTER and that no "
                f"other process holds the Derby metastore under {spark_dir(project)}"
            ) from None


@contextlib.contextmanager
def spark_errors(what: str) -> Iterator[None]:
    """Spark's errors as Pitstop's, in one line: a missing table means the
    project was not built on Spark, any other analysis error is the caller's
    input (a spine column of the wrong type, say)."""
    from pyspark.errors import AnalysisException, PySparkException

    try:
        yield
    except AnalysisException as exc:
        message = _first_line(exc)
        if "TABLE_OR_VIEW_NOT_FOUND" in message:
            raise ProjectError(
                f"{what} failed on Spark: {message}; build the project on Spark first "
                "(dbt build --target spark)"
            ) from None
        raise InvalidRequestError(f"{what} failed on Spark: {message}") from None
    except PySparkException as exc:
        raise InvalidRequestError(f"{what} failed on Spark: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def register_arrow(session: Any, name: str, table: pa.Table) -> Any:
    """``table`` as the temporary view ``name``; returns the Spark DataFrame."""
    frame = session.createDataFrame(table)
    frame.createOrReplaceTempView(name)
    return frame


def to_naive_utc(table: pa.Table) -> pa.Table:
    """Timestamps with a time zone (Spark's ``timestamp``) as naive UTC, the
    form Pitstop uses everywhere."""
    import pyarrow as pa

    columns = []
    changed = False
    for column, field in zip(table.columns, table.schema, strict=True):
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            column = column.cast(pa.timestamp(field.type.unit))
            changed = True
        columns.append(column)
    return pa.table(columns, names=table.column_names) if changed else table


def collect_arrow(frame: Any, project: Project) -> pa.Table:
    """All of ``frame`` as an Arrow table (in its order), timestamps naive UTC.

    Spark writes the result as Parquet to a scratch folder under
    ``<PITSTOP_SPARK_DIR>/results`` and pyarrow reads the files back, rather
    than ``toArrow()``: that gathers every Arrow batch in the driver's heap
    before Python sees one, so a 10M-row training set ran a 6 GB driver out of
    memory, while the files keep the JVM's memory flat whatever the size of
    the result (Python holds the result either way).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = spark_dir(project) / "results"
    root.mkdir(parents=True, exist_ok=True)
    scratch = _Scratch(Path(tempfile.mkdtemp(prefix="result-", dir=root)))
    try:
        out = scratch.path / "rows"
        frame.write.mode("overwrite").parquet(str(out))
        tables = [pq.read_table(part) for part in _part_files(out)]
        table = pa.concat_tables(tables) if tables else frame.limit(0).toArrow()
    finally:
        scratch.close()
    return to_naive_utc(table)


# ---------------------------------------------------------------------------
# materialize


def _bt(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


_SIMPLE_TYPES = frozenset(
    {
        "tinyint",
        "smallint",
        "int",
        "integer",
        "bigint",
        "long",
        "short",
        "byte",
        "string",
        "varchar",
        "text",
        "char",
        "boolean",
        "bool",
        "double",
        "float",
        "real",
        "unknown",
    }
)
# a list type as Spark writes it (array<bigint>) or as DuckDB does (bigint[])
_ARRAY_TYPE = re.compile(r"^array\s*<\s*(.+?)\s*>$|^(.+?)(?:\[\d*\])+$")


def _simple_type(base: str) -> bool:
    return base in _SIMPLE_TYPES or base.startswith(("varchar", "char"))


def _value_sql(column: str, dtype: str) -> str:
    """Spark SQL turning a feature column into the simple value the online
    codec stores (`pitstop.online.codec.value_sql` is the DuckDB form).

    A list of numbers, strings or booleans (``array<double>``, or ``double[]``
    as a DuckDB project declares it) stays a list, as on DuckDB: Arrow brings it
    back as a list column and the codec stores a Python list. Any other
    composite type (a struct, a map, a list of timestamps) is stored as its
    text, which Spark and DuckDB format differently."""
    from pitstop.online.codec import decode_tag

    tag = decode_tag(dtype)
    if tag in ("ts", "tstz"):
        return f"unix_micros(cast({column} as timestamp))"
    if tag == "date":
        return f"unix_date({column})"
    if tag == "decimal":
        return f"cast({column} as string)"
    base = dtype.strip().lower()
    match = _ARRAY_TYPE.match(base)
    element = (match.group(1) or match.group(2)).strip() if match else base
    if _simple_type(element):
        return column
    return f"cast({column} as string)"


def latest_rows_sql(
    view: FeatureView,
    spec: ViewSpec,
    as_of_us: int,
    tiebreak: str,
    previous: Mapping[str, Any] | None,
) -> str:
    """Spark SQL for each entity's latest row at ``as_of_us``: the row with the
    greatest (timestamp, created timestamp with NULL oldest, ``tiebreak``),
    the tie order of every entry point, where ``tiebreak`` is the compiled
    ``pitstop._pit_tiebreak`` of the view. Incremental (``previous``): the
    greatest (timestamp, created) among the rows that may change the answer,
    then every row at exactly that (key, timestamp, created) competes on the
    hash, as on DuckDB. Columns: the key columns ``k0..``, ``n`` (rows read),
    ``ts``, ``cts``, ``f0..`` (NULL once an scd2/snapshot row's validity
    ended)."""
    keys = list(spec.key_names)
    ts = f"unix_micros(cast({_bt(view.timestamp)} as timestamp))"
    cts = (
        f"unix_micros(cast({_bt(view.created_timestamp)} as timestamp))"
        if view.created_timestamp
        else "cast(null as bigint)"
    )
    valid_to = (
        f"unix_micros(cast({_bt(view.valid_to)} as timestamp))"
        if view.kind != "event" and view.valid_to
        else None
    )
    as_of = int(as_of_us)
    columns = [f"{_bt(k)} as k{i}" for i, k in enumerate(keys)]
    columns += [
        f"{ts} as ts",
        f"{cts} as cts",
        f"coalesce({cts}, {_INT64_MIN}) as c",
        f"{valid_to or 'cast(null as bigint)'} as vt",
    ]
    columns += [f"{_value_sql(_bt(f.name), f.dtype)} as f{i}" for i, f in enumerate(spec.features)]
    columns.append(f"{tiebreak} as h")
    where = [f"{ts} <= {as_of}"]
    if view.created_timestamp:
        where.append(f"({cts} is null or {cts} <= {as_of})")
    where += [f"{_bt(k)} is not null" for k in keys]
    base = f"select {', '.join(columns)} from {view.relation} where {' and '.join(where)}"
    k = [f"k{i}" for i in range(len(keys))]
    fields = ["ts", "cts", "vt", *(f"f{i}" for i in range(len(spec.features)))]
    row = "named_struct(" + ", ".join(f"'{f}', b.{f}" for f in fields) + ")"
    order = "named_struct('ts', b.ts, 'c', b.c, 'h', b.h)"
    if previous is None:
        inner = (
            f"select {', '.join('b.' + c for c in k)}, count(*) as n, "
            f"max_by({row}, {order}) as r from base b group by {', '.join('b.' + c for c in k)}"
        )
    else:
        changed = [f"ts > {int(previous['as_of_us'])}"]
        if view.created_timestamp:
            prev_created = previous.get("max_created_us")
            changed.append(f"cts > {_INT64_MIN if prev_created is None else int(prev_created)}")
        if valid_to:
            changed.append(f"(vt > {int(previous['as_of_us'])} and vt <= {as_of})")
        latest = (
            f"select {', '.join(k)}, count(*) as n, max(named_struct('ts', ts, 'c', c)) as v "
            f"from base where {' or '.join(changed)} group by {', '.join(k)}"
        )
        on = " and ".join([*(f"b.{c} = l.{c}" for c in k), "b.ts = l.v.ts", "b.c = l.v.c"])
        inner = (
            f"select {', '.join('b.' + c for c in k)}, first(l.n) as n, "
            f"max_by({row}, {order}) as r from base b join ({latest}) l on {on} "
            f"group by {', '.join('b.' + c for c in k)}"
        )
    outputs = [
        f"case when r.vt <= {as_of} then null else r.f{i} end as f{i}"
        for i in range(len(spec.features))
    ]
    return (
        f"with base as ({base}) select {', '.join(k)}, n, r.ts as ts, r.cts as cts"
        + "".join(", " + o for o in outputs)
        + f" from ({inner})"
    )


def _part_files(folder: Path) -> list[Path]:
    """The Parquet files Spark wrote into ``folder``, in the result's partition
    order (Spark numbers its part files so)."""
    return sorted(folder.glob("part-*.parquet"))


# the Parquet row group size of materialize's Spark output
_ROW_GROUP_BYTES = 8 * 1024 * 1024


class _Scratch:
    """A scratch directory removed on ``close()`` (the query's "cursor")."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


class SparkLatestRows:
    """The source `materialize` reads views from on a spark target.

    ``query_view`` returns what the DuckDB query it replaces holds (the fields
    of `pitstop.online.materialize._Query`: a cursor whose ``close()`` releases
    the query, the batch reader, the first batch and the largest created
    timestamp), and `materialize` wraps them alike. Spark computes the latest
    row per entity (`latest_rows_sql`) and writes it as Parquet under
    ``<PITSTOP_SPARK_DIR>/materialize``; the rows are then read back with
    pyarrow in batches of ``batch_rows``, keys encoded like on DuckDB
    (`pitstop.online.codec.encode_key`). Memory stays bounded: Spark
    aggregates and spills per partition, Python holds one batch."""

    def __init__(self, project: Project, batch_rows: int) -> None:
        self.project = project
        self.batch_rows = batch_rows
        self.session = spark_session(project)
        self.scratch = spark_dir(project) / "materialize"

    def close(self) -> None:
        """Nothing to release: the session stays for the process (dbt shares it)."""

    def query_view(
        self,
        view: FeatureView,
        spec: ViewSpec,
        previous: dict[str, Any] | None,
        as_of_us: int,
        tiebreaks: Mapping[str, str],
    ) -> tuple[_Scratch, Iterator[pa.RecordBatch], pa.RecordBatch | None, int | None]:
        """Run the view's latest-row query on Spark up to its first batch."""
        import pyarrow.parquet as pq

        from pitstop.errors import MaterializationError

        sql = latest_rows_sql(view, spec, as_of_us, tiebreaks[view.name], previous)
        self.scratch.mkdir(parents=True, exist_ok=True)
        scratch = _Scratch(Path(tempfile.mkdtemp(prefix=f"{view.name}-", dir=self.scratch)))
        try:
            with spark_errors(f"materializing feature view '{view.name}'"):
                max_created = None
                if view.created_timestamp:
                    cts = f"unix_micros(cast({_bt(view.created_timestamp)} as timestamp))"
                    found = self.session.sql(
                        f"select max({cts}) from {view.relation} where {cts} <= {int(as_of_us)}"
                    ).collect()
                    max_created = found[0][0] if found else None
                out = scratch.path / "rows"
                # row groups of 8 MB: pyarrow decodes a whole row group at a
                # time, and Spark's default (128 MB) made each one millions of rows
                writer = self.session.sql(sql).write.mode("overwrite")
                writer.option("parquet.block.size", str(_ROW_GROUP_BYTES)).parquet(str(out))
            # file after file, row group after row group: a pyarrow dataset scan
            # reads ahead of a slow consumer (a Redis writer), and held 0.4 GiB
            # of Arrow batches for a 10M-entity view where this holds one
            scan = (
                batch
                for part in _part_files(out)
                for batch in pq.ParquetFile(part).iter_batches(
                    batch_size=self.batch_rows, use_threads=False
                )
            )
            batches = (_encoded(batch, spec) for batch in scan if batch.num_rows)
            first = next(batches, None)
        except MaterializationError:
            scratch.close()
            raise
        except Exception as exc:
            scratch.close()
            raise MaterializationError(
                f"reading feature view '{view.name}' from Spark failed, the online store was "
                f"left as it was: {exc}"
            ) from exc
        return scratch, batches, first, max_created


def _encoded(batch: pa.RecordBatch, spec: ViewSpec) -> pa.RecordBatch:
    """Spark's ``k0.., n, ts, cts, f0..`` as the DuckDB query's ``k, n, ts, cts,
    f0..``: the key parts encoded into one key (`encode_key`)."""
    import pyarrow as pa

    from pitstop.online.codec import encode_key

    types = spec.key_types
    width = len(types)
    parts = [batch.column(i).to_pylist() for i in range(width)]
    keys = [encode_key(row, types) for row in zip(*parts, strict=True)]
    rest = [batch.column(i) for i in range(width, batch.num_columns)]
    names = ["k", *batch.schema.names[width:]]
    return pa.RecordBatch.from_arrays([pa.array(keys), *rest], names=names)


def spine_from_source(session: Any, spine: str) -> Any:
    """A Spark DataFrame for a string spine: a Parquet file or directory
    (``*.parquet`` or an existing path), a table name, or else a SQL query
    (trusted input, as on DuckDB)."""
    path = Path(spine)
    if spine.endswith(".parquet") or (len(spine) < 4096 and path.exists()):
        if not path.exists():
            raise InvalidRequestError(f"spine file {spine} does not exist")
        return session.read.parquet(str(path.resolve()))
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}", spine):
        return session.table(spine)
    return session.sql(spine)
