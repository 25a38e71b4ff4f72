"""Online lookup requests and responses in the server's two JSON shapes.

Pure functions, no HTTP: a parsed JSON body in, plain data out, bad input as
a `PitstopError`. Validation is by hand (no validation framework on the hot
path) and matches the OpenAPI schema in `pitstop.serving.openapi`, so that
every request the schema rejects is rejected here with a 4xx too.

**Feast's shape** (``POST /get-online-features``): the request has
``features`` or ``feature_service``, ``entities`` in column form and
``full_feature_names``; the response is column-oriented,
``{"metadata": {"feature_names": [...]}, "results": [{"values", "statuses",
"event_timestamps"}, ...]}`` with one result per name, the entity key columns
first. Pitstop adds ``as_of``. Statuses are Feast's names:

====================  ===================
Pitstop               Feast
====================  ===================
``PRESENT``           ``PRESENT``
``NOT_FOUND``         ``NOT_FOUND``
``NULL``              ``NULL_VALUE``
``EXPIRED``           ``OUTSIDE_MAX_AGE``
====================  ===================

**Pitstop's shape** (``POST /features/online``): ``features`` or
``service``, ``entity_rows`` or ``entities``, ``as_of``; one record per
entity with each feature's value, status and feature timestamp.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pitstop.errors import InvalidEntityKeyError, InvalidRequestError
from pitstop.online.lookup import OnlineFeatures, Status
from pitstop.registry.contract import column_name
from pitstop.serving.errors import RequestTooLargeError
from pitstop.times import parse_timestamp

__all__ = [
    "FEAST_STATUS",
    "LookupRequest",
    "entity_rows_of",
    "feast_response",
    "layout_of",
    "parse_as_of",
    "parse_feast_request",
    "parse_pitstop_request",
    "pitstop_response",
]

FEAST_STATUS: dict[Status, str] = {
    Status.PRESENT: "PRESENT",
    Status.NOT_FOUND: "NOT_FOUND",
    Status.NULL: "NULL_VALUE",
    Status.EXPIRED: "OUTSIDE_MAX_AGE",
}
# Feast reports a zero protobuf Timestamp for entity columns and missing values
FEAST_NO_TIMESTAMP = "1970-01-01T00:00:00Z"
_PITSTOP_FIELDS = frozenset({"features", "service", "entity_rows", "entities", "as_of"})


@dataclass(frozen=True, slots=True)
class LookupRequest:
    """A validated lookup: exactly one of features/service and of entities/entity_rows."""

    features: list[str] | None
    service: str | None
    entities: dict[str, list[Any]] | None
    entity_rows: list[dict[str, Any]] | None
    as_of: datetime | None
    full_feature_names: bool = False

    @property
    def size(self) -> int:
        """Entity rows requested."""
        if self.entity_rows is not None:
            return len(self.entity_rows)
        if self.entities:
            return len(next(iter(self.entities.values())))
        return 0


def _object(data: object, what: str) -> dict[str, Any]:
    if type(data) is not dict:
        raise InvalidRequestError(f"{what} must be a JSON object, got {_kind(data)}")
    return data


def _kind(value: object) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "a boolean",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def parse_as_of(value: object) -> datetime | None:
    """``as_of``: ISO-8601 text (a date or a date-time, naive UTC or with an offset)."""
    if value is None:
        return None
    if type(value) is not str:
        raise InvalidRequestError(f"as_of must be an ISO-8601 string, got {_kind(value)}")
    try:
        return parse_timestamp(value, "as_of")
    except (ValueError, OverflowError) as exc:
        raise InvalidRequestError(
            str(exc)
            if isinstance(exc, ValueError)
            else (f"as_of: {value!r} is outside the supported time range")
        ) from None


def _features(value: object, name: str) -> list[str]:
    if type(value) is not list:
        raise InvalidRequestError(
            f"{name} must be an array of feature references ('view:feature' or 'view'), "
            f"got {_kind(value)}"
        )
    for ref in value:
        if type(ref) is not str:
            raise InvalidRequestError(
                f"{name}: every feature reference must be a string, got {_kind(ref)}"
            )
    if not value:
        raise InvalidRequestError(f"{name} must name at least one feature")
    return value


def _columns(value: object, max_entities: int) -> dict[str, list[Any]]:
    columns = _object(value, "entities")
    size = None
    for name, values in columns.items():
        if type(values) is not list:
            raise InvalidEntityKeyError(
                f"entities.{name} must be an array of key values (column form), got {_kind(values)}"
            )
        if size is None:
            size = len(values)
            if size > max_entities:
                raise RequestTooLargeError(
                    f"{size} entities in one request; the limit is {max_entities}"
                )
        elif len(values) != size:
            raise InvalidEntityKeyError(
                "entities: every key column needs the same number of values, got "
                + ", ".join(f"{k}={len(v) if type(v) is list else '?'}" for k, v in columns.items())
            )
    return columns


def _rows(value: object, max_entities: int) -> list[dict[str, Any]]:
    if type(value) is not list:
        raise InvalidRequestError(
            f"entity_rows must be an array of objects (key column -> value), got {_kind(value)}"
        )
    if len(value) > max_entities:
        raise RequestTooLargeError(
            f"{len(value)} entities in one request; the limit is {max_entities}"
        )
    for row in value:
        if type(row) is not dict:
            raise InvalidRequestError(
                f"entity_rows: every row must be an object (key column -> value), got {_kind(row)}"
            )
    return value


def parse_feast_request(data: object, max_entities: int) -> LookupRequest:
    """Validate a Feast ``/get-online-features`` body (fields Feast ignores are ignored).

    Raises:
        InvalidRequestError, InvalidEntityKeyError: a malformed body.
        RequestTooLargeError: more than ``max_entities`` entities.
    """
    body = _object(data, "the request body")
    if "entities" not in body:
        raise InvalidRequestError("entities is required: key column -> array of values")
    entities = _columns(body["entities"], max_entities)
    service = body.get("feature_service")
    features = body.get("features")
    if service is not None:
        if type(service) is not str:
            raise InvalidRequestError(f"feature_service must be a string, got {_kind(service)}")
        if features is not None:
            _features(features, "features")
        features = None  # Feast: a feature service wins over a feature list
    elif features is not None:
        features = _features(features, "features")
    else:
        raise InvalidRequestError("pass features: [...] or feature_service: '<name>'")
    full = body.get("full_feature_names", False)
    if type(full) is not bool:
        raise InvalidRequestError(f"full_feature_names must be a boolean, got {_kind(full)}")
    return LookupRequest(
        features=features,
        service=service,
        entities=entities,
        entity_rows=None,
        as_of=parse_as_of(body.get("as_of")),
        full_feature_names=full,
    )


def parse_pitstop_request(data: object, max_entities: int) -> LookupRequest:
    """Validate a ``/features/online`` body (unknown fields are rejected: a typo
    must not silently change the answer).

    Raises:
        InvalidRequestError, InvalidEntityKeyError: a malformed body.
        RequestTooLargeError: more than ``max_entities`` entities.
    """
    body = _object(data, "the request body")
    if not body.keys() <= _PITSTOP_FIELDS:
        unknown = sorted(map(str, body.keys() - _PITSTOP_FIELDS))
        raise InvalidRequestError(
            f"unknown field(s) {unknown}; expected some of {sorted(_PITSTOP_FIELDS)}"
        )
    features = body.get("features")
    service = body.get("service")
    if (features is None) == (service is None):
        raise InvalidRequestError("pass exactly one of features: [...] and service: '<name>'")
    if service is not None and type(service) is not str:
        raise InvalidRequestError(f"service must be a string, got {_kind(service)}")
    rows = body.get("entity_rows")
    columns = body.get("entities")
    if (rows is None) == (columns is None):
        raise InvalidRequestError(
            "pass exactly one of entity_rows: [{...}] and entities: {key: [...]}"
        )
    return LookupRequest(
        features=_features(features, "features") if features is not None else None,
        service=service,
        entities=_columns(columns, max_entities) if columns is not None else None,
        entity_rows=_rows(rows, max_entities) if rows is not None else None,
        as_of=parse_as_of(body.get("as_of")),
    )


def entity_rows_of(data: object, max_entities: int) -> tuple[list[dict[str, Any]], datetime | None]:
    """The entity rows and ``as_of`` of a ``/models/{name}/predict`` body
    (``entity_rows`` or column-form ``entities``). Rows may also carry the
    model's request columns and feature overrides; the model checks those."""
    body = _object(data, "the request body")
    allowed = {"entity_rows", "entities", "as_of"}
    if not body.keys() <= allowed:
        unknown = sorted(map(str, body.keys() - allowed))
        raise InvalidRequestError(f"unknown field(s) {unknown}; expected some of {sorted(allowed)}")
    rows = body.get("entity_rows")
    columns = body.get("entities")
    if (rows is None) == (columns is None):
        raise InvalidRequestError(
            "pass exactly one of entity_rows: [{...}] and entities: {key: [...]}"
        )
    if rows is not None:
        out = _rows(rows, max_entities)
    else:
        cols = _columns(columns, max_entities)
        names = list(cols)
        size = len(cols[names[0]]) if names else 0
        out = [{name: cols[name][i] for name in names} for i in range(size)]
    return out, parse_as_of(body.get("as_of"))


