"""Pack a whole Arrow record batch into online values at once (numpy), for `materialize`.

`pitstop.online.codec.pack` packs one entity's row with ``marshal.dumps``: a
few hundred nanoseconds per row plus turning every Arrow value into a Python
object first, which made packing the largest part of a full materialize.
`pack_columns` writes the same values for a whole batch with a handful of numpy
operations per column, straight from the Arrow buffers, and hands back one
``bytes`` per row. The bytes are marshal's format 4 (the one `codec.unpack`
reads): a small tuple ``(layout, feature_ts_us, created_ts_us, f1, ..., fn)``
whose items are ``int`` (``TYPE_INT`` in the 32-bit range, else
``TYPE_LONG`` in 15-bit digits), ``float`` (``TYPE_BINARY_FLOAT``, the IEEE
bits copied, so NaN payloads and -0.0 survive), ``bool``, ``None`` and
``str`` (``TYPE_SHORT_ASCII`` when ASCII and under 256 bytes, else
``TYPE_UNICODE`` in UTF-8). ``marshal.loads`` of these bytes equals the tuple
``marshal.dumps`` was given; the bytes differ only in that nothing carries
marshal's reference flag, which only lets a writer share repeated objects.

Columns of other Arrow types (lists, decimals, dictionaries, ...) make
`pack_columns` return ``None``, and the caller packs that batch row by row.
"""

from __future__ import annotations

import marshal
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["pack_columns", "pylist", "total"]

_SMALL_TUPLE = 0x29  # ")"
_INT = 0x69  # "i"
_LONG = 0x6C  # "l"
_FLOAT = 0x67  # "g"
_NONE = 0x4E  # "N"
_TRUE = 0x54  # "T"
_FALSE = 0x46  # "F"
_UNICODE = 0x75  # "u"
_SHORT_ASCII = 0x7A  # "z"
_FLAG_REF = 0x80
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_I64 = np.int64
_U64 = np.uint64


class _Field:
    """One column's packed items: per-row byte lengths; ``width`` when every
    row's item has the same length (then `block` gives them as an ``(n, width)``
    array, written with one strided copy), else ``None``."""

    def __init__(self, lengths: np.ndarray[Any, Any], width: int | None) -> None:
        self.lengths = lengths
        self.width = width

    def block(self) -> np.ndarray[Any, Any]:
        raise NotImplementedError

    def write(self, out: np.ndarray[Any, Any], at: np.ndarray[Any, Any]) -> None:
        """Write row ``i``'s item at ``out[at[i]:]``."""
        block = self.block()
        if len(at):
            out[at[:, None] + np.arange(block.shape[1])] = block


def pack_columns(layout: int, columns: Sequence[pa.Array]) -> list[bytes] | None:
    """The packed value of every row: ``(layout, *row)`` over ``columns``
    (feature timestamp, created timestamp, then the features, in stored form).

    Rows are laid out at a fixed stride (the longest row's length) while that
    wastes little, so that every item at the same place in each row (all of
    them until the first column whose items vary in length) is written with a
    strided copy instead of a scatter; the rows come back through an Arrow
    ``binary_view`` array, which can point at them where they are.

    Returns:
        one ``bytes`` per row, or ``None`` when a column's type is not one this
        packer writes (the caller then packs that batch with ``marshal.dumps``).
    """
    if not columns or len(columns) >= 254:  # a small tuple holds at most 255 items
        return None
    n = len(columns[0])
    if not n:
        return []
    fields: list[_Field] = []
    for column in columns:
        field = _field(column)
        if field is None:
            return None
        fields.append(field)
    first = bytearray(marshal.dumps(layout))
    first[0] &= ~_FLAG_REF  # the flag only lets a writer share repeated objects
    header = np.frombuffer(bytes([_SMALL_TUPLE, len(columns) + 1]) + bytes(first), np.uint8)
    widths = np.full(n, len(header), _I64)
    for field in fields:
        widths += field.lengths
    total = int(widths.sum())
    stride = int(widths.max())
    if n * stride <= 2 * total + 65_536:
        starts = np.arange(n, dtype=_I64) * stride
    else:  # a few long rows: pack them tightly
        stride = 0
        starts = np.zeros(n, _I64)
        np.cumsum(widths[:-1], out=starts[1:])
    size = n * stride if stride else total
    if size >= 2**31:  # binary_view offsets are 32-bit
        return None
    out = np.empty(size, np.uint8)
    at: np.ndarray[Any, Any] | None = None
    if stride:
        rows = out.reshape(n, stride)
        rows[:, : len(header)] = header
        column_at = len(header)
        for field in fields:
            if at is None and field.width is not None:
                rows[:, column_at : column_at + field.width] = field.block()
                column_at += field.width
                continue
            if at is None:
                at = starts + column_at
            field.write(out, at)
            at = at + field.lengths
    else:
        out[starts[:, None] + np.arange(len(header))] = header
        at = starts + len(header)
        for field in fields:
            field.write(out, at)
            at = at + field.lengths
    views = np.empty((n, 4), "<i4")
    views[:, 0] = widths
    views[:, 1] = header[:4].view("<i4")[0]  # the first 4 bytes, the same in every row
    views[:, 2] = 0
    views[:, 3] = starts
    packed = pa.Array.from_buffers(
        pa.binary_view(), n, [None, pa.py_buffer(views), pa.py_buffer(out)]
    )
    blobs: list[bytes] = packed.to_pylist()
    return blobs


