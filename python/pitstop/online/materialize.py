"""`materialize`: write the latest feature values of online views to the online store.

For each view, one DuckDB query (on the project's DuckDB file, opened read-only)
picks per entity the row with the latest feature timestamp ``ts <= as_of``,
ties broken by the tie order of every entry point (README, "Tied rows":
created timestamp with NULL oldest, then the macro ``pitstop._pit_tiebreak``,
compiled through dbt and cached on disk), exactly the row the point-in-time
join picks for a spine row at ``as_of``; rows are streamed as Arrow record
batches, packed a batch at a time (`pitstop.online.arrow_pack`, the format of
`pitstop.online.codec`) and upserted. DuckDB aggregates with a hash table per
entity and spills to disk past its memory limit, and Python holds two batches
at a time, so memory stays bounded whatever the view's size.

The work overlaps: DuckDB reads the views smallest first, up to two views
ahead of the one being written; a thread packs the next batch while SQLite
inserts the current one (DuckDB, numpy and SQLite do their work without the GIL).

Incremental by default: the store keeps one watermark per view (the previous
run's ``as_of`` and the largest created timestamp it saw) and a run reads only
rows that can change an answer: ``ts`` in ``(previous as_of, as_of]``, or
created after the previous run (late rows), or (SCD2/snapshot views) whose
validity ended in ``(previous as_of, as_of]``. The stores never replace a
value with one whose (feature timestamp, created timestamp) is older. A view
whose schema changed, a first run, an ``as_of`` before the previous one and
``full_refresh=True`` rebuild the view from scratch.

All views of a run are published in one atomic step with the new watermarks
and the registry snapshot lookups use (see `pitstop.online.base`). The same
step drops the views the store holds that the project no longer serves (removed,
or no longer ``online: true``), so a lookup can never get a stale ``PRESENT``.

A store whose metadata lists views whose table or hash is gone, or whose file
is damaged, stops the run with an `OnlineStoreError` saying how to recover; a
full refresh rebuilds over missing tables and unreadable metadata. A run that
has to wait for another one says so (``on_wait``) and gives up after
``lock_timeout`` seconds (``PITSTOP_LOCK_TIMEOUT``, default 600).
"""

from __future__ import annotations

import json
import marshal
import queue
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import chain, repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pitstop.errors import ContractError, DbtError, MaterializationError, PitstopError
from pitstop.faults import fault_point
from pitstop.online.base import (
    OnlineMetadata,
    OnlineStore,
    WaitCallback,
    get_online_store,
    lost_views_error,
    online_store_config,
)
from pitstop.online.codec import (
    INT64_MIN,
    key_sql,
    value_sql,
)
from pitstop.online.spec import RegistrySnapshot, ViewSpec
from pitstop.settings import env
from pitstop.times import epoch_us, naive_utc

if TYPE_CHECKING:
    from pitstop.project import Project
    from pitstop.registry import FeatureView, Registry

__all__ = [
    "MaterializeResult",
    "ViewResult",
    "materialize",
    "open_online_store",
]

Progress = Callable[[str, int, int], None]
# a view to materialize: its spec and its watermark (None: rebuild it)
_Plan = tuple["FeatureView", ViewSpec, "dict[str, Any] | None"]

BATCH_ROWS = 100_000
# views DuckDB may have read ahead of the one being written (each holds its result)
_AHEAD = 2
_QUOTED = re.compile(r'"((?:[^"]|"")*)"')
MEMORY_ENV = "PITSTOP_MATERIALIZE_MEMORY"
LOCK_TIMEOUT_ENV = "PITSTOP_LOCK_TIMEOUT"
# what DuckDB's memory_limit accepts, strictly (the value is spliced into a SET:
# DuckDB binds no parameters there): "1GB", "1.5 GiB", "512MB", "80%"
_MEMORY = re.compile(r"^\d+(\.\d+)?\s*([KMGT]i?B|%)$", re.IGNORECASE)


