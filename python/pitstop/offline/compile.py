"""Running the project's macros from Python: compile once through dbt, run on DuckDB.

Training sets and feature history are the temporal macros themselves, compiled
by ``dbt compile --inline`` and executed on the project's DuckDB file, so
there is exactly one implementation of their semantics. This module holds what
both need: safe Jinja literals, a compile cache, and a connection that coexists
with dbt.

The compile cache lives on disk (``<target>/pitstop_compiled.json``), so a new
process does not pay for dbt either: only the first call after the project
changed does. An entry is keyed by the inline Jinja, the dbt target and (for
SQL that names relations) the DuckDB path, and is valid for one *content* of
``manifest.json``: dbt rewrites the manifest on every compile with a new
invocation id and time, so the manifest is fingerprinted without those, and the
fingerprint is recomputed only when the file's mtime or size changed. A
manifest older than a project file is stale: nothing is served from the cache
until dbt (this very compile) has parsed the project again.

A shape the cache has not seen is rendered without dbt when it can be
(`pitstop.offline.render`: the macros' own Jinja from ``manifest.json``,
rendered with plain jinja2 in a reproduction of dbt's context, byte-identical
to dbt's compile), so a new process does not import dbt for it either; the
renderer gives up, and dbt compiles, on anything it does not reproduce,
including every compile error, which therefore reaches users as dbt words it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pitstop.errors import DbtError, InvalidRequestError, ProjectError

if TYPE_CHECKING:
    import duckdb

    from pitstop.project import Project

__all__ = [
    "CACHE_FILE",
    "RENDERED_MACROS",
    "compile_cached",
    "compile_inline",
    "compile_macro",
    "connect",
    "jinja_literal",
    "macro_call",
    "parsed_manifest",
    "session",
    "warm",
]

#: The macros whose calls may be rendered without dbt (`pitstop.offline.render`);
#: tests/test_render.py holds each to dbt's compile. materialize's tie order
#: (``pitstop._pit_tiebreak_json``, passed to `compile_cached` with
#: ``render=True``) is rendered too, held to dbt by tests/test_render_materialize.py.
RENDERED_MACROS = frozenset({"point_in_time_join", "feature_history"})

#: The persistent compile cache, in dbt's target directory.
CACHE_FILE = "pitstop_compiled.json"
_CACHE_FORMAT = 1
_CACHE_ENTRIES = 256  # the newest entries of one manifest content are kept
# manifest metadata dbt changes on every write without changing the project
_VOLATILE_METADATA = ("invocation_id", "generated_at", "invocation_started_at")

# in-process layer over the file: (cache file, manifest fingerprint, key) -> SQL
_SQL_CACHE: dict[tuple[str, str, str], str] = {}
# manifest path -> ((mtime_ns, size), fingerprint)
_FINGERPRINTS: dict[str, tuple[tuple[int, int], str]] = {}
_LOCK = threading.Lock()
# parse key (`_parse_key`) -> (manifest fingerprint, dbt Manifest parsed in this process)
_PARSED: dict[tuple[str, ...], tuple[str, Any]] = {}
# one compile at a time: dbt mutates the shared Manifest while compiling inline
_PARSE_LOCK = threading.RLock()


def jinja_literal(value: Any) -> str:
    """``value`` as a Jinja literal: strings are JSON-escaped, so a name can never
    close the expression or inject template code."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, Mapping):
        items = ", ".join(f"{jinja_literal(str(k))}: {jinja_literal(v)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(jinja_literal(v) for v in value) + "]"
    raise InvalidRequestError(f"cannot pass {value!r} ({type(value).__name__}) to the macro")


def macro_call(macro: str, args: Mapping[str, Any]) -> str:
    """The Jinja expression ``{{ pitstop.<macro>(name=literal, ...) }}``."""
    call = ", ".join(f"{name}={jinja_literal(value)}" for name, value in args.items())
    return "{{ pitstop." + macro + "(" + call + ") }}"


