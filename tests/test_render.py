"""The dbt-free renderer of the temporal macros (`pitstop.offline.render`, issue 13.6).

It is a second renderer of the same Jinja, never a second implementation: for
every call shape it must give exactly dbt's SQL (byte for byte, no
normalisation: dbt does not post-process an inline compile) or give up, and
it may only give up on this project where dbt fails (a compile error, which
then reaches the user as dbt words it). Shapes are drawn by hypothesis over the
registry: feature subsets, per-item and per-call key maps and TTLs,
exclude_late_rows, naming, impl, spine columns; plus feature_history's
options. A mutated renderer (dispatch prefixes swapped) must be caught, so the
comparison can fail. No timing is asserted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import copy_project, isolated
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pitstop.errors import DbtError
from pitstop.offline import compile as compile_module
from pitstop.offline import render
from pitstop.offline.compile import compile_inline, compile_macro, macro_call
from pitstop.offline.history import KEYS_NAME
from pitstop.offline.training import point_in_time_call
from pitstop.project import Project
from pitstop.registry import Registry

SPINE_TS = "feature_at"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """A parsed copy of the project (compiling needs no built database)."""
    root = copy_project(tmp_path_factory.mktemp("render") / "project")
    with isolated(root):
        project = Project(root)
        project.run_dbt(["parse", "--log-level", "none"])
        yield project


@pytest.fixture(scope="module")
def registry(project: Project) -> Registry:
    return Registry.load(project)


def _dbt(project: Project, inline: str) -> str | DbtError:
    """dbt's compile of ``inline``, or its error."""
    try:
        return compile_inline(project, inline)
    except DbtError as exc:
        return exc


def _fast(project: Project, inline: str) -> str | None:
    try:
        return render.render_inline(project, inline)
    except render.GiveUp:
        return None


def _assert_same(project: Project, inline: str) -> None:
    """The renderer gives dbt's SQL exactly, or gives up where dbt fails."""
    fast = _fast(project, inline)
    expected = _dbt(project, inline)
    if fast is None:
        assert isinstance(expected, DbtError), f"the renderer gave up on {inline}"
    else:
        assert fast == expected, inline


def _ttl() -> st.SearchStrategy[str | None]:
    return st.one_of(
        st.none(), st.sampled_from(["30d", "12h", "1d12h", "90m", " 2W ", "none", "45s"])
    )


@st.composite
def pit_calls(draw: st.DrawFn, registry: Registry) -> str:
    """One call of point_in_time_join, as training_set writes it."""
    views = sorted(registry.views)
    chosen = draw(st.lists(st.sampled_from(views), min_size=1, max_size=3, unique=True))
    items: list[Any] = []
    key_map: dict[str, dict[str, str]] = {}
    ttl: dict[str, str | None] = {}
    spine_columns: list[str] = []
    for name in chosen:
        view = registry.views[name]
        features = [f.name for f in view.features]
        subset = draw(st.one_of(st.none(), st.lists(st.sampled_from(features), max_size=3)))
        if subset:
            items.extend(f"{name}:{f}" for f in subset)
        else:
            items.append(name)
        for key in view.entity.keys:
            column = key.name
            if draw(st.booleans()):
                column = f"{name}_{key.name}"
                key_map.setdefault(name, {})[key.name] = column
            if column not in spine_columns:
                spine_columns.append(column)
        if draw(st.booleans()):
            ttl[name] = draw(_ttl())
    spine_columns.append(SPINE_TS)
    spine_columns += draw(st.lists(st.sampled_from(["label", "tier", "amount_sum_1d"]), max_size=2))
    return point_in_time_call(
        items,
        spine_timestamp=SPINE_TS,
        spine_columns=list(dict.fromkeys(spine_columns)),
        key_map=key_map or None,
        ttl=ttl or None,
        exclude_late_rows=draw(st.booleans()),
        naming=draw(st.sampled_from(["prefixed", "short"])),
        impl=draw(st.sampled_from([None, "default"])),
    )


@given(data=st.data())
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_point_in_time_join_renders_as_dbt_compiles(
    project: Project, registry: Registry, data: st.DataObject
) -> None:
    _assert_same(project, data.draw(pit_calls(registry)))