@dataclass
class ViewResult:
    """What one view's materialization did."""

    view: str
    full_refresh: bool
    rows_read: int = 0
    entities_written: int = 0
    seconds: float = 0.0


@dataclass
class MaterializeResult:
    """What a `materialize` run did, per view and in total."""

    store: str
    as_of: datetime
    views: list[ViewResult] = field(default_factory=list)
    seconds: float = 0.0
    #: views removed from the store: gone from the project or no longer online
    dropped: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return sum(v.rows_read for v in self.views)

    @property
    def entities_written(self) -> int:
        return sum(v.entities_written for v in self.views)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``pitstop materialize --json``)."""
        return {
            "store": self.store,
            "as_of": self.as_of.isoformat(),
            "views": [asdict(v) for v in self.views],
            "rows_read": self.rows_read,
            "entities_written": self.entities_written,
            "dropped": list(self.dropped),
            "seconds": round(self.seconds, 3),
        }

    def summary(self) -> str:
        """One line: views, rows read, entities written, seconds (and the views
        dropped from the store, if any)."""
        seconds = self.seconds or 1e-9
        dropped = (
            f"; dropped {len(self.dropped)} view(s) no longer online: {', '.join(self.dropped)}"
            if self.dropped
            else ""
        )
        return (
            f"materialized {len(self.views)} view(s) into {self.store}: "
            f"{self.rows_read:,} rows read, {self.entities_written:,} entities written "
            f"in {self.seconds:.2f} s ({self.rows_read / seconds:,.0f} rows/s){dropped}"
        )


def open_online_store(project: Project) -> OnlineStore:
    """The online store configured for ``project``."""
    return get_online_store(online_store_config(project.vars, project.root))


def materialize(
    project: Project,
    registry: Registry,
    select: Sequence[str] | None = None,
    full_refresh: bool = False,
    progress: Progress | None = None,
    as_of: datetime | None = None,
    lock_timeout: float | None = None,
    on_wait: WaitCallback | None = None,
) -> MaterializeResult:
    """Write the latest value per entity of online feature views to the online store.

    Views the store holds that the project no longer serves (removed, or no
    longer ``online: true``) are dropped in the same atomic step, whatever
    ``select`` says, and listed in the result's ``dropped``.

    Args:
        project: the dbt project (its DuckDB file and online-store settings).
        registry: its feature registry.
        select: view names (default: every view with ``online: true``).
        full_refresh: rebuild the selected views instead of reading only new rows.
        progress: called as ``progress(view, rows_read, entities_written)`` after
            each batch (the CLI draws a progress bar with it).
        as_of: materialization time (naive UTC or aware; default now): rows with a
            later feature timestamp are not served yet.
        lock_timeout: seconds to wait for another materialize writing the same
            store (default ``PITSTOP_LOCK_TIMEOUT``, else 600; SQLite only: Redis
            runs never wait, the later commit fails instead).
        on_wait: called with one line of text when this run has to wait for
            another one (the CLI prints it on stderr).

    Returns:
        a `MaterializeResult` with rows read, entities written and seconds per view.

    Raises:
        UnknownFeatureViewError: a selected view does not exist.
        ContractError: a selected view is not ``online: true`` or has unsupported keys.
        MaterializationError: reading DuckDB or writing the store failed; the
            store was left exactly as it was.
        OnlineStoreError: the store is unreachable, damaged (lost view tables,
            corrupt pages, unreadable metadata: the message says how to recover)
            or still written by another run after ``lock_timeout``.
    """
    started = time.perf_counter()
    as_of = naive_utc(as_of or datetime.now(UTC))
    as_of_us = epoch_us(as_of)
    views = _selected_views(registry, select)
    timeout = _lock_timeout(lock_timeout)
    tiebreaks = _tiebreaks(project, views)
    online = open_online_store(project)
    result = MaterializeResult(store=online.describe(), as_of=as_of)
    duck = None
    try:
        # a spark target's views are read by Spark (pitstop.offline.spark)
        duck = _spark_source(project) or _connect_duckdb(project.duckdb_path)
        with online.writer(lock_timeout=timeout, on_wait=on_wait) as writer:
            try:
                meta = writer.metadata()
                previous_snapshot = RegistrySnapshot.from_json(meta.snapshot)
            except PitstopError:
                if not full_refresh:
                    raise
                # unreadable metadata: a full refresh rebuilds it from scratch
                meta, previous_snapshot = OnlineMetadata(), None
            served = {view.name for view in registry.views.values() if view.online}
            stored = set(previous_snapshot.views if previous_snapshot else ()) | set(
                meta.watermarks
            )
            result.dropped = sorted(stored - served)
            for name in result.dropped:
                writer.drop(name)
            snapshot = RegistrySnapshot.build(
                registry, views, previous_snapshot, drop=result.dropped
            )
            watermarks = {name: mark for name, mark in meta.watermarks.items() if name in served}
            rebuilt = {view.name for view in views} if full_refresh else set()
            lost = writer.missing(
                [
                    name
                    for name, mark in watermarks.items()
                    if name not in rebuilt and mark.get("stored", True)
                ]
            )
            if lost:
                raise lost_views_error(online.describe(), lost)
            plans: list[_Plan] = []
            for view in views:
                spec = snapshot.views[view.name]
                previous = watermarks.get(view.name)
                full = (
                    full_refresh
                    or previous is None
                    or previous.get("layout") != spec.layout
                    or not isinstance(previous.get("as_of_us"), int)
                    or previous["as_of_us"] > as_of_us
                )
                plans.append((view, spec, None if full else previous))
            # DuckDB aggregates the views one after the other (in C++, without
            # the GIL), smallest first and up to _AHEAD views ahead, while this
            # thread packs and writes the views already read
            order = _smallest_first(duck, plans)
            result.views = [
                ViewResult(view=view.name, full_refresh=previous is None)
                for view, _, previous in plans
            ]
            outcomes = {outcome.view: outcome for outcome in result.views}
            with ThreadPoolExecutor(max_workers=1) as pool:

                def submit(i: int) -> None:
                    if i < len(order):
                        pending.append(
                            pool.submit(_query_view, duck, *order[i], as_of_us, tiebreaks)
                        )

                pending: list[Future[_Query]] = []
                for i in range(_AHEAD):
                    submit(i)
                taken = 0
                try:
                    # while DuckDB reads the first view: empty the views to rebuild,
                    # then check the store. Dropping a table walks its pages (a
                    # damaged one fails the drop), and the check, of the store as
                    # this run will write it, then costs only what is kept
                    for view, spec, previous in plans:
                        if previous is None:
                            writer.reset(view.name, spec.integer_key)
                    writer.check()
                    for i, (view, spec, previous) in enumerate(order):
                        view_started = time.perf_counter()
                        query = pending[i].result()
                        taken += 1
                        submit(i + _AHEAD)
                        outcome = outcomes[view.name]
                        watermarks[view.name] = _write_view(
                            writer, view, spec, previous, query, as_of_us, outcome, progress
                        )
                        outcome.seconds = time.perf_counter() - view_started
                except BaseException:
                    for future in pending[taken:]:
                        if not future.cancel() and future.exception() is None:
                            future.result().close()
                    raise
            fault_point("materialize.before_commit")
            writer.commit(snapshot.to_json(), watermarks)
    except PitstopError:
        raise
    except Exception as exc:
        raise MaterializationError(
            f"materialize failed, the online store was left as it was: {exc}"
        ) from exc
    finally:
        if duck is not None:
            duck.close()
        online.close()
    result.seconds = time.perf_counter() - started
    return result


def _selected_views(registry: Registry, select: Sequence[str] | None) -> list[FeatureView]:
    if not select:
        return [v for v in registry.views.values() if v.online]
    if isinstance(select, str):
        select = [select]
    views = []
    for name in dict.fromkeys(select):
        view = registry.view(name)
        if not view.online:
            raise ContractError(
                f"feature view '{name}' is not online (set config.meta.pitstop.online: true)"
            )
        views.append(view)
    return views


def _lock_timeout(given: float | None) -> float | None:
    """Seconds to wait for another writer: ``given``, else ``PITSTOP_LOCK_TIMEOUT``,
    else None (the store's default, 600 s)."""
    if given is not None:
        value, source = given, "lock_timeout"
    else:
        text = env(LOCK_TIMEOUT_ENV)
        if text is None:
            return None
        source = f"{LOCK_TIMEOUT_ENV}={text!r}"
        try:
            value = float(text.strip())
        except ValueError:
            value = float("nan")
    if not (isinstance(value, int | float) and 0 <= value < float("inf")):
        raise MaterializationError(
            f"{source} is not a number of seconds >= 0 (e.g. 600; 0 fails at once "
            "when another materialize is running)"
        )
    return float(value)


def _connect_duckdb(path: Path) -> Any:
    """The project's DuckDB file, read-only, set up for the latest-row queries;
    any failure is a `MaterializationError` and leaves no connection open."""
    import duckdb

    memory = (env(MEMORY_ENV) or "1GB").strip()
    if not _MEMORY.fullmatch(memory):
        raise MaterializationError(
            f"{MEMORY_ENV}={memory!r} is not a memory size; use e.g. 1GB, 512MB, 1.5GiB or 80%"
        )
    if not path.exists():
        raise MaterializationError(
            f"the offline store {path} does not exist; build the project first (dbt build)"
        )
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise MaterializationError(f"cannot open {path} read-only: {exc}") from exc
    spill = str(Path(tempfile.gettempdir()) / "pitstop-duckdb-spill").replace("'", "''")
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"set memory_limit = '{memory}'")  # validated above
        con.execute(f"set temp_directory = '{spill}'")
        con.execute("set preserve_insertion_order = false")
    except duckdb.Error as exc:
        con.close()
        raise MaterializationError(
            f"cannot configure DuckDB for materialize ({MEMORY_ENV}={memory!r}, "
            f"temp_directory {spill!r}): {exc}"
        ) from exc
    return con


