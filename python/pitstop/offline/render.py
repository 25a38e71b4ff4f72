"""A second *renderer* of the project's macros, for a new process without dbt.

``dbt compile --inline`` is the one definition of how the temporal macros
become SQL, but importing dbt and loading a project costs seconds. This module
renders the same inline Jinja with plain ``jinja2`` against the macros stored
in ``target/manifest.json`` (their ``macro_sql``), in a context that
reproduces exactly the part of dbt's that the macros use:

* the environment: a sandbox with the ``do`` and ``loopcontrols`` extensions
  and dbt's macro-name fuzzing (``{% macro x %}`` defines ``dbt_macro__x``, so a
  bare ``x`` inside a macro is the context's, as in dbt), the default
  ``Undefined``;
* the macro namespace: the root package's macros as top-level names, every
  package as ``<package>.<macro>``, ``dbt.<macro>`` over the adapter's
  internal packages (``dbt_duckdb`` before ``dbt``), macros overriding
  context members of the same name; a macro returns its ``return()`` value
  or its rendered text;
* ``adapter.dispatch(name, namespace)``: packages ``[root, namespace]`` (the
  namespace is a dependency), prefixes ``duckdb`` then ``default``;
* two passes as dbt makes them: a parse (``execute`` false) that records the
  models the Jinja refs, then the compile, where a ref the parse did not see
  is an error in dbt;
* ``ref('model')`` (the node's ``relation_name``), ``var()`` (the project's
  vars), ``execute``, ``graph`` (the manifest's nodes), ``modules.re``,
  ``tojson``, ``api.Column.translate_type`` and ``api.Relation.create``,
  ``adapter.quote``.

Anything else gives up (`GiveUp`) and the caller compiles through dbt: a name
of dbt's context that is not reproduced here, an attribute of a reproduced
object that is not, a compile error the macros raise (dbt reports it, with its
own message), any exception. So this renderer can be slower than necessary,
never different: ``tests/test_render.py`` renders many call shapes both ways
and compares the SQL byte for byte.

It only serves a manifest that is current (not stale) for a DuckDB target
whose relations it can check: every model, seed and snapshot of the manifest
must lie in the database and schema that the current profile gives (dbt's
default naming), so a manifest parsed for another target or DuckDB file is
never used. The project is Pitstop itself or a project that installs Pitstop
as its one dbt package (tests/test_render_materialize.py compares that layout).
"""

from __future__ import annotations

import contextvars
import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

    from pitstop.project import Project

__all__ = ["DBT_CONTEXT_MEMBERS", "GiveUp", "render_inline"]

#: The context members of dbt's model context (``ModelContext``), checked
#: against dbt's own list by the tests. A macro that reads one of these that
#: this renderer does not reproduce makes it give up.
DBT_CONTEXT_MEMBERS = frozenset(
    {
        "_sql_results", "adapter", "adapter_macro", "api", "column", "compiled_code",
        "config", "context_macro_stack", "database", "dbt_metadata_envs", "dbt_version",
        "defer_relation", "diff_of_two_dicts", "env", "env_var", "exceptions", "execute",
        "flags", "fromjson", "fromyaml", "function", "graph", "invocation_args_dict",
        "invocation_id", "load_agate_table", "load_result", "local_md5", "log", "metric",
        "model", "modules", "post_hooks", "pre_hooks", "print", "project_name", "ref",
        "render", "return", "run_started_at", "schema", "selected_resources", "set",
        "set_strict", "source", "sql", "sql_now", "store_raw_result", "store_result",
        "submit_python_job", "target", "this", "thread_id", "tojson", "toyaml",
        "try_or_compiler_error", "validation", "var", "write", "zip", "zip_strict",
    }
)  # fmt: skip
# the members reproduced here
_SUPPORTED = frozenset(
    {
        "adapter",
        "api",
        "exceptions",
        "execute",
        "graph",
        "modules",
        "ref",
        "return",
        "tojson",
        "var",
    }
)
_ADAPTER = "duckdb"
# dispatch's prefixes, in dbt's order: the adapter's (dbt-duckdb has no parent), then default
_PREFIXES = (_ADAPTER, "default")
# dbt-duckdb's package comes before dbt's in the `dbt` namespace
_INTERNAL_PACKAGES = ("dbt_duckdb", "dbt")
# Pitstop installed as a dbt package (README, "Adopting Pitstop in an existing
# dbt project"): served too. For the inline node, of the root package, dbt
# resolves that package's macros only as `pitstop.<macro>` and by dispatch
# (root first), and `var()` reads the root project's vars only (the package's
# own dbt_project.yml vars are for its nodes), as here
_PITSTOP = "pitstop"
# dbt-duckdb's Column.TYPE_LABELS
_TYPE_LABELS = {"STRING": "TEXT"}
# environment variables that change what dbt would compile (dbt's CLI reads them)
_DBT_ENV = ("DBT_TARGET", "DBT_PROFILE", "DBT_EMPTY")
# dbt's default naming of relations, which the relation check assumes
_NAMING_MACROS = ("generate_database_name", "generate_schema_name", "generate_alias_name")
_RELATION_TYPES = ("model", "seed", "snapshot")
_MATERIALIZED = ("table", "view", "incremental", "seed", "snapshot")
# Jinja whose value the manifest froze at parse time but dbt would render anew
# in this process: environment variables, and the target beyond its type
# (which the manifest's adapter type fixes)
_PARSE_DEPENDENT = re.compile(r"\benv_var\b|\btarget\b\s*(?:\.(?!\s*type\b)|\[)")

