"""The model's input frame, built exactly as the training frame was.

Training frames come out of DuckDB as Arrow tables and become pandas through
``Table.to_pandas()`` (`pitstop.offline.training.training_set`, or reading the
training model's table). Serving builds its frame the same way: the looked-up
values go into Arrow arrays of the *training* frame's Arrow types (stored in
the feature spec) and through the same ``to_pandas()``, so names, order,
types and NULL handling (NULL -> NaN/None/NaT) are the training path's by
construction. A final step casts to the pandas dtypes the training frame had
where that is lossless (a one-row frame of integers is ``int64``; a training
column that held NULLs was ``float64``).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from pitstop.errors import InvalidRequestError

if TYPE_CHECKING:
    import pandas as pd

    from pitstop.models.spec import ModelFeatureSpec

__all__ = [
    "align_dtypes",
    "arrow_type_for",
    "build_frame",
    "schema_from_text",
    "schema_to_text",
]

_SIMPLE_TYPES: dict[str, pa.DataType] = {
    "boolean": pa.bool_(),
    "bool": pa.bool_(),
    "tinyint": pa.int8(),
    "int1": pa.int8(),
    "smallint": pa.int16(),
    "int2": pa.int16(),
    "integer": pa.int32(),
    "int": pa.int32(),
    "int4": pa.int32(),
    "bigint": pa.int64(),
    "int8": pa.int64(),
    "long": pa.int64(),
    "hugeint": pa.float64(),
    "real": pa.float32(),
    "float": pa.float32(),
    "float4": pa.float32(),
    "double": pa.float64(),
    "float8": pa.float64(),
    "double precision": pa.float64(),
    "varchar": pa.string(),
    "string": pa.string(),
    "text": pa.string(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "datetime": pa.timestamp("us"),
    "timestamp with time zone": pa.timestamp("us", tz="UTC"),
    "timestamptz": pa.timestamp("us", tz="UTC"),
}


def arrow_type_for(dtype: str) -> pa.DataType:
    """The Arrow type DuckDB gives a column of warehouse type ``dtype`` (used
    when no training frame tells; unknown types fall back to string)."""
    text = dtype.strip().lower()
    if text.endswith("[]"):
        return pa.list_(arrow_type_for(text[:-2]))
    if text.startswith(("decimal", "numeric")):
        inside = text[text.find("(") + 1 : text.find(")")] if "(" in text else "18,3"
        precision, _, scale = inside.partition(",")
        return pa.decimal128(int(precision), int(scale or 0))
    if text.startswith("varchar"):
        return pa.string()
    return _SIMPLE_TYPES.get(text, pa.string())


def schema_to_text(schema: pa.Schema) -> str:
    """An Arrow schema as text (IPC, base64) for the feature spec's JSON."""
    return base64.b64encode(schema.serialize().to_pybytes()).decode("ascii")


def schema_from_text(text: str) -> pa.Schema:
    """The inverse of `schema_to_text`."""
    return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(text)))


def build_frame(
    spec: ModelFeatureSpec, schema: pa.Schema, columns: Mapping[str, Sequence[Any]]
) -> pd.DataFrame:
    """The model's input frame from per-column Python values.

    Raises:
        InvalidRequestError: a value does not fit its column's training type
            (e.g. text given for a numeric request column).
    """
    arrays = []
    for field in schema:
        values = columns[field.name]
        try:
            arrays.append(pa.array(values, type=field.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError) as exc:
            bad = next((v for v in values if not _fits(v, field.type)), None)
            raise InvalidRequestError(
                f"column {field.name} is {field.type} in the training set; got {bad!r} "
                f"({type(bad).__name__}): {exc}"
            ) from None
    table = pa.Table.from_arrays(arrays, schema=schema)
    return align_dtypes(table.to_pandas(), spec)


def _fits(value: Any, kind: pa.DataType) -> bool:
    try:
        pa.array([value], type=kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        return False
    return True


def align_dtypes(frame: pd.DataFrame, spec: ModelFeatureSpec) -> pd.DataFrame:
    """``frame[spec.columns]`` cast to the training frame's pandas dtypes where
    the cast loses nothing (int -> float, bool -> object); otherwise left as
    the Arrow conversion made it, which is what the training path would have
    made of the same values."""
    out = frame.loc[:, list(spec.columns)]
    wanted = {f.column: f.pandas_dtype for f in spec.features}
    wanted.update({c.column: c.pandas_dtype for c in spec.request_columns})
    for column in spec.columns:
        target = wanted.get(column)
        current = str(out[column].dtype)
        if not target or current == target:
            continue
        if (current.startswith(("int", "uint", "float")) and target.startswith("float")) or (
            target == "object" and current in ("bool", "int64", "float64")
        ):
            out[column] = out[column].astype(target)  # type: ignore[call-overload]
    return out