def _smallest_first(duck: Any, plans: list[_Plan]) -> list[_Plan]:
    """``plans`` by the estimated row count of their relations, smallest first
    (views of unknown size last, in their order): the writer then starts on a
    view DuckDB reads quickly, while DuckDB goes on with the bigger ones."""
    import duckdb

    if len(plans) < 2 or not isinstance(duck, duckdb.DuckDBPyConnection):
        return plans
    try:
        tables = duck.execute(
            "select schema_name, table_name, estimated_size from duckdb_tables()"
        ).fetchall()
    except duckdb.Error:
        return plans
    sizes = {f"{_q(schema)}.{_q(table)}": int(rows or 0) for schema, table, rows in tables}
    unknown = float("inf")
    return sorted(plans, key=lambda plan: sizes.get(_relation_sql(plan[0].relation), unknown))


def _spark_source(project: Project) -> Any:
    """On a spark target, the source reading latest rows with Spark
    (`pitstop.offline.spark.SparkLatestRows`); None on DuckDB."""
    from pitstop.offline.spark import SparkLatestRows, is_spark

    return SparkLatestRows(project, BATCH_ROWS) if is_spark(project) else None


def _relation_sql(relation: str) -> str:
    """``"db"."schema"."table"`` -> ``"schema"."table"``: the file is opened
    under its own catalog name, which need not be the one dbt recorded."""
    parts = _QUOTED.findall(relation)
    if len(parts) < 2:
        return relation
    return ".".join('"' + p + '"' for p in parts[-2:])


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tiebreaks(project: Project, views: Sequence[FeatureView]) -> dict[str, str]:
    """Per view, the SQL of the last key of the tie order: the macro
    ``pitstop._pit_tiebreak``, the definition the point-in-time join and
    feature_history use, compiled instead of restated here. All views in one
    ``dbt compile``, cached on disk per manifest content; on a miss the
    dbt-free renderer (`pitstop.offline.render`, held to dbt's compile of this
    macro by tests/test_render_materialize.py) serves a current manifest, so
    only a run that finds the manifest stale (or the renderer giving up) pays
    for dbt.

    Raises:
        DbtError: dbt could not compile the macro (Pitstop's macros missing?).
    """
    if not views:
        return {}
    from pitstop.offline.compile import compile_cached, jinja_literal

    names = sorted({view.name for view in views})
    inline = "{{ pitstop._pit_tiebreak_json(" + jinja_literal(names) + ") }}"
    try:
        compiled = compile_cached(project, inline, names_relations=False, render=True)
    except DbtError as exc:
        raise DbtError(
            "materialize breaks ties between rows with the macro pitstop._pit_tiebreak, "
            f"which dbt could not compile (are Pitstop's macros in the project?): {exc}"
        ) from exc
    try:
        tiebreaks = json.loads(compiled)
    except ValueError:
        tiebreaks = None
    if not isinstance(tiebreaks, dict) or not all(
        isinstance(tiebreaks.get(name), str) and tiebreaks[name] for name in names
    ):
        raise DbtError(f"pitstop._pit_tiebreak_json compiled to {compiled!r}, not {{view: SQL}}")
    return {name: str(tiebreaks[name]) for name in names}


