"""materialize's tie order rendered without dbt (issue 13.4, `pitstop.offline.render`).

``materialize`` breaks ties between rows with the macro ``pitstop._pit_tiebreak``,
compiled as one ``{{ pitstop._pit_tiebreak_json([...]) }}`` per run. On a cache
miss (the first run after any project change) that compile now goes through the
dbt-free renderer first, so it must give exactly dbt's SQL, byte for byte: for
every view of the demo and for views added here for the shapes the demo lacks
(a composite key, explicit feature lists, an scd2 view with its own valid_to
column), with and without created timestamps, alone, together and in
hypothesis-drawn subsets and orders. A mutated renderer (dispatch prefixes
swapped: ``md5`` text instead of DuckDB's ``hash``) must be caught, by the SQL
comparison and by the store content of a real materialize, so both comparisons
can fail. The end-to-end test runs materialize in fresh processes: after a
manifest change it must not import dbt and must store what a run through dbt
stores. No timing is asserted.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from _online_project import VIEWS, build_project, t, write_view
from conftest import ROOT, copy_project, isolated
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_render import history_calls, pit_calls

from pitstop.errors import DbtError
from pitstop.offline import compile as compile_module
from pitstop.offline import render
from pitstop.offline.compile import compile_inline, jinja_literal
from pitstop.project import Project
from pitstop.registry import Registry

# Feature views the demo does not have, added to its copy: (entity, meta, columns).
# Parsed only (the tie order's SQL needs no built table).
EXTRA_VIEWS: dict[str, tuple[dict[str, Any], list[tuple[str, str]]]] = {
    # a composite key, a created timestamp, features listed in meta (another order)
    "zz_pair_activity": (
        {
            "entity": "customer_merchant",
            "timestamp": "activity_at",
            "created_timestamp": "ingested_at",
            "features": ["visits", "amount"],
        },
        [
            ("customer_id", "bigint"),
            ("merchant_id", "bigint"),
            ("activity_at", "timestamp"),
            ("ingested_at", "timestamp"),
            ("amount", "double"),
            ("visits", "bigint"),
        ],
    ),
    # a composite key without a created timestamp
    "zz_pair_flags": (
        {"entity": "customer_merchant", "timestamp": "flagged_at"},
        [
            ("customer_id", "bigint"),
            ("merchant_id", "bigint"),
            ("flagged_at", "timestamp"),
            ("blocked", "boolean"),
        ],
    ),
    # scd2 with its own valid_to column, no created timestamp
    "zz_customer_segment": (
        {"entity": "customer", "timestamp": "starts_at", "kind": "scd2", "valid_to": "ends_at"},
        [
            ("customer_id", "bigint"),
            ("starts_at", "timestamp"),
            ("ends_at", "timestamp"),
            ("segment", "varchar"),
        ],
    ),
}


def _tiebreak_call(names: list[str]) -> str:
    """The Jinja materialize compiles (`pitstop.online.materialize._tiebreaks`)."""
    return "{{ pitstop._pit_tiebreak_json(" + jinja_literal(names) + ") }}"


def _add_view(root: Path, name: str, meta: dict[str, Any], columns: list[tuple[str, str]]) -> None:
    folder = root / "models" / "features" / "zz_render"
    folder.mkdir(parents=True, exist_ok=True)
    select = ",\n    ".join(f"cast(null as {dtype}) as {column}" for column, dtype in columns)
    (folder / f"{name}.sql").write_text(f"select\n    {select}\n")
    model = {
        "name": name,
        "description": "A view added by tests/test_render_materialize.py.",
        "config": {"meta": {"pitstop": {**meta, "online": True, "owner": "tests"}}},
        "columns": [
            {"name": column, "description": column, "data_type": dtype} for column, dtype in columns
        ],
    }
    # JSON is YAML
    (folder / f"{name}.yml").write_text(json.dumps({"version": 2, "models": [model]}, indent=2))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """A parsed copy of the demo project with `EXTRA_VIEWS` added."""
    root = copy_project(tmp_path_factory.mktemp("render_materialize") / "project")
    for name, (meta, columns) in EXTRA_VIEWS.items():
        _add_view(root, name, meta, columns)
    with isolated(root):
        project = Project(root)
        project.run_dbt(["parse", "--log-level", "none"])
        yield project


@pytest.fixture(scope="module")
def registry(project: Project) -> Registry:
    return Registry.load(project)


def _assert_same(project: Project, names: list[str]) -> None:
    """The renderer gives dbt's SQL for the tie order of ``names``, byte for byte
    (it must not give up: every name here is a feature view, dbt compiles it)."""
    inline = _tiebreak_call(names)
    try:
        fast = render.render_inline(project, inline)
    except render.GiveUp as exc:
        raise AssertionError(f"the renderer gave up on {inline}: {exc}") from exc
    expected = compile_inline(project, inline)
    assert fast == expected, inline
    assert list(json.loads(fast)) == names


def test_the_views_cover_every_shape(registry: Registry) -> None:
    """The comparisons below see each shape of the tie order's input."""
    views = registry.views.values()
    assert {"zz_pair_activity", "zz_pair_flags", "zz_customer_segment"} <= set(registry.views)
    assert any(v.created_timestamp for v in views)
    assert any(not v.created_timestamp for v in views)
    assert {v.kind for v in views if v.valid_to} == {"scd2", "snapshot"}
    assert any(v.valid_to not in (None, "valid_to", "dbt_valid_to") for v in views)
    assert any(len(v.entity.keys) > 1 for v in views)