@dataclass(frozen=True, slots=True, eq=False)  # hashed by identity: layouts are cached
class _Layout:
    """How a result's refs group into views, with their response names (cached
    per ref list: the same request shape repeats)."""

    # (view, the view's first ref, [(ref, short name, full name)])
    views: tuple[tuple[str, str, tuple[tuple[str, str, str], ...]], ...]
    collision: str | None  # a short name two views share, with both views
    grouped: tuple[str, ...]  # the refs in the order of ``views``' items


_LAYOUTS: dict[tuple[str, ...], _Layout] = {}


def layout_of(refs: list[str]) -> _Layout:
    key = tuple(refs)
    layout = _LAYOUTS.get(key)
    if layout is not None:
        return layout
    grouped: dict[str, list[tuple[str, str, str]]] = {}
    owner: dict[str, str] = {}
    collision = None
    for ref in refs:
        view, _, feature = ref.partition(":")
        grouped.setdefault(view, []).append((ref, feature, column_name(ref)))
        other = owner.setdefault(feature, view)
        if other != view and collision is None:
            collision = f"feature name '{feature}' is in views '{other}' and '{view}'"
    layout = _Layout(
        views=tuple((v, items[0][0], tuple(items)) for v, items in grouped.items()),
        collision=collision,
        grouped=tuple(ref for items in grouped.values() for ref, _, _ in items),
    )
    if len(_LAYOUTS) > 4096:
        _LAYOUTS.clear()
    _LAYOUTS[key] = layout
    return layout