def _view_sql(
    view: FeatureView, spec: ViewSpec, incremental: bool, tiebreak: str
) -> tuple[str, str | None]:
    """The latest-row-per-entity query and the max-created-timestamp query.

    Two passes, because the tie order (timestamp, created timestamp, then the
    ``tiebreak`` hash) is 192 bits and no single scalar DuckDB's ``arg_max``
    is fast on holds it (``arg_max`` on a struct is about ten times slower):
    `pitstop$latest` takes per entity the greatest (timestamp, created) as one
    HUGEINT over the rows that may change the answer; then every row of the
    view at exactly that (key, timestamp, created), whether or not it changed,
    competes on the hash, which is computed for those rows only. Joining on the
    timestamp column itself lets DuckDB skip row groups outside the
    timestamps found, so an incremental run still reads little.

    Parameters: ``$as_of`` and, when incremental, ``$prev_as_of`` and
    ``$prev_created`` (all microseconds since the epoch, UTC).
    """
    keys = list(spec.key_names)
    key_types = list(spec.key_types)
    ts_column = _q(view.timestamp)
    ts = f"epoch_us({ts_column})"
    cts = f"epoch_us({_q(view.created_timestamp)})" if view.created_timestamp else "null::bigint"
    valid_to = f"epoch_us({_q(view.valid_to)})" if view.kind != "event" and view.valid_to else None
    features = [f"f{i} := {value_sql(_q(f.name), f.dtype)}" for i, f in enumerate(spec.features)]
    row = ", ".join(
        [f"ts := {ts}", f"cts := {cts}", f"vt := {valid_to or 'null::bigint'}", *features]
    )
    # (ts, created ts, NULL oldest) as one orderable scalar
    version = (
        f"{ts}::hugeint * 18446744073709551616 + "
        f"(coalesce({cts}, {INT64_MIN})::hugeint + 9223372036854775808)"
    )
    where = [f"{ts} <= $as_of"]
    if view.created_timestamp:
        # what was known at as_of, as the PIT join's exclude_late_rows does
        where.append(f"({cts} is null or {cts} <= $as_of)")
    if incremental:
        changed = [f"{ts} > $prev_as_of"]
        if view.created_timestamp:
            changed.append(f"{cts} > $prev_created")
        if valid_to:
            changed.append(f"({valid_to} > $prev_as_of and {valid_to} <= $as_of)")
        where.append("(" + " or ".join(changed) + ")")
    where.extend(_q(k) + " is not null" for k in keys)
    relation = _relation_sql(view.relation)
    # helper names hold a "$", which no feature, key or timestamp name (plain
    # identifiers, checked by the registry) can: unqualified names stay unambiguous
    latest_keys = [f'"pitstop${i}"' for i in range(len(keys))]
    latest = ", ".join(
        [
            *(f"{_q(k)} as {h}" for k, h in zip(keys, latest_keys, strict=True)),
            'count(*) as "pitstop$n"',
            f'max({ts_column}) as "pitstop$ts"',
            f'max({version}) as "pitstop$version"',
        ]
    )
    on = " and ".join(
        [
            *(f"{_q(k)} = {h}" for k, h in zip(keys, latest_keys, strict=True)),
            f'{ts_column} = "pitstop$ts"',
            f'{version} = "pitstop$version"',
        ]
    )
    outputs = [
        f"case when r.vt <= $as_of then null else r.f{i} end as f{i}"
        for i in range(len(spec.features))
    ]
    # identifiers are quoted by _q or come from the validated registry; values
    # are bound; `tiebreak` is the compiled macro
    outer = ", ".join(["k", "n", "r.ts as ts", "r.cts as cts", *outputs])
    inner = ", ".join(
        [
            f"{key_sql([_q(k) for k in keys], key_types)} as k",
            'any_value("pitstop$n") as n',
            f"arg_max(struct_pack({row}), {tiebreak}) as r",
        ]
    )
    sql = " ".join(
        [
            'with "pitstop$latest" as (select',
            latest,
            "from",
            relation,
            "where",
            " and ".join(where),
            "group by all) select",
            outer,
            "from (select",
            inner,
            "from",
            relation,
            'inner join "pitstop$latest" on',
            on,
            "group by all) order by k",
        ]
    )
    created_sql = (
        f"select max({cts}) from {relation} where {cts} <= $as_of"  # noqa: S608 - quoted
        if view.created_timestamp
        else None
    )
    return sql, created_sql