def test_every_view_renders_as_dbt_compiles(project: Project, registry: Registry) -> None:
    """All views in one call, as materialize makes it, and each view alone."""
    names = sorted(registry.views)
    _assert_same(project, names)
    for name in names:
        _assert_same(project, [name])


@given(data=st.data())
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_views_in_any_order_render_as_dbt_compiles(
    project: Project, registry: Registry, data: st.DataObject
) -> None:
    views = sorted(registry.views)
    _assert_same(project, data.draw(st.lists(st.sampled_from(views), min_size=1, unique=True)))


def test_the_tie_order_renders_as_a_full_dbt_compile(project: Project, registry: Registry) -> None:
    """Against a whole ``dbt compile --inline`` too (parse, compile, write
    manifest.json), not only against the compile over the kept manifest."""
    inline = _tiebreak_call(sorted(registry.views))
    assert render.render_inline(project, inline) == compile_inline(
        project, inline, reuse_manifest=False
    )


def test_a_name_that_is_not_a_view_gives_dbts_error(project: Project) -> None:
    """The macro's compile error: the renderer gives up and dbt words it."""
    inline = _tiebreak_call(["customer_profile", "stg_payments__transactions"])
    with pytest.raises(render.GiveUp):
        render.render_inline(project, inline)
    with pytest.raises(DbtError, match="not a feature view"):
        compile_inline(project, inline)