def pylist(column: pa.Array) -> list[Any]:
    """``column.to_pylist()``, several times faster for integer columns."""
    if column.type not in _NUMPY or not pa.types.is_integer(column.type):
        return list(column.to_pylist())
    if not column.null_count:
        values: list[Any] = _numbers(column).tolist()
        return values
    if column.null_count == len(column):  # e.g. a view without created timestamps
        return [None] * len(column)
    boxed = _numbers(column).astype(object)
    boxed[~_valid(column)] = None
    nullable: list[Any] = boxed.tolist()
    return nullable


def total(column: pa.Array) -> int:
    """The sum of an integer column (NULL as 0)."""
    if column.type not in _NUMPY or not pa.types.is_integer(column.type):
        return sum(value or 0 for value in column.to_pylist())
    return int(_numbers(column).sum(dtype=_I64))


# Arrow buffers are read with numpy directly: pyarrow's to_numpy() and compute
# functions import pandas (a quarter of a second) on first use
_NUMPY: dict[pa.DataType, Any] = {
    pa.int8(): np.int8,
    pa.int16(): np.int16,
    pa.int32(): np.int32,
    pa.int64(): np.int64,
    pa.uint8(): np.uint8,
    pa.uint16(): np.uint16,
    pa.uint32(): np.uint32,
    pa.uint64(): np.uint64,
    pa.float32(): np.float32,
    pa.float64(): np.float64,
}


def _bits(buffer: pa.Buffer | None, offset: int, n: int) -> np.ndarray[Any, Any]:
    """An Arrow bitmap as booleans (all true when there is none)."""
    if buffer is None:
        return np.ones(n, bool)
    bits = np.unpackbits(np.frombuffer(buffer, np.uint8), bitorder="little")
    flags: np.ndarray[Any, Any] = bits[offset : offset + n].astype(bool)
    return flags


def _valid(column: pa.Array) -> np.ndarray[Any, Any]:
    return _bits(column.buffers()[0], column.offset, len(column))


def _numbers(column: pa.Array) -> np.ndarray[Any, Any]:
    """A numeric column's values (NULLs as 0), read from its Arrow buffer."""
    dtype = np.dtype(_NUMPY[column.type])
    values: np.ndarray[Any, Any] = np.frombuffer(
        column.buffers()[1], dtype, count=len(column), offset=column.offset * dtype.itemsize
    )
    if column.null_count:
        values = np.where(_valid(column), values, 0).astype(dtype)
    return values


def _field(column: pa.Array) -> _Field | None:
    kind = column.type
    if pa.types.is_null(kind):
        return _Codes(np.full(len(column), _NONE, np.uint8))
    if pa.types.is_boolean(kind):
        flags = _bits(column.buffers()[1], column.offset, len(column))
        codes = np.where(flags, _TRUE, _FALSE).astype(np.uint8)
        if column.null_count:
            codes[~_valid(column)] = _NONE
        return _Codes(codes)
    if kind in _NUMPY and not pa.types.is_uint64(kind):
        valid = _valid(column) if column.null_count else None
        if pa.types.is_integer(kind):
            return _Ints(_numbers(column).astype(_I64), valid)
        # float32 -> float64 is exact, as Python's float() of it is
        return _Floats(_numbers(column).astype("<f8"), valid)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _Strings(column)
    if pa.types.is_string_view(kind):
        return _Strings(column.cast(pa.large_string()))
    return None