@dataclass
class _Query:
    """A view's started DuckDB query: its own cursor, the first batch, the rest."""

    cursor: Any
    reader: Any
    first: Any
    max_created: int | None

    def close(self) -> None:
        """Release the query, its Arrow reader first: a reader left open (say,
        kept alive by a traceback after an error) keeps the DuckDB file busy,
        and the next connection to it in this process would wait forever."""
        close_reader = getattr(self.reader, "close", None)
        try:
            if close_reader is not None:
                close_reader()
        finally:
            self.cursor.close()


def _query_view(
    duck: Any,
    view: FeatureView,
    spec: ViewSpec,
    previous: dict[str, Any] | None,
    as_of_us: int,
    tiebreaks: dict[str, str],
) -> _Query:
    """Run a view's latest-row query up to its first batch (the aggregation)."""
    import duckdb

    if not isinstance(duck, duckdb.DuckDBPyConnection):
        # the spark target's source: the same tie order, compiled for Spark
        return _Query(*duck.query_view(view, spec, previous, as_of_us, tiebreaks))

    sql, created_sql = _view_sql(view, spec, previous is not None, tiebreaks[view.name])
    params: dict[str, Any] = {"as_of": as_of_us}
    if previous is not None:
        params["prev_as_of"] = previous["as_of_us"]
        if view.created_timestamp:
            prev_created = previous.get("max_created_us")
            params["prev_created"] = INT64_MIN if prev_created is None else prev_created
    cursor = duck.cursor()
    try:
        cursor.execute("begin transaction")
        max_created = (
            cursor.execute(created_sql, {"as_of": as_of_us}).fetchall()[0][0]
            if created_sql
            else None
        )
        reader = cursor.sql(sql, params=params).to_arrow_reader(BATCH_ROWS)
        try:
            first = reader.read_next_batch()
        except StopIteration:
            first = None
    except duckdb.Error as exc:
        cursor.close()
        raise MaterializationError(
            f"reading feature view '{view.name}' from DuckDB failed, the online store was "
            f"left as it was: {exc}"
        ) from exc
    return _Query(cursor=cursor, reader=reader, first=first, max_created=max_created)