def test_a_diverging_tie_order_is_caught(
    project: Project, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``default__`` searched before ``duckdb__`` hashes with md5 of text
    instead of DuckDB's hash(): the comparison must see it."""
    names = sorted(registry.views)
    _assert_same(project, names)
    monkeypatch.setattr(render, "_PREFIXES", ("default", "duckdb"))
    render._LOADED.clear()  # a new context, with the mutated dispatch
    with pytest.raises(AssertionError):
        _assert_same(project, names)
    monkeypatch.undo()
    render._LOADED.clear()


# --- Pitstop installed as a dbt package --------------------------------------------

PACKAGE_PROJECT = "shop"


def _as_package_user(root: Path) -> None:
    """Turn the project at ``root`` into a user's project named `PACKAGE_PROJECT`
    that installs Pitstop as its dbt package (README, "Adopting Pitstop in an
    existing dbt project"), and parse it."""
    if (root / "macros").is_symlink():
        (root / "macros").unlink()
    config = (root / "dbt_project.yml").read_text()
    (root / "dbt_project.yml").write_text(
        config.replace("name: pitstop", f"name: {PACKAGE_PROJECT}")
    )
    (root / "packages.yml").write_text(f"packages:\n  - local: {ROOT}\n")
    project = Project(root)
    project.run_dbt(["deps"])
    project.run_dbt(["parse", "--log-level", "none"])


@pytest.fixture(scope="module")
def package_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """A user's project with `EXTRA_VIEWS` as its feature views and Pitstop as its
    package: the layout the renderer serves besides Pitstop's own."""
    root = tmp_path_factory.mktemp("render_package") / "project"
    (root / "models").mkdir(parents=True)
    (root / "dbt_project.yml").write_text(
        "name: pitstop\nversion: '1.0.0'\nconfig-version: 2\nprofile: pitstop\n"
        "model-paths: [models]\nvars:\n  pitstop_entities:\n"
        "    customer: {keys: [{name: customer_id, type: bigint}]}\n"
        "    customer_merchant:\n"
        "      keys: [{name: customer_id, type: bigint}, {name: merchant_id, type: bigint}]\n"
    )
    (root / "profiles.yml").write_text(
        "pitstop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        "      path: \"{{ env_var('PITSTOP_DUCKDB_PATH') }}\"\n"
    )
    for name, (meta, columns) in EXTRA_VIEWS.items():
        _add_view(root, name, meta, columns)
    with isolated(root), pytest.MonkeyPatch.context() as patch:
        patch.setenv("DBT_PROFILES_DIR", str(root))
        _as_package_user(root)
        yield Project(root)


def test_a_package_user_renders_as_dbt_compiles(package_project: Project) -> None:
    """The tie order of every view, alone and together, in a project that
    installs Pitstop as a package."""
    registry = Registry.load(package_project)
    assert package_project.name == PACKAGE_PROJECT
    names = sorted(registry.views)
    assert names == sorted(EXTRA_VIEWS)
    _assert_same(package_project, names)
    for name in names:
        _assert_same(package_project, [name])


@given(data=st.data())
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_a_package_users_training_set_renders_as_dbt_compiles(
    package_project: Project, data: st.DataObject
) -> None:
    """point_in_time_join and feature_history calls as training_set and
    history write them, in the package layout (test_render.py's shapes)."""
    registry = Registry.load(package_project)
    calls = pit_calls(registry) if data.draw(st.booleans()) else history_calls(registry)
    inline = data.draw(calls)
    fast = render.render_inline(package_project, inline)
    assert fast == compile_inline(package_project, inline), inline


def test_another_package_gives_up(package_project: Project) -> None:
    """Only Pitstop's macros are held to dbt: any other package gives up."""
    root = package_project.root
    other = root / "other_package"
    (other / "macros").mkdir(parents=True, exist_ok=True)
    (other / "dbt_project.yml").write_text("name: other\nversion: '1.0.0'\nconfig-version: 2\n")
    (other / "macros" / "m.sql").write_text("{% macro other_macro() %}1{% endmacro %}\n")
    packages = (root / "packages.yml").read_text()
    try:
        (root / "packages.yml").write_text(packages + f"  - local: {other}\n")
        package_project.run_dbt(["deps"])
        package_project.run_dbt(["parse", "--log-level", "none"])
        with pytest.raises(render.GiveUp, match="other than pitstop"):
            render.render_inline(package_project, _tiebreak_call(sorted(EXTRA_VIEWS)))
    finally:
        (root / "packages.yml").write_text(packages)
        package_project.run_dbt(["deps"])
        package_project.run_dbt(["parse", "--log-level", "none"])
    assert render.render_inline(package_project, _tiebreak_call(sorted(EXTRA_VIEWS)))


# --- end to end: materialize in fresh processes -----------------------------------

AS_OF = "2025-06-01T00:00:00"
# the online test project's online views (tests/_online_project.py)
ONLINE_VIEWS = sorted(name for name, spec in VIEWS.items() if spec[4])
TIED = 4  # rows per entity at one (timestamp, created timestamp)
ENTITIES = 40

# materialize in a new process; prints the dbt modules it imported. A second
# argument "mutate" swaps the renderer's dispatch prefixes first.
MATERIALIZE = """
import json, sys
from datetime import datetime
if sys.argv[2] == "mutate":
    from pitstop.offline import render
    render._PREFIXES = ("default", "duckdb")
from pitstop import FeatureStore
FeatureStore(sys.argv[1]).materialize(
    as_of=datetime.fromisoformat(sys.argv[3]), full_refresh=True
)
print(json.dumps(sorted(m for m in sys.modules if m == "dbt" or m.startswith("dbt."))))
"""


@pytest.fixture(params=["pitstop", "package"])
def online_copy(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The online test project, as Pitstop's own project or as a user's that
    installs Pitstop as a package, parsed for its own DuckDB file (so the renderer
    may serve it), with tied rows in every shape: a created timestamp, none, a
    composite key, an scd2 view whose tied rows differ in valid_to. Tied rows
    differ per entity too, so that each entity is one more draw of the order."""
    root = tmp_path / "project"
    db = root / "offline.duckdb"
    monkeypatch.setenv("DBT_PROFILES_DIR", str(root))
    monkeypatch.setenv("PITSTOP_DUCKDB_PATH", str(db))
    for name in ("DBT_TARGET_PATH", "DBT_TARGET", "PITSTOP_PROJECT_DIR", "PITSTOP_ONLINE_STORE"):
        monkeypatch.delenv(name, raising=False)
    build_project(root)
    if request.param == "package":
        _as_package_user(root)
    at, created = t("2025-05-30 12:00"), t("2025-05-30 13:00")
    rows = range(1, ENTITIES + 1)
    for view in ONLINE_VIEWS:
        write_view(db, view, [])
    write_view(
        db,
        "customer_v",
        [{"customer_id": c, "feature_at": at, "ingested_at": created, "version": c * 10 + v,
          "tag": f"t{c}.{v}"}
         for c in rows for v in range(TIED)],
    )  # fmt: skip
    write_view(
        db,
        "merchant_v",
        [
            {"merchant_id": m, "feature_at": at, "version": m * 10 + v}
            for m in rows
            for v in range(TIED)
        ],
    )
    write_view(
        db,
        "pair_v",
        [{"customer_id": c, "merchant_id": c % 7, "feature_at": at, "version": c * 10 + v}
         for c in rows for v in range(TIED)],
    )  # fmt: skip
    write_view(
        db,
        "customer_scd2",
        [{"customer_id": c, "valid_from": at,
          "valid_to": None if v == 0 else at + timedelta(days=v), "tier": f"t{c}.{v}"}
         for c in rows for v in range(TIED)],
    )  # fmt: skip
    return root


def _materialize(root: Path, store: Path, *, mutate: bool = False, dbt: bool = False) -> list[str]:
    """`MATERIALIZE` in a fresh process into the SQLite file ``store``; the dbt
    modules it imported. ``dbt=True`` makes the renderer give up (DBT_TARGET is
    set, to the profile's own target), so the tie order comes from dbt."""
    env = dict(os.environ, PITSTOP_ONLINE_STORE=f"sqlite:{store}")
    if dbt:
        env["DBT_TARGET"] = "dev"
    done = subprocess.run(
        [sys.executable, "-c", MATERIALIZE, str(root), "mutate" if mutate else "-", AS_OF],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    modules: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return modules


def _content(store: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored row of every view table (the metadata aside)."""
    con = sqlite3.connect(store)
    try:
        tables = [
            name
            for (name,) in con.execute("select name from sqlite_master where type = 'table'")
            if name.startswith("view__")
        ]
        return {name: sorted(con.execute(f'select * from "{name}"').fetchall()) for name in tables}
    finally:
        con.close()


def _touch_model_yaml(project: Project, description: str) -> None:
    """A project change (a model's description) and the parse that rewrites the manifest."""
    yml = project.root / "models" / "customer_v.yml"
    text = re.sub(r"(?m)^(    description: ).*$", rf"\g<1>{description}", yml.read_text(), count=1)
    assert description in text
    yml.write_text(text)
    project.run_dbt(["parse", "--log-level", "none"])
    assert not project.manifest_is_stale()


def test_materialize_after_a_manifest_change_does_not_import_dbt(
    online_copy: Path, tmp_path: Path
) -> None:
    project = Project(online_copy)
    cache = project.target_path / compile_module.CACHE_FILE
    # the reference: the tie order compiled by dbt (the renderer gives up)
    assert "dbt" in _materialize(online_copy, tmp_path / "dbt.sqlite", dbt=True)
    reference = _content(tmp_path / "dbt.sqlite")
    assert {len(rows) for rows in reference.values()} == {0, ENTITIES}
    before = compile_module._read_cache(cache)["manifest"]["fingerprint"]

    _touch_model_yaml(project, "changed once")
    assert _materialize(online_copy, tmp_path / "rendered.sqlite") == []
    assert _content(tmp_path / "rendered.sqlite") == reference
    # the renderer's SQL went to the cache, for the new manifest content, and is dbt's
    cached = compile_module._read_cache(cache)
    assert cached["manifest"]["fingerprint"] != before
    inline = _tiebreak_call(sorted(ONLINE_VIEWS))
    (entry,) = [e["sql"] for e in cached["entries"].values()]
    assert entry == compile_inline(project, inline)

    # a diverging renderer stores other winners: the comparison above can fail
    _touch_model_yaml(project, "changed twice")
    assert _materialize(online_copy, tmp_path / "mutated.sqlite", mutate=True) == []
    mutated = _content(tmp_path / "mutated.sqlite")
    for view in ("customer_v", "merchant_v", "pair_v", "customer_scd2"):
        assert mutated[f"view__{view}"] != reference[f"view__{view}"], view
