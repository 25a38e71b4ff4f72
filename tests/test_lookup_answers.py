"""How a lookup builds its answer (`pitstop.online.lookup`): the statuses a
lookup hands over to be computed on first access are those of what it read,
whatever the caller does to the values first; every answer owns its lists;
the single-entity answer builder written per plan quotes whatever the feature
refs hold, and answers exactly as the general loop does."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from test_lookup_paths import AS_OF, REFS, _rows, fs  # noqa: F401 - fs is a fixture

from pitstop import FeatureStore
from pitstop.online.codec import pack
from pitstop.online.lookup import PRESENT, _one_functions, _ViewPlan


def _statuses(got: Any) -> dict[str, list[str]]:
    return {ref: [str(s) for s in got.statuses[ref]] for ref in got.refs}


def test_statuses_are_those_of_the_lookup(fs: FeatureStore) -> None:  # noqa: F811
    rows = _rows()
    for asked in (rows, rows[:1], rows[2:3]):  # a batch, a PRESENT row, a row with a NULL
        expected = _statuses(fs.get_online_features(features=REFS, entity_rows=asked, as_of=AS_OF))
        got = fs.get_online_features(features=REFS, entity_rows=asked, as_of=AS_OF)
        for ref in got.refs:  # the caller edits the values before reading the statuses
            column = got.values[ref]
            for i in range(len(column)):
                column[i] = None if column[i] is not None else "x"
        assert _statuses(got) == expected
        assert got.statuses is got.statuses  # computed once
    first = fs.get_online_features(features=REFS, entity_rows=rows[:1], as_of=AS_OF)
    second = fs.get_online_features(features=REFS, entity_rows=rows[:1], as_of=AS_OF)
    for ref in first.refs:
        assert first.statuses[ref] == second.statuses[ref] == [PRESENT]
        assert first.statuses[ref] is not second.statuses[ref]
        first.statuses[ref][0] = PRESENT
    first.statuses = {}  # still assignable, as when it was a plain attribute
    assert first.statuses == {}


def _view(name: str, features: list[str], ttl_us: int | None, key: str) -> _ViewPlan:
    refs = tuple(f"{name}:{feature}" for feature in features)
    return _ViewPlan(
        view=name,
        keys=(key,),
        key_types=("bigint",),
        integer_key=True,
        ttl_us=ttl_us,
        layout=7,
        width=3 + len(features),
        features=tuple((ref, 3 + i, None) for i, ref in enumerate(refs)),
        refs=refs,
        plain=tuple((ref, 3 + i) for i, ref in enumerate(refs)),
        key_name=key,
        key_type=int,
    )


def test_the_single_builder_quotes_every_ref() -> None:
    odd = ["it's", 'say "hi"', "back\\slash", "new\nline", "{braces}", "a'}; import os; {'"]
    views = [_view("v'1", odd, None, "k'ey"), _view('v"2', ["x"], 10, 'k"2')]
    refs = [*views[0].refs, *views[1].refs]
    keys, build = _one_functions(views, ["k'ey", 'k"2'], refs)
    assert keys is not None and build is not None
    row: dict[str, Any] = {"k'ey": 5, 'k"2': "a"}
    assert keys(row) is None  # 'k"2' is an integer key: the general path words the error
    row['k"2'] = 6
    assert keys(row) == (5, 6)
    assert keys({"k'ey": 2**63, 'k"2': 6}) is None  # out of range
    blobs = [pack(7, 100, None, list(range(len(odd)))), pack(7, 95, None, [None])]
    assert build(row, blobs, 100) is None  # a NULL feature: the general loop answers
    blobs[1] = pack(7, 95, None, ["y"])
    got = build(row, blobs, 100)
    assert got is not None
    assert got.refs == refs and got.key_columns == ["k'ey", 'k"2']
    assert got.keys == {"k'ey": [5], 'k"2': [6]}
    assert got.values == {**{ref: [i] for i, ref in enumerate(views[0].refs)}, 'v"2:x': ["y"]}
    assert got.statuses == {ref: [PRESENT] for ref in refs}
    assert got.timestamp("v'1:it's") == got.timestamp('v"2:x') + timedelta(microseconds=5)
    assert build(row, blobs, 106) is None  # v"2 expired (95 < 106 - 10): the general loop
    blobs[0] = pack(8, 100, None, list(range(len(odd))))
    assert build(row, blobs, 100) is None  # another layout: the general loop reloads
    assert build(row, [blobs[0], None], 100) is None  # not found