def feast_response(result: OnlineFeatures, request: LookupRequest) -> dict[str, Any]:
    """Feast's ``GetOnlineFeaturesResponse`` JSON for ``result``.

    All features of a view share the row's feature timestamp, so timestamps
    are converted once per view and entity, not per feature.
    """
    n = len(result)
    entities = request.entities or {}
    names: list[str] = []
    results: list[dict[str, Any]] = []
    if n == 1:
        present = ["PRESENT"]
        epoch = [FEAST_NO_TIMESTAMP]
    else:
        present = ["PRESENT"] * n
        epoch = [FEAST_NO_TIMESTAMP] * n
    for key in entities:
        names.append(key)
        results.append({"values": entities[key], "statuses": present, "event_timestamps": epoch})
    full = request.full_feature_names
    layout = layout_of(result.refs)
    if not full and layout.collision:
        raise InvalidRequestError(f"{layout.collision}; pass full_feature_names: true")
    values = result.values
    statuses = result.statuses
    status_name = FEAST_STATUS.__getitem__
    moment = result.timestamp
    if n == 1:  # the common serving call: no per-row loops
        for _, first, items in layout.views:
            stamp = moment(first, 0)
            one: list[Any] = [FEAST_NO_TIMESTAMP if stamp is None else stamp]
            for ref, short, long in items:
                names.append(long if full else short)
                results.append(
                    {
                        "values": values[ref],
                        "statuses": [status_name(statuses[ref][0])],
                        "event_timestamps": one,
                    }
                )
        return {"metadata": {"feature_names": names}, "results": results}
    for _, first, items in layout.views:
        stamps: list[Any] = [moment(first, i) for i in range(n)]
        if None in stamps:
            stamps = [FEAST_NO_TIMESTAMP if ts is None else ts for ts in stamps]
        for ref, short, long in items:
            names.append(long if full else short)
            results.append(
                {
                    "values": values[ref],
                    "statuses": list(map(status_name, statuses[ref])),
                    "event_timestamps": stamps,
                }
            )
    return {"metadata": {"feature_names": names}, "results": results}


def pitstop_response(result: OnlineFeatures) -> dict[str, Any]:
    """Pitstop's JSON: the feature refs and one record per entity, each feature
    with its value, status and feature timestamp."""
    keys = result.keys
    key_columns = result.key_columns
    values = result.values
    statuses = result.statuses
    moment = result.timestamp
    layout = layout_of(result.refs)
    records = []
    for i in range(len(result)):
        features: dict[str, Any] = {}
        for _, first, items in layout.views:
            stamp = moment(first, i)
            for ref, _, _ in items:
                features[ref] = {
                    "value": values[ref][i],
                    "status": statuses[ref][i].value,
                    "timestamp": stamp,
                }
        records.append({"entity": {k: keys[k][i] for k in key_columns}, "features": features})
    return {"features": result.refs, "results": records}