# one batch as the writer binds it: keys, feature and created timestamps, packed
# values, and how many source rows it stands for
_Packed = tuple[list[Any], list[int], list[int | None], list[bytes] | list[bytearray], int]


def _packed(query: _Query, spec: ViewSpec, bytearrays: bool) -> Iterator[_Packed]:
    """The batches of a view's query, packed (as ``bytearray`` when the
    writer binds those fastest, here rather than in the writer's thread)."""
    from pitstop.online.arrow_pack import pack_columns, pylist, total

    layout, width = spec.layout, len(spec.features)
    batches = chain([query.first], query.reader) if query.first is not None else ()
    for batch in batches:
        columns = batch.columns
        keys, ts, cts = pylist(columns[0]), pylist(columns[2]), pylist(columns[3])
        values = columns[4 : 4 + width]
        # numpy packs a batch at once; other column types (lists, ...) row by row
        blobs = pack_columns(layout, [columns[2], columns[3], *values])
        if blobs is None:
            rows = zip(repeat(layout), ts, cts, *(column.to_pylist() for column in values))
            blobs = list(map(marshal.dumps, rows))
        packed: list[bytes] | list[bytearray] = list(map(bytearray, blobs)) if bytearrays else blobs
        yield keys, ts, cts, packed, total(columns[1])