_LOCK = threading.Lock()
# the models a render's parse pass refs (dbt: the inline node's depends_on)
_DEPENDS_ON: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar(
    "pitstop_render_depends_on", default=None
)
# manifest path -> ((mtime_ns, size), loaded manifest or the reason it cannot serve)
_LOADED: dict[str, tuple[tuple[int, int], _Manifest | str]] = {}


class GiveUp(Exception):
    """This renderer cannot vouch for the SQL: compile through dbt instead."""


def render_inline(project: Project, inline: str) -> str:
    """The SQL ``dbt compile --inline`` would give for ``inline``, rendered
    without dbt (module docstring).

    Raises:
        GiveUp: the manifest, the target or the Jinja is outside what this
            renderer reproduces, or rendering failed (a compile error included):
            the caller compiles through dbt, which reports errors itself.
    """
    for name in _DBT_ENV:
        if os.environ.get(name):
            raise GiveUp(f"{name} is set")
    if project.manifest_is_stale():
        raise GiveUp("the manifest is stale")
    manifest = _load(project)
    expected = _expected_location(project)
    if manifest.location != expected:
        raise GiveUp(f"the manifest's relations are in {manifest.location}, not {expected}")
    try:
        return manifest.inline(inline)
    except GiveUp:
        raise
    except Exception as exc:
        # compile errors included: dbt reports them with its own message
        raise GiveUp(f"{type(exc).__name__}: {exc}") from exc


def _stamp(path: Path) -> tuple[int, int]:
    info = path.stat()
    return (info.st_mtime_ns, info.st_size)


def _load(project: Project) -> _Manifest:
    """The manifest as loaded in this process while the file is unchanged."""
    path = project.manifest_path
    try:
        stamp = _stamp(path)
    except OSError as exc:
        raise GiveUp(f"no manifest: {exc}") from None
    with _LOCK:
        known = _LOADED.get(str(path))
        if known is None or known[0] != stamp:
            try:
                loaded: _Manifest | str = _Manifest(json.loads(path.read_bytes()), project)
            except GiveUp as exc:
                loaded = str(exc)
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                loaded = f"unreadable manifest: {exc}"
            known = (stamp, loaded)
            _LOADED[str(path)] = known
    if isinstance(known[1], str):
        raise GiveUp(known[1])
    return known[1]