def compile_macro(project: Project, macro: str, args: Mapping[str, Any]) -> str:
    """Compile one call of a pitstop macro to SQL.

    The SQL depends only on the arguments (data is bound later by name or as
    parameters), so it is cached per call and manifest content, on disk
    (`compile_cached`): repeated calls, new processes and property tests pay
    for dbt once. A new call of a `RENDERED_MACROS` macro does not need dbt
    at all when `pitstop.offline.render` can render it.

    Raises:
        DbtError: the macro raised a compile-time error (its message names the
            argument) or dbt failed.
    """
    return compile_cached(project, macro_call(macro, args), render=macro in RENDERED_MACROS)


def compile_cached(
    project: Project, inline: str, *, names_relations: bool = True, render: bool = False
) -> str:
    """`compile_inline` through the persistent compile cache (module docstring).

    Args:
        project: the dbt project.
        inline: the Jinja to compile.
        names_relations: the SQL may name relations, whose database part dbt
            takes from the DuckDB file name: key the entry by the DuckDB path too.
            False for expressions over unqualified columns only, which then
            stay cached whichever DuckDB file the project points at.
        render: on a cache miss, try `pitstop.offline.render` before dbt (only
            for Jinja whose renders the tests compare with dbt's).

    Returns:
        the SQL dbt renders from ``inline`` for the project as it is now.

    Raises:
        DbtError: compilation failed or dbt returned no SQL.
    """
    cache_file = project.target_path / CACHE_FILE
    manifest = project.manifest_path
    key = _cache_key(project, inline, names_relations)
    if not project.manifest_is_stale():
        sql = _lookup(cache_file, manifest, key)
        if sql is not None:
            return sql
        rendered = _render(project, inline, cache_file) if render else None
        if rendered is not None:
            _SQL_CACHE[(str(cache_file), rendered[1], key)] = rendered[0]
            _store(cache_file, manifest, rendered[1], key, rendered[0])
            return rendered[0]
    sql = compile_inline(project, inline)
    # dbt has just parsed the project and rewritten the manifest: the SQL
    # belongs to the content it wrote
    fingerprint = _fingerprint(manifest, None)
    if fingerprint is not None:
        _SQL_CACHE[(str(cache_file), fingerprint, key)] = sql
        _store(cache_file, manifest, fingerprint, key, sql)
    return sql


def _render(project: Project, inline: str, cache_file: Path) -> tuple[str, str] | None:
    """``inline`` rendered without dbt and the fingerprint of the manifest it was
    rendered from; None when the renderer gives up or the manifest changed
    meanwhile (dbt compiles then)."""
    from pitstop.offline import render

    manifest = project.manifest_path
    before = _stamp(manifest)
    fingerprint = _fingerprint(manifest, _read_cache(cache_file).get("manifest"))
    if before is None or fingerprint is None:
        return None
    try:
        sql = render.render_inline(project, inline)
    except render.GiveUp:
        return None
    return (sql, fingerprint) if _stamp(manifest) == before else None


def _cache_key(project: Project, inline: str, names_relations: bool) -> str:
    parts = [_CACHE_FORMAT, project.target or "", inline]
    if names_relations:
        parts.append(str(project.duckdb_path))
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _lookup(cache_file: Path, manifest: Path, key: str) -> str | None:
    """The cached SQL for ``key`` and the manifest as it is now, or None."""
    known = _FINGERPRINTS.get(str(manifest))
    if known is not None and known[0] == _stamp(manifest):
        sql = _SQL_CACHE.get((str(cache_file), known[1], key))
        if sql is not None:
            return sql
    cached = _read_cache(cache_file)
    fingerprint = _fingerprint(manifest, cached.get("manifest"))
    entry = cached.get("entries", {}).get(key)
    if fingerprint is None or not isinstance(entry, dict):
        return None
    sql = entry.get("sql")
    if entry.get("fingerprint") != fingerprint or not isinstance(sql, str):
        return None
    _SQL_CACHE[(str(cache_file), fingerprint, key)] = sql
    return sql


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size)


