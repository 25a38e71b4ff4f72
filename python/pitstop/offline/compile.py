"""Running the project's macros from Python: compile once through dbt, run on DuckDB.

Training sets and feature history are the temporal macros themselves, compiled
by ``dbt compile --inline`` and executed on the project's DuckDB file, so
there is exactly one implementation of their semantics. This module holds what
both need: safe Jinja literals, a compile cache, and a connection that coexists
with dbt.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from pitstop.errors import DbtError, InvalidRequestError, ProjectError

if TYPE_CHECKING:
    import duckdb

    from pitstop.project import Project

__all__ = ["compile_inline", "compile_macro", "connect", "jinja_literal", "macro_call", "session"]

# (project root, inline Jinja, manifest mtime) -> compiled SQL
_SQL_CACHE: dict[tuple[str, str, float], str] = {}


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
    parameters), so it is cached per call and manifest version: repeated calls
    and property tests pay for dbt once.

    Raises:
        DbtError: the macro raised a compile-time error (its message names the
            argument) or dbt failed.
    """
    inline = macro_call(macro, args)
    manifest = project.manifest_path
    version = manifest.stat().st_mtime if manifest.exists() else 0.0
    key = (str(project.root), inline, version)
    if key not in _SQL_CACHE:
        _SQL_CACHE[key] = compile_inline(project, inline)
    return _SQL_CACHE[key]


def compile_inline(project: Project, inline: str) -> str:
    """``dbt compile --inline``: the SQL that dbt renders from ``inline`` (uncached).

    Raises:
        DbtError: compilation failed or dbt returned no SQL.
    """
    result = project.run_dbt(
        ["compile", "--log-level", "none", "--no-populate-cache", "--inline", inline]
    )
    try:
        return str(result.result.results[0].node.compiled_code)
    except (AttributeError, IndexError) as exc:
        raise DbtError(f"dbt compile --inline returned no SQL for {inline}") from exc


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