def _expected_location(project: Project) -> tuple[str, str]:
    """(database, schema) of the current profile's DuckDB target, as dbt-duckdb
    names them: the database after the file's name, the schema ``main`` unless
    set. Gives up on anything but a plain local DuckDB file."""
    output = project.profile_output()
    if output is None or output.get("type") != _ADAPTER:
        raise GiveUp("the target is not a readable DuckDB profile output")
    for key in ("database", "attach", "remote", "is_ducklake", "plugins"):
        if output.get(key):
            raise GiveUp(f"the profile sets {key}")
    schema = output.get("schema", "main")
    if not isinstance(schema, str) or "{" in schema:
        raise GiveUp("the profile's schema is not a plain name")
    path = str(project.duckdb_path)
    if ":" in Path(path).name or path.startswith(("md:", "motherduck:")):
        raise GiveUp("the DuckDB path is not a local file")
    # dbt-duckdb: the first non-empty dot-separated part of the file name
    database = os.path.basename(path).lstrip(".").split(".")[0]
    if not database:
        raise GiveUp("no database name in the DuckDB path")
    return (database, schema)


class _Manifest:
    """What rendering needs from ``manifest.json``, checked once per content."""

    def __init__(self, data: dict[str, Any], project: Project) -> None:
        metadata = data["metadata"]
        if metadata.get("adapter_type") != _ADAPTER:
            raise GiveUp(f"the manifest is for {metadata.get('adapter_type')}")
        quoting = metadata.get("quoting") or {}
        if not all(quoting.get(part) is True for part in ("database", "schema", "identifier")):
            raise GiveUp("relations are not quoted the default way")
        self.root: str = metadata["project_name"]
        if project.name != self.root:
            raise GiveUp("the manifest is of another project")
        if project.dbt_project.get("dispatch"):
            raise GiveUp("the project configures dispatch")
        self.macros: dict[str, dict[str, str]] = {}  # package -> name -> macro_sql
        for macro in data["macros"].values():
            self.macros.setdefault(macro["package_name"], {})[macro["name"]] = macro["macro_sql"]
        packages = set(self.macros) | {n["package_name"] for n in data["nodes"].values()}
        if set(self.macros) - {self.root, _PITSTOP, *_INTERNAL_PACKAGES}:
            # only Pitstop's own macros are held to dbt by the tests
            raise GiveUp("the project installs packages other than pitstop")
        for package, macros in self.macros.items():
            if package != "dbt" and any(n in name for n in _NAMING_MACROS for name in macros):
                raise GiveUp(f"package {package} overrides dbt's relation naming")
        self.vars = _project_vars(project, packages)
        self.nodes: dict[str, Any] = data["nodes"]
        self.relations: dict[str, dict[str, Any]] = {}  # name -> node, for ref()
        locations: set[tuple[str, str]] = set()
        names: set[str] = set()
        for node in self.nodes.values():
            if node.get("resource_type") not in _RELATION_TYPES:
                continue
            config = node.get("config") or {}
            for name in {node["name"], node.get("alias") or node["name"]}:
                if name in names:
                    raise GiveUp(f"two relations are named {name}")
                names.add(name)
            if node.get("version") is not None or node["package_name"] != self.root:
                raise GiveUp(f"{node['unique_id']} is versioned or of another package")
            if config.get("materialized") not in _MATERIALIZED or not node.get("relation_name"):
                raise GiveUp(f"{node['unique_id']} is not a table, view, seed or snapshot")
            self.relations[node["name"]] = node
            if config.get("database") is not None:
                raise GiveUp(f"{node['unique_id']} sets its database")
            custom = config.get("schema")
            schema = node["schema"] if custom is None else None
            if custom is not None:
                suffix = "_" + str(custom).strip()
                if not node["schema"].endswith(suffix):
                    raise GiveUp(f"{node['unique_id']}: schema not named the default way")
                schema = node["schema"][: -len(suffix)]
            locations.add((node["database"], str(schema)))
            expected = _quoted(node["database"], node["schema"], node.get("alias") or node["name"])
            if node["relation_name"] != expected:
                raise GiveUp(f"{node['unique_id']}: relation name {node['relation_name']}")
        _check_frozen(project, self.relations.values())
        if len(locations) != 1:
            raise GiveUp(f"relations in several databases or target schemas: {locations}")
        self.location: tuple[str, str] = locations.pop()
        # dbt's `graph` has more parts, and its nodes may hold keys the
        # artifact does not: reading anything absent here gives up
        self.graph = _Strict(nodes={uid: _Strict(node) for uid, node in self.nodes.items()})
        self._templates: dict[tuple[str, str], jinja2.Template] = {}
        self._renderers: dict[bool, _Render] = {}

    def renderer(self, execute: bool) -> _Render:
        """The context over this manifest for dbt's parse (``execute`` false) or
        its compile, built once (rendering keeps no state in it)."""
        renderer = self._renderers.get(execute)
        if renderer is None:
            renderer = self._renderers[execute] = _Render(self, execute)
        return renderer

    def inline(self, inline: str) -> str:
        """``inline`` rendered as dbt does: parsed first (``execute`` false),
        which records the relations it refs, then compiled, where a ref the
        parse did not record is an error in dbt (it gives up here)."""
        template = _compile(inline)
        token = _DEPENDS_ON.set(set())
        try:
            template.render(self.renderer(False).context)
            return str(template.render(self.renderer(True).context))
        finally:
            _DEPENDS_ON.reset(token)

    def template(self, package: str, name: str) -> jinja2.Template:
        """The compiled template of one macro (compiled once per process)."""
        key = (package, name)
        template = self._templates.get(key)
        if template is None:
            template = _compile(self.macros[package][name])
            self._templates[key] = template
        return template


