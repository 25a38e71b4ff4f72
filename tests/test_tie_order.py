"""One tie order for every entry point (README, "Tied rows").

Rows of a view that share the entity key, the feature timestamp and the created
timestamp (or have none) are fully tied. The point-in-time join, `materialize`
followed by an online lookup, and `feature_history` must all pick the same one:
the greatest by (timestamp, created timestamp with NULL oldest, the
``pitstop._pit_tiebreak`` hash of ALL the view's features and valid_to).

The property test runs on the online-store test project (tests/_online_project.py):
random rows on a coarse day grid, so that full ties, rows without a created
timestamp, exact duplicates, NULL features, late rows and TTL edges are all
frequent; it then compares, entity by entity at several times t (many of them
exactly a tied timestamp), the training set, the online store after
``materialize(as_of=t)`` (incrementally, time after time, then from scratch)
and the ``feature_history`` interval containing t (all features and single
features). dbt compiles each shape once; the examples only swap data.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _online_project import VIEWS, t, write_view
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pitstop import FeatureStore
from pitstop.offline import compile as compile_module
from pitstop.offline import render
from pitstop.project import Project

BASE = datetime(2025, 3, 1)
CUSTOMERS = (0, 1, 2)
MERCHANTS = (0, 1)

# the views under test (all of _online_project's kinds: created timestamp or
# not, TTL or not, composite key, scd2) and the features history is also
# asked for one by one (a subset must not change the winner)
TIE_VIEWS = ("customer_v", "merchant_v", "pair_v", "customer_scd2", "typed_features")
SUBSETS: dict[str, list[list[str] | None]] = {
    "customer_v": [None, ["tag"]],
    "merchant_v": [None],
    "pair_v": [None],
    "customer_scd2": [None],
    "typed_features": [None, ["f_text"]],
}


def _day(d: float) -> datetime:
    return BASE + timedelta(days=d)


# -- data -------------------------------------------------------------------------------

_DAYS = st.integers(0, 5)
_SMALL = st.one_of(st.none(), st.integers(0, 3))
_TEXT = st.one_of(st.none(), st.sampled_from(["a", "b"]))


def _base_row(view: str) -> st.SearchStrategy[dict[str, Any]]:
    """One row of ``view``: timestamps as day offsets, features from tiny domains."""
    if view == "customer_v":
        return st.fixed_dictionaries(
            {
                "customer_id": st.sampled_from(CUSTOMERS),
                "feature_at": _DAYS,
                # late (after t), early (before the feature timestamp), equal, or none
                "ingested_at": st.one_of(st.none(), st.sampled_from([-1, 0, 0, 1, 3])),
                "version": _SMALL,
                "tag": _TEXT,
            }
        )
    if view == "merchant_v":  # TTL 7d, no created timestamp
        return st.fixed_dictionaries(
            {
                "merchant_id": st.sampled_from(MERCHANTS),
                "feature_at": st.integers(0, 9),
                "version": _SMALL,
            }
        )
    if view == "pair_v":
        return st.fixed_dictionaries(
            {
                "customer_id": st.sampled_from(CUSTOMERS),
                "merchant_id": st.sampled_from(MERCHANTS),
                "feature_at": _DAYS,
                "version": _SMALL,
            }
        )
    if view == "customer_scd2":
        return st.fixed_dictionaries(
            {
                "customer_id": st.sampled_from(CUSTOMERS),
                "valid_from": _DAYS,
                # open, empty, or 1-4 days; overlaps with other rows are allowed
                "valid_to": st.one_of(st.none(), st.integers(0, 4)),
                "tier": _TEXT,
            }
        )
    assert view == "typed_features"  # TTL 1d, created timestamp, many types
    return st.fixed_dictionaries(
        {
            "customer_id": st.sampled_from(CUSTOMERS),
            "feature_at": _DAYS,
            "ingested_at": st.one_of(st.none(), st.sampled_from([0, 0, 2])),
            "f_int": _SMALL,
            "f_float": st.one_of(st.none(), st.sampled_from([0.5, 1.5])),
            "f_bool": st.one_of(st.none(), st.booleans()),
            "f_text": _TEXT,
        }
    )


_IDENTITY = {
    "customer_v": ("customer_id", "feature_at", "ingested_at"),
    "merchant_v": ("merchant_id", "feature_at"),
    "pair_v": ("customer_id", "merchant_id", "feature_at"),
    "customer_scd2": ("customer_id", "valid_from"),
    "typed_features": ("customer_id", "feature_at", "ingested_at"),
}


@st.composite
def _view_rows(draw: st.DrawFn, view: str) -> list[dict[str, Any]]:
    """Random rows, plus full ties (a row's key and timestamps with other
    values) and exact duplicates, shuffled so insertion order is random too."""
    row = _base_row(view)
    rows = draw(st.lists(row, max_size=7))
    if rows:
        for i in draw(st.lists(st.integers(0, len(rows) - 1), max_size=3)):
            other = draw(row)
            rows.append({**other, **{c: rows[i][c] for c in _IDENTITY[view]}})
        for i in draw(st.lists(st.integers(0, len(rows) - 1), max_size=2)):
            rows.append(dict(rows[i]))
    rows = draw(st.permutations(rows))
    return [_dated(view, r) for r in rows]


def _dated(view: str, row: dict[str, Any]) -> dict[str, Any]:
    """Day offsets to timestamps (created relative to the feature timestamp,
    valid_to relative to valid_from)."""
    out = dict(row)
    if view == "customer_scd2":
        out["valid_from"] = _day(row["valid_from"])
        if row["valid_to"] is not None:
            out["valid_to"] = _day(row["valid_from"] + row["valid_to"])
        return out
    out["feature_at"] = _day(row["feature_at"])
    if "ingested_at" in row and row["ingested_at"] is not None:
        out["ingested_at"] = _day(row["feature_at"] + row["ingested_at"])
    return out


@st.composite
def _dataset(draw: st.DrawFn) -> tuple[dict[str, list[dict[str, Any]]], list[datetime]]:
    """Rows per view and the times t to check: timestamps the rows tie on,
    their TTL edges, and arbitrary half days."""
    data = {view: draw(_view_rows(view)) for view in TIE_VIEWS}
    stamps = sorted(
        {
            r["feature_at" if "feature_at" in r else "valid_from"]
            for rows in data.values()
            for r in rows
        }
    )
    times = set(draw(st.lists(st.integers(0, 24).map(lambda h: _day(h / 2)), max_size=2)))
    if stamps:
        times.update(draw(st.lists(st.sampled_from(stamps), min_size=1, max_size=2)))
        # the TTL edges of typed_features (1d) and merchant_v (7d), inclusive
        ttl = draw(st.sampled_from([timedelta(days=1), timedelta(days=7)]))
        times.add(draw(st.sampled_from(stamps)) + ttl)
    if not times:
        times.add(_day(3))
    return data, sorted(times)


# -- the three entry points ---------------------------------------------------------------


def _norm(value: Any) -> Any:
    """One representation per value across Arrow, pandas and the online store."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, list | tuple):
        return [_norm(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()  # numpy scalars
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _features(fs: FeatureStore, view: str) -> list[str]:
    return [f.name for f in fs.registry.view(view).features]


def _keys(fs: FeatureStore, view: str) -> tuple[str, ...]:
    return tuple(fs.registry.view(view).key_columns)


def _spine(times: Sequence[datetime]) -> pd.DataFrame:
    rows = list(itertools.product(CUSTOMERS, MERCHANTS, times))
    return pd.DataFrame(
        {
            "customer_id": [c for c, _, _ in rows],
            "merchant_id": [m for _, m, _ in rows],
            "event_at": [at for _, _, at in rows],
        }
    )


Answer = dict[tuple[str, tuple[Any, ...], datetime], list[Any]]


def _training(fs: FeatureStore, spine: pd.DataFrame, late: bool, impl: str | None) -> Answer:
    """(view, entity, t) -> the training set's values, in feature order."""
    table = fs.training_set(
        spine,
        features=list(TIE_VIEWS),
        spine_timestamp="event_at",
        exclude_late_rows=late,
        impl=impl,  # type: ignore[arg-type]
        output="arrow",
    ).to_pylist()
    out: Answer = {}
    for row in table:
        for view in TIE_VIEWS:
            entity = tuple(row[k] for k in _keys(fs, view))
            values = [_norm(row[f"{view}__{f}"]) for f in _features(fs, view)]
            out[(view, entity, row["event_at"])] = values
    return out


def _online(fs: FeatureStore, spine: pd.DataFrame, at: datetime) -> Answer:
    """(view, entity, at) -> the values served at ``at`` after materialize(as_of=at)."""
    rows = spine[spine.event_at == at]
    answer = fs.get_online_features(
        features=list(TIE_VIEWS),
        entities={"customer_id": list(rows.customer_id), "merchant_id": list(rows.merchant_id)},
        as_of=at,
    )
    out: Answer = {}
    for i, (c, m) in enumerate(zip(rows.customer_id, rows.merchant_id, strict=True)):
        named = {"customer_id": int(c), "merchant_id": int(m)}
        for view in TIE_VIEWS:
            entity = tuple(named[k] for k in _keys(fs, view))
            values = [_norm(answer.values[f"{view}:{f}"][i]) for f in _features(fs, view)]
            out[(view, entity, at)] = values
    return out


def _history(
    fs: FeatureStore, spine: pd.DataFrame, view: str, features: list[str] | None
) -> Answer:
    """(view, entity, t) -> the values of the history interval holding t (NULLs
    when none does); at most one interval may hold t."""
    frame = fs.feature_history(view, features=features)
    names = features or _features(fs, view)
    keys = _keys(fs, view)
    intervals: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in frame.to_dict("records"):
        intervals.setdefault(tuple(int(row[k]) for k in keys), []).append(row)
    out: Answer = {}
    for c, m, at in zip(spine.customer_id, spine.merchant_id, spine.event_at, strict=True):
        named = {"customer_id": int(c), "merchant_id": int(m)}
        entity = tuple(named[k] for k in keys)
        hits = [
            row
            for row in intervals.get(entity, [])
            if row["valid_from"] <= at and (pd.isna(row["valid_to"]) or at < row["valid_to"])
        ]
        assert len(hits) <= 1, (view, entity, at, hits)
        out[(view, entity, at)] = [_norm(hits[0][f]) if hits else None for f in names]
    return out


def _late(rows: Sequence[Mapping[str, Any]], entity: dict[str, Any], at: datetime) -> bool:
    """Whether the entity has a row at or before ``at`` created after it."""
    return any(
        all(r[k] == v for k, v in entity.items())
        and r.get("ingested_at") is not None
        and r["feature_at"] <= at < r["ingested_at"]
        for r in rows
    )


# -- the property ----------------------------------------------------------------------


def _write(db: Path, data: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
    """Replace the tables of ``data``'s views (one connection for all)."""
    import duckdb

    con = duckdb.connect(str(db))
    try:
        for view, rows in data.items():
            columns = [c for c, _ in VIEWS[view][6]]
            con.execute(f'delete from main."{view}"')
            if rows:
                marks = ", ".join("?" for _ in columns)
                con.executemany(
                    f'insert into main."{view}" values ({marks})',
                    [[row.get(c) for c in columns] for row in rows],
                )
    finally:
        con.close()


@pytest.fixture(scope="module")
def tie_store(online_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The online test project on a DuckDB file and SQLite store of this module's own."""
    work = tmp_path_factory.mktemp("tie_order")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DBT_PROFILES_DIR", str(online_project))
        mp.delenv("DBT_TARGET_PATH", raising=False)
        mp.setenv("PITSTOP_DUCKDB_PATH", str(work / "offline.duckdb"))
        mp.setenv("PITSTOP_ONLINE_STORE", f"sqlite:{work / 'online.sqlite'}")
        db = work / "offline.duckdb"
        for view in VIEWS:
            write_view(db, view, [])
        yield FeatureStore(online_project), db


def _check(
    fs: FeatureStore, db: Path, data: dict[str, list[dict[str, Any]]], times: list[datetime]
) -> None:
    _write(db, data)
    spine = _spine(times)
    known = _training(fs, spine, True, None)
    everything = _training(fs, spine, False, None)
    # the portable form of the join (window functions, the hash in ORDER BY)
    # picks as the DuckDB form (ASOF on a struct) does
    assert _training(fs, spine, True, "default") == known

    # online: incremental runs time after time, then the last time from scratch
    served: Answer = {}
    for i, at in enumerate(times):
        fs.materialize(as_of=at, full_refresh=i == 0, select=list(TIE_VIEWS))
        served.update(_online(fs, spine, at))
    fs.materialize(as_of=times[-1], full_refresh=True, select=list(TIE_VIEWS))
    rebuilt = _online(fs, spine, times[-1])
    for key, values in rebuilt.items():
        assert served[key] == values, ("incremental != full refresh", key)

    for key, values in known.items():
        # what was known at t: the online store and exclude_late_rows
        assert served[key] == values, ("online != training_set", key, values, served[key])

    for view in TIE_VIEWS:
        names = _features(fs, view)
        keys = _keys(fs, view)
        for features in SUBSETS[view]:
            history = _history(fs, spine, view, features)
            wanted = [names.index(f) for f in (features or names)]
            for (v, entity, at), values in everything.items():
                if v != view:
                    continue
                # history serves rows from their feature timestamp: the join
                # without the late-row filter
                got = history[(view, entity, at)]
                assert got == [values[i] for i in wanted], (
                    "feature_history != training_set", view, features, entity, at)  # fmt: skip
                if not _late(data[view], dict(zip(keys, entity, strict=True)), at):
                    assert got == [known[(view, entity, at)][i] for i in wanted]
        if not fs.registry.view(view).created_timestamp:
            # without a created timestamp the late-row filter changes nothing
            for key, values in known.items():
                if key[0] == view:
                    assert everything[key] == values, key


@pytest.mark.slow
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(dataset=_dataset())
def test_training_online_and_history_agree_row_for_row(
    tie_store: Any, dataset: tuple[dict[str, list[dict[str, Any]]], list[datetime]]
) -> None:
    fs, db = tie_store
    data, times = dataset
    _check(fs, db, data, times)


# -- the reported case -----------------------------------------------------------------

_TIED = [
    {"customer_id": 0, "feature_at": t("2024-01-01"), "ingested_at": t("2024-01-01"),
     "version": 10, "tag": "x"},
    {"customer_id": 0, "feature_at": t("2024-01-01"), "ingested_at": t("2024-01-01"),
     "version": 20, "tag": "x"},
]  # fmt: skip


@pytest.mark.slow
def test_issue_8_two_fully_tied_rows_get_one_answer(online_env: dict[str, str]) -> None:
    """Issue 8's reproduction: two rows of customer 0 with the same feature and
    created timestamps, version 10 and 20. The training set (both forms), the
    history (any feature subset) and materialize + lookup (in either insertion
    order) all answer the same, and it is the same answer whatever the order."""
    db = Path(online_env["duckdb"])
    for view in VIEWS:
        write_view(db, view, [])
    at = t("2024-01-02")
    spine = pd.DataFrame({"customer_id": [0], "event_at": [at]})
    answers = set()
    for rows in (_TIED, _TIED[::-1]):
        write_view(db, "customer_v", rows)
        fs = FeatureStore(online_env["project"])
        for impl in (None, "default"):
            trained = fs.training_set(
                spine, features=["customer_v"], spine_timestamp="event_at", impl=impl
            )
            answers.add(("training_set", impl, int(trained["customer_v__version"].iloc[0])))
        for features in (None, ["version"], ["tag"], ["tag", "version"]):
            history = fs.feature_history("customer_v", features=features)
            assert len(history) == 1
            if "version" in history:
                answers.add(("history", int(history["version"].iloc[0])))
        fs.materialize(as_of=at, full_refresh=True, select=["customer_v"])
        online = fs.get_online_features(
            features=["customer_v:version"], entities={"customer_id": [0]}, as_of=at
        )
        answers.add(("online", online.values["customer_v:version"][0]))
    assert len({answer[-1] for answer in answers}) == 1, sorted(answers, key=str)


# -- the compile cache ------------------------------------------------------------------


@pytest.mark.slow
def test_materialize_compiles_the_tie_order_once_per_manifest_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """materialize takes the tie order from the macro (rendered without dbt, or
    compiled by dbt when the renderer gives up), and caches it on disk: a new
    process (simulated by clearing the in-memory layer) and a manifest dbt
    rewrote unchanged reuse it; an edited project compiles again."""
    from _online_project import build_project

    root = tmp_path / "project"
    monkeypatch.setenv("DBT_PROFILES_DIR", str(root))
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    monkeypatch.setenv("PITSTOP_DUCKDB_PATH", str(tmp_path / "offline.duckdb"))
    monkeypatch.setenv("PITSTOP_ONLINE_STORE", f"sqlite:{tmp_path / 'online.sqlite'}")
    build_project(root)
    for view in VIEWS:
        write_view(tmp_path / "offline.duckdb", view, [])
    write_view(tmp_path / "offline.duckdb", "customer_v", _TIED)

    compiled: list[str] = []  # the SQL made by dbt or the renderer
    real = compile_module.compile_inline
    real_render = render.render_inline

    def counting(project: Project, inline: str) -> str:
        compiled.append(inline)
        return real(project, inline)

    def rendering(project: Project, inline: str) -> str:
        sql = real_render(project, inline)  # a GiveUp is no SQL: dbt counts then
        compiled.append(inline)
        return sql

    monkeypatch.setattr(compile_module, "compile_inline", counting)
    monkeypatch.setattr(render, "render_inline", rendering)

    def run() -> Any:
        # a fresh process has neither the in-memory entries nor fingerprints
        compile_module._SQL_CACHE.clear()
        compile_module._FINGERPRINTS.clear()
        fs = FeatureStore(root)
        fs.materialize(as_of=t("2024-01-02"), select=["customer_v"], full_refresh=True)
        return fs.get_online_features(
            features=["customer_v:version"], entities={"customer_id": [0]}, as_of=t("2024-01-02")
        ).values["customer_v:version"][0]

    first = run()
    assert len(compiled) == 1 and "_pit_tiebreak" in compiled[0]
    cache = root / "target" / compile_module.CACHE_FILE
    assert cache.is_file()
    assert run() == first and len(compiled) == 1
    # dbt rewrites the manifest (new invocation id and time), same content
    Project(root).run_dbt(["parse"])
    assert run() == first and len(compiled) == 1
    # a changed project: stale manifest, compiled again (and cached again)
    yml = root / "models" / "customer_v.yml"
    yml.write_text(yml.read_text().replace("description: test view", "description: edited"))
    assert run() == first and len(compiled) == 2
    assert run() == first and len(compiled) == 2
