"""The fast compile path of training sets (issue 13, target 6).

`compile_inline` compiles against the dbt manifest parsed once in the process
(`parsed_manifest`) instead of running a whole ``dbt compile --inline``. These
tests hold it to the full dbt invocation: the same SQL character for
character and the same rows, for several shapes of the point-in-time join; a
project edited after the parse is parsed again; a compile error neither
poisons the kept manifest nor is hidden; the background warm-up leaves a
parsed manifest behind, or, where the dbt-free renderer serves the project
(tests/test_render.py holds it to dbt's compile), renders without parsing.
No timing is asserted (bench/bench_training_compile.py measures the latency).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from conftest import built_copy

from pitstop.errors import DbtError
from pitstop.offline import compile as compile_module
from pitstop.offline import render
from pitstop.offline.compile import compile_inline, parsed_manifest, session
from pitstop.offline.training import SPINE_NAME, point_in_time_call
from pitstop.store import FeatureStore

SERVICE = "fraud_training_set"

# shapes that take different branches of the macro
SHAPES: list[tuple[list[str], dict[str, Any]]] = [
    (["customer_profile", "merchant_daily_stats"], {}),
    (["customer_profile:tier", "merchant_daily_stats:amount_sum_1d"], {"naming": "short"}),
    (["customer_profile"], {"exclude_late_rows": False, "ttl": {"customer_profile": "30d"}}),
    (
        ["customer_profile", "customer_transaction_windows", "merchant_risk_snapshot"],
        {"impl": "default"},
    ),
    (["customer_profile:tier"], {"key_map": {"customer_profile": {"customer_id": "cust"}}}),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the project, built (dbt build) into its own DuckDB file."""
    with built_copy(tmp_path_factory.mktemp("training_compile") / "project") as root:
        yield root


@pytest.fixture(scope="module")
def store(built: Path) -> FeatureStore:
    return FeatureStore(built, warm=False)


def _spine() -> pa.Table:
    frame = pd.DataFrame(
        {
            "customer_id": [3, None, 7, 7, 12, 40],
            "cust": [3, None, 7, 7, 12, 40],
            "merchant_id": [5, 5, 9, 9, 1, 2],
            "at": pd.to_datetime(
                [
                    "2025-04-01 00:00",
                    "2025-04-01 00:00",
                    "2025-05-02 10:00",
                    "2025-05-02 10:00",
                    None,
                    "2025-06-30 23:59",
                ]
            ),
        }
    )
    return pa.Table.from_pandas(frame, preserve_index=False)


def _rows(store: FeatureStore, sql: str, spine: pa.Table) -> pa.Table:
    with session(store.project) as con:
        con.register(SPINE_NAME, spine)
        return con.sql(sql).to_arrow_table()


@pytest.mark.parametrize(("refs", "options"), SHAPES)
def test_fast_path_equals_a_full_dbt_compile(
    store: FeatureStore, refs: list[str], options: dict[str, Any]
) -> None:
    spine = _spine()
    inline = point_in_time_call(
        refs, spine_timestamp="at", spine_columns=spine.column_names, **options
    )
    fast = compile_inline(store.project, inline)
    full = compile_inline(store.project, inline, reuse_manifest=False)
    assert fast == full
    assert "asof" in fast.lower() or options.get("impl") == "default"
    expected = _rows(store, full, spine)
    assert expected.num_rows == spine.num_rows
    # and the public call, which takes the fast path through the compile cache
    result = store.training_set(
        spine, features=refs, spine_timestamp="at", output="arrow", **options
    )
    assert isinstance(result, pa.Table)
    assert result.equals(expected)


def test_the_service_training_set_matches_the_full_compile(store: FeatureStore) -> None:
    spine = _spine()
    refs = list(store.registry.service(SERVICE).features)
    inline = point_in_time_call(refs, spine_timestamp="at", spine_columns=spine.column_names)
    assert compile_inline(store.project, inline) == compile_inline(
        store.project, inline, reuse_manifest=False
    )