class _Codes(_Field):
    """One byte per row: ``None``, ``True``, ``False``."""

    def __init__(self, codes: np.ndarray[Any, Any]) -> None:
        super().__init__(np.ones(len(codes), _I64), 1)
        self.codes = codes

    def block(self) -> np.ndarray[Any, Any]:
        return self.codes[:, None]

    def write(self, out: np.ndarray[Any, Any], at: np.ndarray[Any, Any]) -> None:
        out[at] = self.codes


def _tagged(tag: int, payload: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Rows of ``tag`` followed by ``payload``'s bytes (one row per item)."""
    raw = payload.view(np.uint8).reshape(len(payload), payload.dtype.itemsize)
    block = np.empty((len(payload), 1 + raw.shape[1]), np.uint8)
    block[:, 0] = tag
    block[:, 1:] = raw
    return block


class _Ints(_Field):
    """``TYPE_INT`` (4 bytes) in the 32-bit range, else ``TYPE_LONG``: a signed
    digit count, then the magnitude in little-endian 15-bit digits."""

    def __init__(self, x: np.ndarray[Any, Any], valid: np.ndarray[Any, Any] | None) -> None:
        self.x, self.valid = x, valid
        if valid is None and len(x):
            # the common case, cheap to see: every item the same size
            lo, hi = int(x.min()), int(x.max())
            if lo >= _INT32_MIN and hi <= _INT32_MAX:
                self.count = 0
                super().__init__(np.full(len(x), 5, _I64), 5)
                return
            if (lo > _INT32_MAX or hi < _INT32_MIN) and _digits(lo) == _digits(hi):
                self.count = _digits(lo)
                self._split(np.zeros(len(x), bool), np.ones(len(x), bool))
                super().__init__(np.full(len(x), 5 + 2 * self.count, _I64), 5 + 2 * self.count)
                return
        self.count = -1
        small = (x >= _INT32_MIN) & (x <= _INT32_MAX)
        if valid is not None:
            small &= valid
            large = valid & ~small
        else:
            large = ~small
        self._split(small, large)
        lengths = np.ones(len(x), _I64)
        lengths[small] = 5
        lengths[large] = 5 + 2 * self.digits
        super().__init__(lengths, None)

    def _split(self, small: np.ndarray[Any, Any], large: np.ndarray[Any, Any]) -> None:
        """The rows written as ``TYPE_INT`` and as ``TYPE_LONG``, and the latter's
        signs, magnitudes and digit counts."""
        self.small, self.large = small, large
        big = self.x[large]
        self.negative = big < 0
        magnitude = big.view(_U64).copy()
        # two's complement negation, right for INT64_MIN as well
        magnitude[self.negative] = ~magnitude[self.negative] + _U64(1)
        digits = np.ones(len(big), _I64)
        for k in (1, 2, 3, 4):
            digits += magnitude >= _U64(1 << (15 * k))
        self.magnitude, self.digits = magnitude, digits

    def _longs(self, rows: np.ndarray[Any, Any] | slice, count: int) -> np.ndarray[Any, Any]:
        signed = np.where(self.negative[rows], -count, count).astype("<i4")
        part = self.magnitude[rows]
        block = np.empty((len(part), 5 + 2 * count), np.uint8)
        block[:, 0] = _LONG
        block[:, 1:5] = signed.view(np.uint8).reshape(-1, 4)
        shifts = np.arange(count, dtype=_U64) * _U64(15)
        digits = ((part[:, None] >> shifts) & _U64(0x7FFF)).astype("<u2")
        block[:, 5:] = digits.view(np.uint8).reshape(len(part), 2 * count)
        return block

    def block(self) -> np.ndarray[Any, Any]:
        if self.count == 0:
            return _tagged(_INT, self.x.astype("<i4"))
        return self._longs(slice(None), self.count)

    def write(self, out: np.ndarray[Any, Any], at: np.ndarray[Any, Any]) -> None:
        if self.count >= 0:
            super().write(out, at)
            return
        _put(out, at[self.small], _tagged(_INT, self.x[self.small].astype("<i4")))
        if self.valid is not None:
            out[at[~self.valid]] = _NONE
        at_large = at[self.large]
        for count in np.unique(self.digits).tolist():
            rows = self.digits == count
            _put(out, at_large[rows], self._longs(rows, count))


class _Floats(_Field):
    """``TYPE_BINARY_FLOAT``: the 8 IEEE bytes as they are."""

    def __init__(self, x: np.ndarray[Any, Any], valid: np.ndarray[Any, Any] | None) -> None:
        lengths = np.full(len(x), 9, _I64)
        if valid is not None:
            lengths[~valid] = 1
        super().__init__(lengths, 9 if valid is None else None)
        self.x, self.valid = x, valid

    def block(self) -> np.ndarray[Any, Any]:
        return _tagged(_FLOAT, self.x)

    def write(self, out: np.ndarray[Any, Any], at: np.ndarray[Any, Any]) -> None:
        if self.valid is None:
            _put(out, at, _tagged(_FLOAT, self.x))
            return
        _put(out, at[self.valid], _tagged(_FLOAT, self.x[self.valid]))
        out[at[~self.valid]] = _NONE


class _Strings(_Field):
    """UTF-8 bytes copied from the Arrow buffer: ``TYPE_SHORT_ASCII`` (a length
    byte) when ASCII and shorter than 256 bytes, else ``TYPE_UNICODE`` (4-byte
    length)."""

    def __init__(self, column: pa.Array) -> None:
        n = len(column)
        large = pa.types.is_large_string(column.type)
        buffers = column.buffers()
        raw = np.frombuffer(buffers[1], np.int64 if large else np.int32)
        offsets: np.ndarray[Any, Any] = raw[column.offset : column.offset + n + 1].astype(_I64)
        self.data = (
            np.frombuffer(buffers[2], np.uint8) if buffers[2] is not None else np.zeros(0, np.uint8)
        )
        self.begin, end = offsets[:-1], offsets[1:]
        self.size = end - self.begin
        self.valid = _valid(column) if column.null_count else np.ones(n, bool)
        high = np.zeros(len(self.data) + 1, _I64)
        np.cumsum(self.data >= 0x80, out=high[1:])
        self.short = self.valid & (high[end] == high[self.begin]) & (self.size < 256)
        self.long = self.valid & ~self.short
        lengths = np.ones(n, _I64)
        lengths[self.short] = 2 + self.size[self.short]
        lengths[self.long] = 5 + self.size[self.long]
        # every row the same ASCII length, one after the other in the buffer: a block
        regular = (
            n > 0
            and bool(self.short.all())
            and bool((self.size == self.size[0]).all())
            and int(end[-1] - self.begin[0]) == n * int(self.size[0])
        )
        super().__init__(lengths, 2 + int(self.size[0]) if regular else None)

    def block(self) -> np.ndarray[Any, Any]:
        n, size, first = len(self.size), int(self.size[0]), int(self.begin[0])
        block = np.empty((n, 2 + size), np.uint8)
        block[:, 0] = _SHORT_ASCII
        block[:, 1] = size
        block[:, 2:] = self.data[first : first + n * size].reshape(n, size)
        return block

    def write(self, out: np.ndarray[Any, Any], at: np.ndarray[Any, Any]) -> None:
        short, long, size, valid = self.short, self.long, self.size, self.valid
        out[at[~valid]] = _NONE
        out[at[short]] = _SHORT_ASCII
        out[at[short] + 1] = size[short].astype(np.uint8)
        _put(out, at[long], _tagged(_UNICODE, size[long].astype("<i4")))
        body = at + np.where(short, 2, 5)
        counts = size[valid]
        total = int(counts.sum())
        if total:
            before = np.cumsum(counts) - counts
            step = np.arange(total, dtype=_I64)
            out[step + np.repeat(body[valid] - before, counts)] = self.data[
                step + np.repeat(self.begin[valid] - before, counts)
            ]


def _digits(value: int) -> int:
    """How many 15-bit digits ``TYPE_LONG`` writes for ``value``."""
    return max(1, (abs(value).bit_length() + 14) // 15)


def _put(out: np.ndarray[Any, Any], at: np.ndarray[Any, Any], block: np.ndarray[Any, Any]) -> None:
    """Write row ``i`` of ``block`` (rows of equal width) at ``out[at[i]:]``."""
    if len(at):
        out[at[:, None] + np.arange(block.shape[1])] = block