@st.composite
def history_calls(draw: st.DrawFn, registry: Registry) -> str:
    """One call of feature_history, as pitstop.offline.history writes it."""
    view = registry.views[draw(st.sampled_from(sorted(registry.views)))]
    features = [f.name for f in view.features]
    args = {
        "view": view.name,
        "entities": draw(st.sampled_from([None, KEYS_NAME])),
        "start": draw(st.sampled_from([None, "cast($start as timestamp)"])),
        "end": draw(st.sampled_from([None, "cast(:end as timestamp)"])),
        "features": draw(
            st.one_of(st.none(), st.lists(st.sampled_from(features), min_size=1, max_size=3))
        ),
    }
    return macro_call("feature_history", args)


@given(data=st.data())
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_feature_history_renders_as_dbt_compiles(
    project: Project, registry: Registry, data: st.DataObject
) -> None:
    _assert_same(project, data.draw(history_calls(registry)))


def test_the_service_renders_as_a_full_dbt_compile(project: Project, registry: Registry) -> None:
    """Against a whole ``dbt compile --inline`` too (parse, compile, write
    manifest.json), not only against the compile over the kept manifest."""
    refs = list(registry.service("fraud_training_set").features)
    inline = point_in_time_call(
        refs, spine_timestamp=SPINE_TS, spine_columns=["customer_id", "merchant_id", SPINE_TS]
    )
    assert render.render_inline(project, inline) == compile_inline(
        project, inline, reuse_manifest=False
    )


# bad arguments: the renderer gives up and dbt's own error reaches the caller
BAD_CALLS = [
    {"features": ["customer_profile:nope"]},
    {"features": ["customer_profile"], "naming": "short", "spine_columns": ["tier", SPINE_TS]},
    {"features": ["customer_profile"], "ttl": {"customer_profile": "7"}},
    {"features": ["customer_profile"], "ttl": {"merchant_daily_stats": "1d"}},
    {"features": ["customer_profile"], "key_map": {"customer_profile": {"nope": "x"}}},
    {"features": ["customer_profile"], "impl": "fancy"},
    {"features": ["customer_profile"], "spine_timestamp": ""},
]


@pytest.mark.parametrize("args", BAD_CALLS)
def test_bad_arguments_raise_dbts_error(project: Project, args: dict[str, Any]) -> None:
    call = {"spine": "pitstop_spine", "spine_timestamp": SPINE_TS, **args}
    inline = macro_call("point_in_time_join", call)
    assert _fast(project, inline) is None
    expected = _dbt(project, inline)
    assert isinstance(expected, DbtError)
    with pytest.raises(DbtError) as raised:
        compile_macro(project, "point_in_time_join", call)
    assert str(raised.value) == str(expected)
    assert "Compilation Error" in str(expected)


def test_a_ref_the_parse_did_not_see_fails_in_both(project: Project) -> None:
    """dbt refuses a ref made only at compile time (it was not recorded as a
    dependency when parsing): the renderer must not give SQL there."""
    inline = "{% if execute %}select * from {{ ref('customer_profile') }}{% endif %}"
    assert _fast(project, inline) is None
    assert isinstance(_dbt(project, inline), DbtError)
    _assert_same(project, "select * from {{ ref('customer_profile') }}")


