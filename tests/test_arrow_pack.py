"""`pitstop.online.arrow_pack` packs whole Arrow batches into online values: every
value must decode (`codec.unpack`, i.e. ``marshal.loads``) to exactly what
``marshal.dumps`` of the row would have given, bit for bit for floats, whatever
the mix of sizes, NULLs, slices and strings; other column types are refused."""

from __future__ import annotations

import marshal
import math
import struct
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pitstop.online.arrow_pack import pack_columns, pylist, total
from pitstop.online.codec import unpack

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
EDGE_INTS = st.sampled_from(
    [0, 1, -1, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 2**45 - 1, 2**45, 2**60 - 1, 2**60,
     2**63 - 1, -(2**63), 1_750_000_000_000_000]
)  # fmt: skip
NAN_PAYLOAD = struct.unpack("<d", struct.pack("<Q", 0x7FF8_0000_0000_0123))[0]
FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, math.inf, -math.inf, NAN_PAYLOAD, 5e-324]),
)
TEXT = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["", "EUR", "é", "x" * 255, "x" * 256, "日本|\\", "\x00", "🙂" * 70]),
)


def _bits(value: Any) -> Any:
    """A value with floats as their IEEE bits, so NaNs and -0.0 compare exactly."""
    if isinstance(value, float):
        return ("float", struct.pack("<d", value))
    if isinstance(value, tuple | list):
        return [type(value).__name__, *map(_bits, value)]
    return (type(value).__name__, value)


def _check(layout: int, columns: list[pa.Array]) -> None:
    blobs = pack_columns(layout, columns)
    assert blobs is not None
    assert len(blobs) == len(columns[0])
    for i, blob in enumerate(blobs):
        expected = marshal.loads(marshal.dumps((layout, *(c[i].as_py() for c in columns))))
        assert _bits(unpack(blob)) == _bits(expected), i


def _nullable(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), values)


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            _nullable(st.one_of(INT64, EDGE_INTS)),
            st.one_of(INT64, EDGE_INTS),
            _nullable(FLOATS),
            FLOATS,
            _nullable(TEXT),
            _nullable(st.booleans()),
            _nullable(st.integers(min_value=-(2**31), max_value=2**31 - 1)),
        ),
        max_size=40,
    ),
    layout=st.one_of(EDGE_INTS, st.integers(min_value=0, max_value=2**32)),
    cut=st.integers(min_value=0, max_value=3),
)
def test_mixed_columns_decode_like_marshal(
    rows: list[tuple[Any, ...]], layout: int, cut: int
) -> None:
    names = ["ints", "dense", "floats", "dense_floats", "text", "flags", "int32"]
    types = [pa.int64(), pa.int64(), pa.float64(), pa.float64(), pa.string(), pa.bool_(),
             pa.int32()]  # fmt: skip
    columns = [
        pa.array([row[i] for row in rows], type=kind)
        for i, (_, kind) in enumerate(zip(names, types, strict=True))
    ]
    columns.append(pa.array([row[4] for row in rows], type=pa.large_string()))
    columns.append(pa.nulls(len(rows), type=pa.int64()))
    columns.append(pa.nulls(len(rows)))
    if not rows:
        assert pack_columns(layout, columns) == []
        return
    _check(layout, columns)
    if len(rows) > cut:  # slices: Arrow arrays with an offset into their buffers
        _check(layout, [column.slice(cut) for column in columns])


@pytest.mark.parametrize(
    "values",
    [
        [7, -3, 2**31 - 1, -(2**31)],  # every item a 4-byte TYPE_INT
        [1_750_000_000_000_000 + i for i in range(5)],  # every item 4 digits (TYPE_LONG)
        [-(2**62) - i for i in range(5)],  # negative, 5 digits
        [2**63 - 1, -(2**63)],  # both ends of the range
    ],
)
def test_uniform_integer_columns(values: list[int]) -> None:
    """Columns whose items have one size are written as blocks: the fast path."""
    _check(11, [pa.array(values, pa.int64()), pa.array(values[::-1], pa.int64())])


def test_regular_and_irregular_strings() -> None:
    same = ["EUR", "USD", "GBP", "PLN"]
    _check(1, [pa.array(same), pa.array(["a", "bb", None, "é"]), pa.array(same)])
    _check(1, [pa.array(same).slice(1), pa.array(["x" * 300, "", "y", "z"]).slice(1)])


def test_long_rows_are_packed_tightly() -> None:
    """One very long value among short ones: no fixed stride, same values."""
    texts = ["a"] * 50 + ["é" * 100_000] + [None] * 5
    _check(3, [pa.array(range(len(texts)), pa.int64()), pa.array(texts)])


def test_small_integer_and_float32_types() -> None:
    columns = [
        pa.array([1, None, -128], pa.int8()),
        pa.array([65535, 0, None], pa.uint16()),
        pa.array([2**32 - 1, 0, 5], pa.uint32()),
        pa.array([1.5, None, float("nan")], pa.float32()),
    ]
    _check(0, columns)


@pytest.mark.parametrize(
    "column",
    [
        pa.array([[1.0, 2.0], [3.0]], pa.list_(pa.float64())),
        pa.array([2**64 - 1, 0], pa.uint64()),
        pa.array(["a", "b"]).dictionary_encode(),
    ],
    ids=["list", "uint64", "dictionary"],
)
def test_other_types_are_left_to_marshal(column: pa.Array) -> None:
    assert pack_columns(1, [pa.array([1, 2], pa.int64()), column]) is None


def test_a_duckdb_batch() -> None:
    """What materialize packs: Arrow straight from DuckDB."""
    con = duckdb.connect()
    batch = (
        con.sql(
            "select epoch_us(timestamp '2025-01-01' + to_microseconds(i)) as ts, "
            "case when i % 3 = 0 then null else i * 1000000000000 end as cts, "
            "(i % 50)::bigint as n, i / 7 as x, ['EUR', 'USD', 'zł'][i % 3 + 1] as cur, "
            "i % 2 = 0 as flag, null::double as gone "
            "from range(1000) t(i)"
        )
        .to_arrow_reader(10_000)
        .read_next_batch()
    )
    _check(42, batch.columns)
    con.close()


def test_pylist_and_total() -> None:
    column = pa.array([1, None, 2**63 - 1, -5], pa.int64())
    assert pylist(column) == column.to_pylist()
    assert pylist(column.slice(1)) == column.slice(1).to_pylist()
    assert pylist(pa.array(["a", None])) == ["a", None]
    # every row NULL (a view without created timestamps), and no NULL at all
    assert pylist(pa.array([None, None], pa.int64())) == [None, None]
    assert pylist(column.slice(1, 1)) == [None]
    assert pylist(column.slice(2)) == [2**63 - 1, -5]
    assert all(type(x) is int for x in pylist(column) if x is not None)
    assert total(pa.array([3, None, 4], pa.int32())) == 7
    assert total(pa.array([2**40, 2**40], pa.int64())) == 2**41