class _ReadAhead:
    """Iterate ``items`` produced one ahead in a thread of its own: the next
    batch is fetched and packed (numpy and DuckDB mostly without the GIL) while
    SQLite inserts this one (the sqlite3 module lets go of the GIL while SQLite
    works). Errors are raised where the item would have been; `close` stops
    the thread and waits for it."""

    def __init__(self, items: Iterator[_Packed]) -> None:
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(items,), name="pitstop-materialize-pack", daemon=True
        )
        self._thread.start()

    def _run(self, items: Iterator[_Packed]) -> None:
        try:
            for item in items:
                if not self._put(("item", item)):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            self._put(("error", exc))
        else:
            self._put(("end", None))

    def _put(self, entry: tuple[str, Any]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=0.05)
            except queue.Full:
                continue
            return True
        return False

    def __iter__(self) -> Iterator[_Packed]:
        while True:
            kind, value = self._queue.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def _write_view(
    writer: Any,
    view: FeatureView,
    spec: ViewSpec,
    previous: dict[str, Any] | None,
    query: _Query,
    as_of_us: int,
    outcome: ViewResult,
    progress: Progress | None,
) -> dict[str, Any]:
    """Stream one view's rows into ``writer`` (already `reset` when rebuilt);
    return its new watermark."""
    import duckdb

    ahead = _ReadAhead(_packed(query, spec, writer.bytearray_values))
    try:
        for keys, ts, cts, blobs, rows in ahead:
            written = writer.write_columns(view.name, keys, ts, cts, blobs)
            outcome.rows_read += rows
            outcome.entities_written += written
            if progress is not None:
                progress(view.name, outcome.rows_read, outcome.entities_written)
            fault_point("materialize.after_write")
    except duckdb.Error as exc:
        raise MaterializationError(
            f"reading feature view '{view.name}' from DuckDB failed, the online store was "
            f"left as it was: {exc}"
        ) from exc
    finally:
        ahead.close()
        query.close()
    max_created = query.max_created
    if previous is not None and max_created is None:
        max_created = previous.get("max_created_us")
    # whether the store holds values of the view (a Redis hash exists only then):
    # a later run checks that what should be there still is
    stored = outcome.entities_written > 0 or (
        previous is not None and bool(previous.get("stored", True))
    )
    return {
        "as_of_us": as_of_us,
        "max_created_us": max_created,
        "layout": spec.layout,
        "stored": stored,
    }