def _fingerprint(manifest: Path, recorded: Any) -> str | None:
    """A hash of the manifest's content without the metadata dbt changes on
    every write; None when there is no readable manifest. Read from this
    process's memory or from ``recorded`` (the cache file's ``{"stamp",
    "fingerprint"}``) while the file's mtime and size are unchanged, so that a
    hit does not read the manifest."""
    stamp = _stamp(manifest)
    if stamp is None:
        return None
    known = _FINGERPRINTS.get(str(manifest))
    if known is not None and known[0] == stamp:
        return known[1]
    if (
        isinstance(recorded, dict)
        and recorded.get("stamp") == list(stamp)
        and isinstance(recorded.get("fingerprint"), str)
    ):
        _FINGERPRINTS[str(manifest)] = (stamp, recorded["fingerprint"])
        return str(recorded["fingerprint"])
    try:
        data = json.loads(manifest.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    metadata = data.get("metadata")
    if isinstance(metadata, dict):
        for name in _VOLATILE_METADATA:
            metadata.pop(name, None)
    fingerprint = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    _FINGERPRINTS[str(manifest)] = (stamp, fingerprint)
    return fingerprint


def _read_cache(path: Path) -> dict[str, Any]:
    """The cache file's content; empty when missing, unreadable or of another format
    (it is only a cache: the caller compiles instead)."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != _CACHE_FORMAT:
        return {}
    return data


def _store(path: Path, manifest: Path, fingerprint: str, key: str, sql: str) -> None:
    """Add an entry, dropping those of other manifest contents (they can only
    match again if the project goes back to an older state: compiling again is
    then correct, merely slower). Replaced atomically, so a concurrent reader
    sees the old file or the new one; a concurrent writer's entry may be lost."""
    with _LOCK:
        entries = {
            k: v
            for k, v in _read_cache(path).get("entries", {}).items()
            if isinstance(v, dict) and v.get("fingerprint") == fingerprint and k != key
        }
        entries[key] = {"fingerprint": fingerprint, "sql": sql}
        kept = dict(list(entries.items())[-_CACHE_ENTRIES:])
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{CACHE_FILE}.", dir=path.parent)
            try:
                with os.fdopen(fd, "w") as out:
                    stamp = _FINGERPRINTS.get(str(manifest), (None, ""))[0]
                    recorded = {"stamp": list(stamp or ()), "fingerprint": fingerprint}
                    json.dump({"format": _CACHE_FORMAT, "manifest": recorded, "entries": kept}, out)
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError:
            pass  # a read-only target directory: compile every time, as without a cache


def compile_inline(project: Project, inline: str, *, reuse_manifest: bool = True) -> str:
    """``dbt compile --inline``: the SQL that dbt renders from ``inline`` (uncached).

    By default dbt compiles against the project's manifest as already parsed in
    this process (`parsed_manifest`): the same compile task and macros, minus
    the parse and the artifacts dbt would write, so a new call costs a tenth of
    a second instead of seconds. ``reuse_manifest=False`` runs the whole
    command (parse, compile, write ``manifest.json``), which the fast path must
    match character for character.

    Raises:
        DbtError: compilation failed or dbt returned no SQL.
    """
    args = ["compile", "--log-level", "none", "--no-populate-cache", "--inline", inline]
    if not reuse_manifest:
        return _compiled_sql(project.run_dbt(args), inline)
    with _PARSE_LOCK:
        manifest = parsed_manifest(project)
        # dbt adds the inline node to the manifest and removes it after a run;
        # a run that failed midway may leave it behind
        _drop_inline_nodes(manifest)
        try:
            result = project.run_dbt(["compile", "--no-write-json", *args[1:]], manifest=manifest)
        finally:
            _drop_inline_nodes(manifest)
    return _compiled_sql(result, inline)


def _compiled_sql(result: Any, inline: str) -> str:
    try:
        return str(result.result.results[0].node.compiled_code)
    except (AttributeError, IndexError) as exc:
        raise DbtError(f"dbt compile --inline returned no SQL for {inline}") from exc


def _drop_inline_nodes(manifest: Any) -> None:
    """Remove the ``inline_query`` node(s) a compile added to ``manifest``."""
    for nodes in (manifest.nodes, manifest.disabled):
        for unique_id in [uid for uid in nodes if uid.startswith("sql_operation.")]:
            nodes.pop(unique_id, None)


def parsed_manifest(project: Project) -> Any:
    """The project's dbt ``Manifest`` object, parsed once per process and
    project content and kept for `compile_inline`.

    It is reused while ``manifest.json`` is not stale and has the content
    (`_fingerprint`) it had when parsed; otherwise dbt parses again (partial
    parsing), writing ``manifest.json`` only when it was stale, so that the
    file and the object always describe the same project.

    Raises:
        DbtError: dbt could not parse the project.
    """
    key = _parse_key(project)
    with _PARSE_LOCK:
        stale = project.manifest_is_stale()
        known = _PARSED.get(key)
        if known is not None and not stale:
            fingerprint = _fingerprint(project.manifest_path, None)
            if fingerprint is not None and fingerprint == known[0]:
                return known[1]
        args = ["parse", "--log-level", "none"]
        if not stale:
            args.append("--no-write-json")
        manifest = project.run_dbt(args).result
        fingerprint = _fingerprint(project.manifest_path, None)
        if fingerprint is not None:
            _PARSED[key] = (fingerprint, manifest)
        return manifest


def warm(project: Project) -> threading.Thread:
    """Prepare a new shape's compile in a background thread, so that an
    interactive session's first training set of a new shape does not wait:
    render one join without dbt (`pitstop.offline.render` loads the manifest
    and compiles the macros' templates), or, when the renderer cannot serve
    the project, import dbt and parse it. dbt is not imported when the
    renderer serves: its import would hold the interpreter while the user's
    first call runs. Errors are left for the real call to report."""

    def run() -> None:
        with contextlib.suppress(Exception):
            inline = _warm_call(project)
            if inline is not None and _render(project, inline, project.target_path / CACHE_FILE):
                return
            # a first compile builds dbt's lazy schemas: do it now too
            compile_inline(project, "select 1")
            # and one join over one view compiles the join's macro templates
            if inline is not None:
                compile_inline(project, inline)

    thread = threading.Thread(target=run, name="pitstop-dbt-warm", daemon=True)
    thread.start()
    return thread


def _warm_call(project: Project) -> str | None:
    """A point-in-time join over the project's first feature view, or None."""
    from pitstop.registry import Registry

    view = next(iter(Registry.load(project).views.values()), None)
    if view is None:
        return None
    columns = [key.name for key in view.entity.keys] + ["pitstop_warm_at"]
    args: dict[str, Any] = {
        "spine": "pitstop_spine",
        "spine_timestamp": "pitstop_warm_at",
        "features": [view.name],
        "spine_columns": columns,
    }
    return macro_call("point_in_time_join", args)


def _parse_key(project: Project) -> tuple[str, ...]:
    return (
        str(project.root),
        project.target or "",
        str(project.target_path),
        str(project.profiles_dir),
        str(project.duckdb_path),
    )


def connect(project: Project) -> duckdb.DuckDBPyConnection:
    """A connection to the project's DuckDB file, read-only so that other
    processes (a running dbt build) are not locked out. When dbt already holds
    the file open read-write in this very process (after an in-process
    ``dbt build``), DuckDB refuses a second configuration: share dbt's instance."""
    import duckdb

    path = project.duckdb_path
    if not path.exists():
        raise ProjectError(f"{path} does not exist; build the project first (dbt build)")
    try:
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.ConnectionException as exc:
            if "different configuration" not in str(exc):
                raise
            return duckdb.connect(str(path))
    except duckdb.Error as exc:
        raise ProjectError(
            f"cannot open {path} read-only (is another process, e.g. dbt build, writing it?): {exc}"
        ) from exc


@contextmanager
def session(project: Project) -> Iterator[duckdb.DuckDBPyConnection]:
    """`connect`, closed on exit, with DuckDB's errors turned into Pitstop's:
    a missing table means the project was not built, anything else is a query
    the caller's input made fail (a spine column of the wrong type, say)."""
    import duckdb

    con = connect(project)
    try:
        yield con
    except duckdb.CatalogException as exc:
        raise ProjectError(f"{exc}; build the project first (dbt build)") from exc
    except duckdb.Error as exc:
        raise InvalidRequestError(f"the query failed on DuckDB: {exc}") from exc
    finally:
        con.close()