def test_a_project_edited_after_the_parse_is_parsed_again(store: FeatureStore, built: Path) -> None:
    """The kept manifest describes the project as it was: after an edit the
    fast path must render the new macro, exactly as a full compile does."""
    macro = built / "macros" / "zz_compile_probe.sql"
    inline = "{{ pitstop.zz_compile_probe() }}"
    try:
        macro.write_text("{% macro zz_compile_probe() %}select 1 as probe{% endmacro %}\n")
        _edited(built)
        assert compile_inline(store.project, inline).strip() == "select 1 as probe"
        kept = parsed_manifest(store.project)
        assert parsed_manifest(store.project) is kept  # unchanged project: reused
        macro.write_text("{% macro zz_compile_probe() %}select 2 as probe{% endmacro %}\n")
        _edited(built)
        assert compile_inline(store.project, inline).strip() == "select 2 as probe"
        assert parsed_manifest(store.project) is not kept
        assert compile_inline(store.project, inline, reuse_manifest=False).strip() == (
            "select 2 as probe"
        )
    finally:
        macro.unlink(missing_ok=True)
        _edited(built)


def test_a_compile_error_is_raised_and_the_kept_manifest_still_works(
    store: FeatureStore,
) -> None:
    spine = _spine()
    kept = parsed_manifest(store.project)
    bad = point_in_time_call(
        ["customer_profile"], spine_timestamp="at", ttl={"merchant_daily_stats": "1d"}
    )
    with pytest.raises(DbtError, match="point_in_time_join: ttl"):
        compile_inline(store.project, bad)
    assert parsed_manifest(store.project) is kept
    assert not [uid for uid in kept.nodes if uid.startswith("sql_operation.")]
    good = point_in_time_call(
        ["customer_profile"], spine_timestamp="at", spine_columns=spine.column_names
    )
    assert compile_inline(store.project, good) == compile_inline(
        store.project, good, reuse_manifest=False
    )


def _warm(built: Path) -> FeatureStore:
    store = FeatureStore(built, warm=True)
    warmers = [t for t in threading.enumerate() if t.name == "pitstop-dbt-warm"]
    assert warmers
    for thread in warmers:
        thread.join(timeout=300)
    return store


def test_warm_up_renders_without_parsing(built: Path) -> None:
    """When the dbt-free renderer serves the project, the warm-up loads the
    manifest and compiles the join's templates with it, and dbt parses nothing."""
    compile_module._PARSED.clear()
    render._LOADED.clear()
    store = _warm(built)
    assert compile_module._parse_key(store.project) not in compile_module._PARSED
    assert str(store.project.manifest_path) in render._LOADED
    spine = _spine()
    result = store.training_set(
        spine, features=["customer_profile"], spine_timestamp="at", ttl={"customer_profile": "8d"}
    )
    assert isinstance(result, pd.DataFrame) and len(result) == spine.num_rows
    assert compile_module._parse_key(store.project) not in compile_module._PARSED


def test_warm_up_parses_in_the_background(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the renderer gives up, the warm-up imports dbt and parses instead."""

    def give_up(*args: Any) -> str:
        raise render.GiveUp("disabled by the test")

    monkeypatch.setattr(render, "render_inline", give_up)
    compile_module._PARSED.clear()
    store = _warm(built)
    assert compile_module._parse_key(store.project) in compile_module._PARSED
    kept = parsed_manifest(store.project)
    spine = _spine()
    result = store.training_set(
        spine, features=["customer_profile"], spine_timestamp="at", ttl={"customer_profile": "9d"}
    )
    assert isinstance(result, pd.DataFrame) and len(result) == spine.num_rows
    assert parsed_manifest(store.project) is kept
    # not interactive (pytest): no warm-up unless asked for
    compile_module._PARSED.clear()
    FeatureStore(built)
    assert not [t for t in threading.enumerate() if t.name == "pitstop-dbt-warm"]


def _edited(root: Path) -> None:
    """Make the manifest older than the files just written, as after an edit
    (within one clock tick of the file system the two could be equal)."""
    manifest = root / "target" / "manifest.json"
    earlier = time.time() - 60
    os.utime(manifest, (earlier, earlier))