def test_a_diverging_renderer_is_caught(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dispatch searching ``default__`` before ``duckdb__`` renders other SQL
    (dbt.dateadd's default form for a TTL): the comparison must see it."""
    inline = point_in_time_call(
        ["customer_profile"],
        spine_timestamp=SPINE_TS,
        spine_columns=["customer_id", SPINE_TS],
        ttl={"customer_profile": "30d"},
    )
    _assert_same(project, inline)
    monkeypatch.setattr(render, "_PREFIXES", ("default", "duckdb"))
    render._LOADED.clear()  # a new context, with the mutated dispatch
    with pytest.raises(AssertionError):
        _assert_same(project, inline)
    monkeypatch.undo()
    render._LOADED.clear()


def test_context_members_are_dbts() -> None:
    """The renderer knows every member of dbt's model context, so a template
    reading one it does not reproduce gives up instead of reading Undefined."""
    from dbt.context.providers import ModelContext

    assert set(ModelContext._context_members_) <= render.DBT_CONTEXT_MEMBERS


@pytest.mark.parametrize(
    "jinja",
    [
        "{{ target.name }}",
        "{{ env_var('HOME') }}",
        "{{ source('raw', 'x') }}",
        "{{ adapter.get_columns_in_relation(ref('customer_profile')) }}",
        "{{ ref('customer_profile').include() }}",
        "{{ modules.datetime }}",
        "{{ ref('pitstop', 'customer_profile') }}",
        "{{ var('not_a_var') }}",
        "{{ adapter.dispatch('nope', 'pitstop')() }}",
        "{{ graph.sources }}",
        "{{ graph.nodes['model.pitstop.customer_profile'].not_in_the_artifact }}",
        "{{ exceptions.warn('x') }}",
    ],
)
def test_what_is_not_reproduced_gives_up(project: Project, jinja: str) -> None:
    with pytest.raises(render.GiveUp):
        render.render_inline(project, jinja)


def test_a_manifest_for_another_target_is_not_used(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The manifest's relations name the DuckDB file it was parsed for: with
    another file (or DBT_TARGET, or a stale manifest) the renderer gives up."""
    inline = point_in_time_call(["customer_profile"], spine_timestamp=SPINE_TS)
    assert render.render_inline(project, inline)
    monkeypatch.setenv("PITSTOP_DUCKDB_PATH", str(project.root / "other.duckdb"))
    with pytest.raises(render.GiveUp, match="relations"):
        render.render_inline(project, inline)
    monkeypatch.undo()
    monkeypatch.setenv("DBT_TARGET", "ci")
    with pytest.raises(render.GiveUp, match="DBT_TARGET"):
        render.render_inline(project, inline)
    monkeypatch.undo()
    model = project.root / "models" / "features" / "customer" / "customer_profile.sql"
    before = model.stat()
    later = time.time() + 5
    os.utime(model, (later, later))
    try:
        with pytest.raises(render.GiveUp, match="stale"):
            render.render_inline(project, inline)
    finally:
        os.utime(model, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert render.render_inline(project, inline)


@pytest.mark.parametrize(
    "jinja", ["{{ env_var('PITSTOP_RENDER_PROBE', 'a') }}", "{{ target.name }}"]
)
def test_a_manifest_that_froze_the_environment_is_not_used(project: Project, jinja: str) -> None:
    """A model whose parse depends on an environment variable or the target's
    name: dbt would render it anew, the manifest holds the old value."""
    model = project.root / "models" / "zz_render_probe.sql"
    inline = point_in_time_call(["customer_profile"], spine_timestamp=SPINE_TS)
    try:
        model.write_text(f"select '{jinja}' as probe\n")
        project.run_dbt(["parse", "--log-level", "none"])
        with pytest.raises(render.GiveUp, match="parse time"):
            render.render_inline(project, inline)
    finally:
        model.unlink(missing_ok=True)
        project.run_dbt(["parse", "--log-level", "none"])
    assert render.render_inline(project, inline)


def test_a_new_shape_in_a_new_process_does_not_import_dbt(project: Project) -> None:
    """The fresh-process path of target 6: compile_macro renders a shape no
    cache has seen without importing dbt, and gives dbt's SQL."""
    call = {
        "spine": "pitstop_spine",
        "spine_timestamp": SPINE_TS,
        "features": ["customer_profile", "merchant_daily_stats:amount_sum_1d"],
        "spine_columns": ["customer_id", "merchant_id", SPINE_TS, "fresh_process_column"],
    }
    code = (
        "import sys, json; from pathlib import Path\n"
        "from pitstop.project import Project\n"
        "from pitstop.offline.compile import compile_macro\n"
        f"sql = compile_macro(Project(Path({str(project.root)!r})), 'point_in_time_join', "
        "json.loads(sys.argv[1]))\n"
        "print(json.dumps({'sql': sql, 'dbt': sorted(m for m in sys.modules "
        "if m == 'dbt' or m.startswith('dbt.'))}))\n"
    )
    import json

    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(call)],
        check=True,
        capture_output=True,
        text=True,
        env=dict(os.environ),
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["dbt"] == []
    assert result["sql"] == compile_inline(project, macro_call("point_in_time_join", call))
    # and the shape is in the disk cache for the next process
    cached = compile_module._read_cache(project.target_path / compile_module.CACHE_FILE)
    assert any(entry["sql"] == result["sql"] for entry in cached["entries"].values())


def test_importing_pitstop_offline_does_not_import_jinja() -> None:
    code = "import sys, pitstop.offline; print('jinja2' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert done.stdout.strip() == "False"