def _check_frozen(project: Project, nodes: Iterable[Mapping[str, Any]]) -> None:
    """Give up when what the renderer reads from the manifest (the relations'
    configs, columns and names, the vars) came from Jinja that depends on the
    environment or the target: dbt would render it again, the file keeps the
    value of the parse that wrote it. Reads dbt_project.yml, the relations'
    SQL and their YAML files (a YAML file is read once per manifest)."""
    texts = [(project.root / "dbt_project.yml").read_text()]
    files: set[str] = set()
    for node in nodes:
        texts.append(str(node.get("raw_code") or ""))
        patch = node.get("patch_path")
        if isinstance(patch, str) and "://" in patch:
            files.add(patch.split("://", 1)[1])
    texts += [(project.root / file).read_text() for file in sorted(files)]
    for text in texts:
        found = _PARSE_DEPENDENT.search(text)
        if found:
            raise GiveUp(f"the project's models depend on {found.group(0)} at parse time")


def _project_vars(project: Project, packages: set[str]) -> dict[str, Any]:
    """The vars `var()` sees in the root project: dbt_project.yml's, none
    package-scoped, none rendered (no Jinja in a string var)."""
    variables = project.vars
    for name, value in variables.items():
        if name in packages:
            raise GiveUp(f"var {name} is scoped to a package")
        if any("{" in text for text in _strings(value)):
            # possibly Jinja (a YAML flow mapping is a dict, not text)
            raise GiveUp(f"var {name} holds text with braces")
    return variables


def _strings(value: Any) -> Iterator[str]:
    """Every string in ``value``, keys included, at any depth."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _quoted(*parts: str | None) -> str:
    return ".".join(f'"{part}"' for part in parts if part is not None)


_ENVIRONMENT: list[jinja2.Environment] = []


def _environment() -> jinja2.Environment:
    """dbt's Jinja environment for macros and inline SQL, built once."""
    if _ENVIRONMENT:
        return _ENVIRONMENT[0]
    import jinja2.nodes
    import jinja2.parser
    import jinja2.sandbox

    class Parser(jinja2.parser.Parser):
        def parse_macro(self) -> jinja2.nodes.Macro:
            # dbt's fuzzing: the macro is defined under a prefixed name
            node = jinja2.nodes.Macro(lineno=next(self.stream).lineno)
            node.name = "dbt_macro__" + self.parse_assign_target(name_only=True).name
            self.parse_signature(node)
            node.body = self.parse_statements(("name:endmacro",), drop_needle=True)
            return node

    class Environment(jinja2.sandbox.SandboxedEnvironment):
        def _parse(self, source: str, name: str | None, filename: str | None) -> Any:
            return Parser(self, source, name, filename).parse()

    environment = Environment(extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"])
    _ENVIRONMENT.append(environment)
    return environment


class _MacroReturn(Exception):
    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


class _Strict(dict[str, Any]):
    """A mapping whose missing keys give up (dbt has more than is reproduced)."""

    def __missing__(self, key: str) -> Any:
        raise GiveUp(f"{key} is not reproduced")


class _Object:
    """An object of the context with some attributes reproduced; reading any
    other one gives up."""

    def __init__(self, what: str, **attributes: Any) -> None:
        self._what = what
        self.__dict__.update(attributes)

    def __getattr__(self, name: str) -> Any:
        raise GiveUp(f"{self._what}.{name} is not reproduced")


class _Relation:
    """A DuckDB relation as dbt renders it: quoted parts joined by dots."""

    def __init__(self, database: str | None, schema: str | None, identifier: str | None) -> None:
        self.database = database
        self.schema = schema
        self.identifier = identifier
        self.name = identifier

    def render(self) -> str:
        return _quoted(self.database, self.schema, self.identifier)

    def __str__(self) -> str:
        return self.render()

    def __getattr__(self, name: str) -> Any:
        raise GiveUp(f"Relation.{name} is not reproduced")


class _Macro:
    """One macro, callable as dbt's MacroGenerator: its ``return()`` value, or
    its rendered text."""

    def __init__(self, render: _Render, package: str, name: str) -> None:
        self._render = render
        self._package = package
        self._name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        macro = self._render.macro(self._package, self._name)
        try:
            return macro(*args, **kwargs)
        except _MacroReturn as returned:
            return returned.value


class _Render:
    """One render: the context of dbt's inline node, over one manifest."""

    def __init__(self, manifest: _Manifest, execute: bool) -> None:
        self.manifest = manifest
        self.execute = execute
        self._modules: dict[tuple[str, str], Any] = {}
        self.context = self._context()

    def _context(self) -> dict[str, Any]:
        m = self.manifest

        def raise_compiler_error(msg: str, node: Any = None) -> None:
            raise GiveUp(f"compile error: {msg}")

        def translate_type(dtype: str) -> str:
            return _TYPE_LABELS.get(dtype.upper(), dtype)

        def create(
            database: str | None = None,
            schema: str | None = None,
            identifier: str | None = None,
            **rest: Any,
        ) -> _Relation:
            if rest:
                raise GiveUp(f"Relation.create({', '.join(rest)}) is not reproduced")
            return _Relation(database, schema, identifier)

        context: dict[str, Any] = {
            "adapter": _Object("adapter", dispatch=self.dispatch, quote=lambda name: f'"{name}"'),
            "api": _Object(
                "api",
                Column=_Object("api.Column", translate_type=translate_type),
                Relation=_Object("api.Relation", create=create),
            ),
            "exceptions": _Object("exceptions", raise_compiler_error=raise_compiler_error),
            "execute": self.execute,
            "graph": m.graph,
            "modules": _Strict(re=_Strict({name: getattr(re, name) for name in re.__all__})),
            "ref": self.ref,
            "return": _return,
            "tojson": _tojson,
            "var": self.var,
        }
        # every other member of dbt's context gives up when a template reads it
        # (`_compile`); macros shadow members, as in dbt's context
        context.update(self._namespace())
        return context

    def _namespace(self) -> dict[str, Any]:
        """dbt's flattened macro namespace for a node of the root package."""
        m = self.manifest
        packages = {
            package: {name: _Macro(self, package, name) for name in macros}
            for package, macros in m.macros.items()
            if package not in _INTERNAL_PACKAGES
        }
        internal: dict[str, _Macro] = {}
        for package in reversed(_INTERNAL_PACKAGES):
            for name in m.macros.get(package, {}):
                internal[name] = _Macro(self, package, name)
        self.internal = internal
        self.packages = packages
        flat: dict[str, Any] = {}
        # dbt's search order, the first holder of a name wins
        for layer in (packages.get(m.root, {}), packages, {"dbt": internal}, internal):
            for key, value in layer.items():
                flat.setdefault(key, value)
        return flat

    def macro(self, package: str, name: str) -> Callable[..., Any]:
        key = (package, name)
        module = self._modules.get(key)
        if module is None:
            template = self.manifest.template(package, name)
            module = template.make_module(vars=self.context, shared=False)
            self._modules[key] = module
        return getattr(module, "dbt_macro__" + name)  # type: ignore[no-any-return]

    def dispatch(self, macro_name: str, macro_namespace: str | None = None) -> _Macro:
        m = self.manifest
        if macro_namespace is None or "." in macro_name:
            raise GiveUp("dispatch without a namespace")
        # the namespace is a dependency (root, package or internal): the root first
        known = macro_namespace in m.macros or macro_namespace in _INTERNAL_PACKAGES
        search = [m.root, macro_namespace] if known else [macro_namespace]
        for package in search:
            for prefix in _PREFIXES:
                name = f"{prefix}__{macro_name}"
                if package == "dbt":
                    if name in self.internal:
                        return self.internal[name]
                elif name in self.packages.get(package, {}):
                    return self.packages[package][name]
        raise GiveUp(f"no macro for dispatch of {macro_name}")

    def ref(self, *args: Any, **kwargs: Any) -> _Relation:
        if kwargs or len(args) != 1 or not isinstance(args[0], str):
            raise GiveUp("ref() other than ref('<model>')")
        node = self.manifest.relations.get(args[0])
        if node is None:
            raise GiveUp(f"ref('{args[0]}') resolves to no model")
        relation = _Relation(node["database"], node["schema"], node.get("alias") or node["name"])
        if relation.render() != node["relation_name"]:
            raise GiveUp(f"ref('{args[0]}') renders differently")
        depends_on = _DEPENDS_ON.get()
        if depends_on is None:
            raise GiveUp("ref() outside a render")
        if not self.execute:
            # dbt's parse records the dependency (and returns another relation,
            # which the parse's output, discarded, is the only one to see)
            depends_on.add(args[0])
        elif args[0] not in depends_on:
            raise GiveUp(f"ref('{args[0]}') was not seen when parsing: dbt fails")
        return relation

    def var(self, name: str, *default: Any) -> Any:
        variables = self.manifest.vars
        if name in variables:
            return variables[name]
        if default:
            return default[0]
        if not self.execute:
            return None  # dbt's parse does not require vars
        raise GiveUp(f"var {name} is required")


def _return(value: Any) -> None:
    raise _MacroReturn(value)


def _tojson(value: Any, default: Any = None, sort_keys: bool = False) -> Any:
    try:
        return json.dumps(value, sort_keys=sort_keys)
    except ValueError:
        return default


def _compile(source: str) -> jinja2.Template:
    """``source`` compiled as jinja2's ``from_string`` does, after giving up if
    it reads a member of dbt's context that is not reproduced here. The names
    read from the context are those the code generator resolves at runtime
    (as ``jinja2.meta.find_undeclared_variables`` finds them, without a second
    code generation): a template's own variables are not dbt's."""
    environment = _environment()
    generator = _code_generator()(environment, None, None)
    generator.visit(environment.parse(source))
    unknown = (generator.context_names & DBT_CONTEXT_MEMBERS) - _SUPPORTED
    if unknown:
        raise GiveUp(f"the Jinja reads {', '.join(sorted(unknown))}")
    code = compile(generator.stream.getvalue(), "<template>", "exec")
    return environment.template_class.from_code(environment, code, environment.make_globals(None))


_GENERATOR: list[type[Any]] = []


def _code_generator() -> type[Any]:
    """jinja2's code generator, also recording the names it resolves from the context."""
    if _GENERATOR:
        return _GENERATOR[0]
    import jinja2.compiler
    from jinja2.idtracking import VAR_LOAD_RESOLVE

    class Generator(jinja2.compiler.CodeGenerator):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.context_names: set[str] = set()

        def enter_frame(self, frame: jinja2.compiler.Frame) -> None:
            super().enter_frame(frame)
            for action, param in frame.symbols.loads.values():
                if action == VAR_LOAD_RESOLVE:
                    self.context_names.add(param)

    _GENERATOR.append(Generator)
    return Generator
