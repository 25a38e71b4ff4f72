"""`get_online_features`: fast lookups of the latest feature values.

The lookup path never touches dbt, the manifest, MLflow or pandas: everything
it needs (views, keys, types, TTLs, services) is the registry snapshot that
`materialize` stored in the online store's metadata. The snapshot and the
resolved request plans are cached per `FeatureStore`; a value written under a
newer view layout than the cached snapshot makes the lookup reload it once.

A lookup reads each requested view once (one statement or one Redis
transaction for all views together, so all views come from one snapshot) and
reports, per entity and feature, the value, a `Status` and the feature
timestamp. TTL is enforced online: a value older than ``as_of - ttl`` is
``EXPIRED`` and returned as ``None``, exactly as the point-in-time join
returns NULL for it (zero training-serving skew); ``ts == as_of - ttl`` is
still ``PRESENT`` (the PIT join's bound is inclusive too).
"""

from __future__ import annotations

import functools
import marshal
import operator
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pitstop.errors import (
    InvalidEntityKeyError,
    InvalidRequestError,
    OnlineStoreError,
    UnknownFeatureError,
    UnknownFeatureViewError,
    UnknownServiceError,
)
from pitstop.online.base import (
    REBUILD_HINT,
    Key,
    OnlineStore,
    get_online_store,
    online_store_config,
)
from pitstop.online.codec import DECODERS, INT64_MAX, INT64_MIN, INTEGER_TYPES, encode_key
from pitstop.online.spec import RegistrySnapshot

if TYPE_CHECKING:
    import pandas as pd

    from pitstop.project import Project

__all__ = [
    "OnlineFeatures",
    "OnlineLookup",
    "Status",
    "entity_key_types",
    "get_online_features",
]

_EPOCH = datetime(1970, 1, 1)
_NEVER = 2**62  # a feature timestamp no TTL check can expire
_INT_ONLY = frozenset({int})
# the online stores keep integer keys as signed 64-bit integers (SQLite's INTEGER)
_STR_ONLY = frozenset({str})
_DICT_ONLY = {dict}
_loads = marshal.loads
_first = operator.itemgetter(0)


class Status(StrEnum):
    """Why a feature value is what it is."""

    PRESENT = "PRESENT"  # a value was found and is within the TTL
    NOT_FOUND = "NOT_FOUND"  # the entity has no row in the view
    NULL = "NULL"  # the latest row holds NULL for this feature
    EXPIRED = "EXPIRED"  # the latest row is older than the view's TTL (value is None)


PRESENT, NOT_FOUND, NULL, EXPIRED = Status.PRESENT, Status.NOT_FOUND, Status.NULL, Status.EXPIRED


class OnlineFeatures:
    """The answer of `get_online_features`: one row per requested entity.

    Attributes:
        key_columns: the entity key columns of the request, in order.
        keys: key column -> values, as requested.
        refs: the feature references (``view:feature``), in request order.
        values: ref -> values (``None`` unless the status is ``PRESENT``).
        statuses: ref -> `Status` per row.
    """

    __slots__ = ("_statuses", "_ts", "key_columns", "keys", "refs", "values")

    def __init__(
        self,
        key_columns: list[str],
        keys: dict[str, list[Any]],
        refs: list[str],
        values: dict[str, list[Any]],
        statuses: dict[str, list[Status]] | Callable[[], dict[str, list[Status]]],
        timestamps_us: dict[str, list[int | None]],
    ) -> None:
        self.key_columns = key_columns
        self.keys = keys
        self.refs = refs
        self.values = values
        self._statuses = statuses
        self._ts = timestamps_us

    @property
    def statuses(self) -> dict[str, list[Status]]:
        """ref -> `Status` per row.

        A lookup may hand over a function computing them from what it read and
        decoded (which values were NULL, which rows absent or expired), called
        on first access: a caller reading only values does not pay for
        scanning every value for NULL. Everything that can fail (reading,
        decoding, a stale layout) has happened in the lookup itself."""
        statuses = self._statuses
        if callable(statuses):
            statuses = self._statuses = statuses()
        return statuses

    @statuses.setter
    def statuses(self, statuses: dict[str, list[Status]]) -> None:
        self._statuses = statuses

    def __len__(self) -> int:
        return len(self.keys[self.key_columns[0]]) if self.key_columns else 0

    def __repr__(self) -> str:
        return f"OnlineFeatures({len(self)} entities x {len(self.refs)} features)"

    @property
    def timestamps(self) -> dict[str, list[datetime | None]]:
        """ref -> feature timestamp (naive UTC) of the row each value came from."""
        return {ref: [_ts(us) for us in self._ts[ref]] for ref in self.refs}

    def value(self, ref: str, row: int = 0) -> Any:
        """The value of feature ``ref`` for request row ``row``."""
        return self.values[ref][row]

    def status(self, ref: str, row: int = 0) -> Status:
        """The `Status` of feature ``ref`` for request row ``row``."""
        return self.statuses[ref][row]

    def timestamp(self, ref: str, row: int = 0) -> datetime | None:
        """The feature timestamp of ``ref`` for request row ``row`` (None when not found)."""
        return _ts(self._ts[ref][row])

    def to_dict(self, statuses: bool = False, timestamps: bool = False) -> dict[str, list[Any]]:
        """Columns: the key columns, then one per feature ref; optionally
        ``<ref>__status`` (status names) and ``<ref>__timestamp`` columns."""
        out: dict[str, list[Any]] = {name: list(self.keys[name]) for name in self.key_columns}
        for ref in self.refs:
            out[ref] = list(self.values[ref])
            if statuses:
                out[f"{ref}__status"] = [str(s) for s in self.statuses[ref]]
            if timestamps:
                out[f"{ref}__timestamp"] = [_ts(us) for us in self._ts[ref]]
        return out

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per entity: ``{"entity": {...}, "features": {ref: {"value",
        "status", "timestamp"}}}``; timestamps as ISO-8601 text (JSON-ready
        apart from the feature values themselves)."""
        records = []
        statuses = self.statuses
        for i in range(len(self)):
            features = {}
            for ref in self.refs:
                moment = _ts(self._ts[ref][i])
                features[ref] = {
                    "value": self.values[ref][i],
                    "status": str(statuses[ref][i]),
                    "timestamp": moment.isoformat() if moment else None,
                }
            records.append(
                {"entity": {k: self.keys[k][i] for k in self.key_columns}, "features": features}
            )
        return records

    def to_pandas(self, statuses: bool = False, timestamps: bool = False) -> pd.DataFrame:
        """`to_dict` as a pandas DataFrame (pandas is imported only here)."""
        import pandas as pd

        return pd.DataFrame(self.to_dict(statuses=statuses, timestamps=timestamps))


def _ts(us: int | None) -> datetime | None:
    return None if us is None else _EPOCH + timedelta(microseconds=us)


@dataclass(frozen=True, slots=True)
class _ViewPlan:
    view: str
    keys: tuple[str, ...]
    key_types: tuple[str, ...]
    integer_key: bool
    ttl_us: int | None
    layout: int
    width: int
    # (ref, index in the packed tuple, decoder or None)
    features: tuple[tuple[str, int, Callable[[Any], Any] | None], ...]
    # precomputed for the single-entity path: the refs, (ref, index) pairs when
    # no feature needs a decoder (None otherwise), the one key column (None:
    # composite) and the Python type a valid value of it has
    refs: tuple[str, ...]
    plain: tuple[tuple[str, int], ...] | None
    key_name: str | None
    key_type: type


@dataclass(frozen=True, slots=True)
class _Plan:
    views: tuple[_ViewPlan, ...]
    refs: tuple[str, ...]
    key_columns: tuple[str, ...]
    key_set: frozenset[str]
    view_names: tuple[str, ...]
    # for the single-entity path: per distinct key column (name, SQL type),
    # and the functions answering the common case (see `_one_functions`)
    key_checks: tuple[tuple[str, str], ...]
    one_keys: _OneKeys | None
    build_one: _OneBuilder | None


class OnlineLookup:
    """Lookup state of one online store: the store, its registry snapshot and
    the resolved request plans, cached (a `FeatureStore` owns one)."""

    def __init__(self, store: OnlineStore) -> None:
        self.store = store
        self.snapshot: RegistrySnapshot | None = None
        self.plans: dict[Any, _Plan] = {}
        self.lock = threading.Lock()

    @classmethod
    def for_project(cls, project: Project) -> OnlineLookup:
        """The lookup state of the online store ``project`` is configured with."""
        return cls(get_online_store(online_store_config(project.vars, project.root)))

    def reload(self) -> RegistrySnapshot:
        snapshot = RegistrySnapshot.from_json(self.store.metadata().snapshot)
        if snapshot is None:
            raise OnlineStoreError(
                f"the online store ({self.store.describe()}) holds nothing yet; "
                "run `pitstop materialize`"
            )
        with self.lock:
            self.snapshot = snapshot
            self.plans = {}
        return snapshot

    def plan(self, features: Sequence[str] | None, service: str | None) -> _Plan:
        if service is not None:
            if features is not None:
                raise InvalidRequestError("pass either features or service, not both")
            if type(service) is not str:
                raise InvalidRequestError(
                    f"service must be a feature service name (a string), got {service!r}"
                )
            cache_key: Any = service
        elif features is None:
            raise InvalidRequestError("pass features=[...] or service='<training model>'")
        else:
            if isinstance(features, str):
                features = [features]
            elif type(features) is not list and type(features) is not tuple:
                raise InvalidRequestError(
                    "features must be a list of feature references ('view' or "
                    f"'view:feature') or one such string, got {type(features).__name__}"
                )
            cache_key = tuple(features)
        try:
            plan = self.plans.get(cache_key)
        except TypeError:  # an unhashable element: rejected just below
            plan = None
        if plan is not None:
            return plan
        if features is not None:
            for ref in features:
                if not isinstance(ref, str):
                    raise InvalidRequestError(
                        f"feature reference {ref!r} must be a string ('view' or 'view:feature')"
                    )
        snapshot = self.snapshot if self.snapshot is not None else self.reload()
        try:
            plan = _build_plan(snapshot, features, service)
        except (UnknownFeatureViewError, UnknownFeatureError, UnknownServiceError):
            # maybe materialized since the snapshot was cached: look once more
            plan = _build_plan(self.reload(), features, service)
        self.plans[cache_key] = plan
        return plan


def _build_plan(
    snapshot: RegistrySnapshot, features: Sequence[str] | None, service: str | None
) -> _Plan:
    views = snapshot.views
    if service is not None:
        services = snapshot.services
        if service not in services:
            known = ", ".join(sorted(services)) or "none"
            raise UnknownServiceError(f"unknown feature service '{service}' (known: {known})")
        refs_in: Sequence[str] = services[service]
    else:
        refs_in = features or []
    if not refs_in:
        raise InvalidRequestError("no features requested")
    chosen: dict[str, list[str]] = {}
    for ref in refs_in:
        if not isinstance(ref, str) or not ref or ref.count(":") > 1:
            raise UnknownFeatureError(f"feature reference {ref!r} must be 'view' or 'view:feature'")
        view_name, _, feature_name = ref.partition(":")
        spec = views.get(view_name)
        if spec is None:
            known = ", ".join(sorted(views)) or "none"
            raise UnknownFeatureViewError(
                f"feature view '{view_name}' is not in the online store (online views: "
                f"{known}); is it online: true, and was `pitstop materialize` run?"
            )
        names = [f.name for f in spec.features]
        if feature_name and feature_name not in names:
            raise UnknownFeatureError(
                f"feature view '{view_name}' has no feature '{feature_name}' "
                f"(it has: {', '.join(names)})"
            )
        picked = chosen.setdefault(view_name, [])
        for name in [feature_name] if feature_name else names:
            if name not in picked:
                picked.append(name)
    plans = []
    refs: list[str] = []
    key_columns: list[str] = []
    for view_name, names in chosen.items():
        spec = views[view_name]
        index = {f.name: (i, f.tag) for i, f in enumerate(spec.features)}
        feats = []
        for name in names:
            position, tag = index[name]
            feats.append((f"{view_name}:{name}", 3 + position, DECODERS[tag] if tag else None))
        refs.extend(ref for ref, _, _ in feats)
        keys = spec.key_names
        key_columns.extend(k for k in keys if k not in key_columns)
        ttl = spec.ttl_seconds
        plans.append(
            _ViewPlan(
                view=view_name,
                keys=keys,
                key_types=spec.key_types,
                integer_key=spec.integer_key,
                ttl_us=None if ttl is None else int(ttl) * 1_000_000,
                layout=spec.layout,
                width=spec.width,
                features=tuple(feats),
                refs=tuple(ref for ref, _, _ in feats),
                plain=None
                if any(decoder is not None for _, _, decoder in feats)
                else tuple((ref, position) for ref, position, _ in feats),
                key_name=keys[0] if len(keys) == 1 else None,
                key_type=int if spec.integer_key else str,
            )
        )
    checks: dict[str, tuple[str, str]] = {}
    for vp in plans:
        for name, kind in zip(vp.keys, vp.key_types, strict=True):
            # the first view naming a column decides its type, as in `_lookup`
            checks.setdefault(name, (name, kind))
    one_keys, build_one = _one_functions(plans, key_columns, refs)
    return _Plan(
        views=tuple(plans),
        refs=tuple(refs),
        key_columns=tuple(key_columns),
        key_set=frozenset(key_columns),
        view_names=tuple(vp.view for vp in plans),
        key_checks=tuple(checks.values()),
        one_keys=one_keys,
        build_one=build_one,
    )


# entity row -> its per-view keys, or None: not plain (see `_one_functions`)
_OneKeys = Callable[[Mapping[str, Any]], tuple[Key, ...] | None]
# (entity row, packed values per view, now in µs) -> the answer, or None: not
# the common case (see `_one_functions`)
_OneBuilder = Callable[[Mapping[str, Any], Sequence[bytes | None], int], "OnlineFeatures | None"]
# above this many features a plan's single lookups take the general loop
_MAX_BUILT_REFS = 500


def _one_functions(
    views: Sequence[_ViewPlan], key_columns: Sequence[str], refs: Sequence[str]
) -> tuple[_OneKeys | None, _OneBuilder | None]:
    """Two functions answering one entity of these views in the common case:

    * ``keys(row)``: the per-view keys of an entity row whose key values all
      have their plain type (``int`` in the signed 64-bit range, ``str``), else
      None (`_one_keys` then validates, normalizes or words the error); None
      itself when a view has a composite key;
    * ``build(row, blobs, now_us)``: the answer when every view holds a row of
      its cached layout, within its TTL, with no NULL feature, else None
      (`_lookup_one` then takes its general loop, which also words every error).

    They are Python source written for this plan, like the methods
    `dataclasses` writes: one ``marshal.loads`` per view and the answer's dicts
    and lists as literals with constant keys, with no loop over views or
    features and no per-ref tuple unpacking, which takes a third off building
    the answer (1 µs of a 3-view lookup, measured); the statuses, all PRESENT,
    are built on demand (`_all_present`). Names enter the source only through
    ``repr``, layouts, TTLs and positions through ``int``."""
    count = sum(len(vp.features) for vp in views)
    if not views or count > _MAX_BUILT_REFS:
        return None, None
    namespace: dict[str, Any] = {
        "loads": _loads,
        "OnlineFeatures": OnlineFeatures,
        "present": functools.partial(_all_present, tuple(refs)),
    }
    lines: list[str] = []
    if all(vp.key_name is not None for vp in views):
        column = {name: f"k{i}" for i, name in enumerate(key_columns)}
        kinds: dict[str, type] = {}
        for vp in views:
            kinds.setdefault(str(vp.key_name), vp.key_type)
        valid = [
            f"type({column[name]}) is int and {INT64_MIN} <= {column[name]} <= {INT64_MAX}"
            if kind is int
            else f"type({column[name]}) is str"
            for name, kind in kinds.items()
        ]
        lines += ["def keys(row):"]
        lines += [f"    {column[name]} = row[{name!r}]" for name in kinds]
        lines += [f"    if {' and '.join(f'({check})' for check in valid)}:"]
        lines += [f"        return ({''.join(f'{column[str(vp.key_name)]}, ' for vp in views)})"]
        lines += ["    return None", ""]
    blobs = [f"b{i}" for i in range(len(views))]
    lines += [
        "def build(row, blobs, now_us):",
        f"    {', '.join(blobs)}, = blobs",
        f"    if {' or '.join(f'{b} is None' for b in blobs)}:",
        "        return None",
    ]
    lines += [f"    r{i} = loads(b{i})" for i in range(len(views))]
    layouts = " or ".join(f"r{i}[0] != {int(vp.layout)}" for i, vp in enumerate(views))
    lines += [f"    if {layouts}:", "        return None"]
    lines += [f"    t{i} = r{i}[1]" for i in range(len(views))]
    expired = [
        f"t{i} < now_us - {int(vp.ttl_us)}" for i, vp in enumerate(views) if vp.ttl_us is not None
    ]
    if expired:
        lines += [f"    if {' or '.join(expired)}:", "        return None"]
    values: list[str] = []
    stamps: list[str] = []
    cells: list[str] = []
    for i, vp in enumerate(views):
        for ref, position, decoder in vp.features:
            cell = f"v{len(cells)}"
            cells.append(cell)
            lines.append(f"    {cell} = r{i}[{int(position)}]")
            if decoder is not None:
                namespace[f"d{len(cells)}"] = decoder
                cell = f"d{len(cells)}({cell})"
            values.append(f"{ref!r}: [{cell}]")
            stamps.append(f"{ref!r}: s{i}")
    lines += [f"    if {' or '.join(f'{cell} is None' for cell in cells)}:", "        return None"]
    lines += [f"    s{i} = [t{i}]" for i in range(len(views))]
    entity = ", ".join(f"{name!r}: [row[{name!r}]]" for name in key_columns)
    lines += [
        "    return OnlineFeatures(",
        f"        {list(map(str, key_columns))!r},",
        f"        {{{entity}}},",
        f"        {list(map(str, refs))!r},",
        f"        {{{', '.join(values)}}},",
        "        present,",
        f"        {{{', '.join(stamps)}}},",
        "    )",
    ]
    exec(compile("\n".join(lines), "<pitstop single lookup>", "exec"), namespace)
    return namespace.get("keys"), namespace["build"]


def get_online_features(
    state: OnlineLookup,
    features: Sequence[str] | None = None,
    service: str | None = None,
    entities: Mapping[str, Sequence[Any]] | None = None,
    entity_rows: Sequence[Mapping[str, Any]] | None = None,
    as_of: datetime | date | None = None,
) -> OnlineFeatures:
    """Latest feature values for some entities, from the online store.

    Args:
        state: the `OnlineLookup` of the store to read (`FeatureStore` owns one).
        features: feature references, ``view:feature`` or ``view`` (all its features).
        service: instead of ``features``, a feature service (a training model's
            feature list).
        entities: key column -> list of values (columns), e.g.
            ``{"customer_id": [1, 2], "merchant_id": [7, 9]}``. A single value
            (``{"customer_id": 42}``, a string, ``None``) is a one-entity column.
        entity_rows: instead of ``entities``, one mapping per entity, e.g.
            ``[{"customer_id": 1, "merchant_id": 7}]`` (a single mapping is one row).
        as_of: the clock TTLs are checked against (default now, UTC): a
            `datetime` (naive UTC or aware) or a `date` (its midnight, UTC).

    Integer keys must fit in a signed 64-bit integer (the online stores' key
    type); ``None`` as a key is a valid request whose status is ``NOT_FOUND``.

    Returns:
        `OnlineFeatures`: per entity and feature the value, a `Status` and the
        feature timestamp.

    Raises:
        UnknownServiceError, UnknownFeatureViewError, UnknownFeatureError: the
            request names something the online store does not hold.
        InvalidEntityKeyError: key columns missing, unexpected, of the wrong type
            or out of range.
        InvalidRequestError: a malformed request (both or neither of a pair given,
            features not strings, rows not mappings, as_of not a datetime or date).
        OnlineStoreError: the store is unreachable or empty.
    """
    plan = None
    if service is None and type(features) is list:
        # the cached plan of a known feature list, without `OnlineLookup.plan`'s
        # checks (a list it cached passed them)
        try:
            plan = state.plans.get(tuple(features))
        except TypeError:  # an unhashable element: `plan` words the error
            plan = None
    if plan is None:
        plan = state.plan(features, service)
    lookup: Callable[[OnlineLookup, _Plan, Any, int], OnlineFeatures]
    keys: Any
    if (
        entities is None
        and type(entity_rows) is list
        and len(entity_rows) == 1
        and type(entity_rows[0]) is dict
        and entity_rows[0].keys() == plan.key_set
    ):
        # one plain dict holding exactly the key columns: the common serving call
        lookup, keys = _lookup_one, entity_rows[0]
    else:
        keys = _key_columns(plan, entities, entity_rows)
        if len(next(iter(keys.values()), ())) == 1:
            lookup, keys = _lookup_one, {name: values[0] for name, values in keys.items()}
        else:
            lookup = _lookup
    if as_of is None:
        now_us = time.time_ns() // 1000
    else:
        if type(as_of) is not datetime:
            as_of = _as_datetime(as_of)
        if as_of.tzinfo is not None:
            as_of = as_of.astimezone(UTC).replace(tzinfo=None)
        now_us = (as_of - _EPOCH) // timedelta(microseconds=1)
    try:
        return lookup(state, plan, keys, now_us)
    except _StaleLayout:
        state.reload()
        plan = state.plan(features, service)
        try:
            return lookup(state, plan, keys, now_us)
        except _StaleLayout:
            raise OnlineStoreError(
                "the online store changed its schema twice during one lookup, or it holds "
                "a value whose layout its metadata does not list (edited or damaged); "
                f"retry, and if it persists, {REBUILD_HINT}"
            ) from None


def _as_datetime(as_of: Any) -> datetime:
    """``as_of`` given as something other than a plain `datetime`: a datetime
    subclass (pandas Timestamp) as is, a `date` as its midnight, else an error."""
    if isinstance(as_of, datetime):
        return as_of
    if isinstance(as_of, date):
        return datetime(as_of.year, as_of.month, as_of.day)
    raise InvalidRequestError(
        f"as_of must be a datetime (naive UTC or aware) or a date, got {as_of!r} "
        f"({type(as_of).__name__})"
    )


class _StaleLayout(Exception):
    """A stored value was written under another layout than the cached snapshot's."""


# what decoding a packed value that is not one (an edited or damaged store)
# raises: marshal errors, a non-tuple or short tuple, a decoder's bad input
_UNDECODABLE = (ValueError, TypeError, EOFError, IndexError, KeyError, ArithmeticError)


def _undecodable(
    state: OnlineLookup, plan: _Plan, vp: _ViewPlan | None, exc: Exception
) -> OnlineStoreError:
    """The error for a stored value that does not decode (error path only: the
    success path of a lookup pays nothing for it)."""
    views = vp.view if vp is not None else ", ".join(plan.view_names)
    return OnlineStoreError(
        f"the online store {state.store.describe()} holds a value of view '{views}' that "
        f"does not decode ({type(exc).__name__}: {exc}): the store was edited or damaged; "
        f"{REBUILD_HINT}"
    )


def _key_columns(
    plan: _Plan,
    entities: Mapping[str, Sequence[Any]] | None,
    entity_rows: Sequence[Mapping[str, Any]] | None,
) -> dict[str, list[Any]]:
    if entities is None and type(entity_rows) is list and entity_rows:
        fast = _dict_rows(plan, entity_rows)
        if fast is not None:
            return fast
    expected = plan.key_columns
    if entities is not None and entity_rows is not None:
        raise InvalidRequestError("pass either entities or entity_rows, not both")
    if entity_rows is not None:
        if isinstance(entity_rows, Mapping):
            entity_rows = [entity_rows]
        elif isinstance(entity_rows, (str, bytes)) or not hasattr(entity_rows, "__iter__"):
            raise InvalidRequestError(
                "entity_rows must be a list of mappings (key column -> value), got "
                f"{type(entity_rows).__name__}"
            )
        elif type(entity_rows) is not list:
            entity_rows = list(entity_rows)
        for row in entity_rows:
            if not isinstance(row, Mapping):
                raise InvalidRequestError(
                    "entity_rows must be a list of mappings (key column -> value), e.g. "
                    f"[{{'customer_id': 42}}]; got a row {row!r} ({type(row).__name__})"
                )
        columns: dict[str, list[Any]] = {}
        if entity_rows:
            names = entity_rows[0].keys()
            for row in entity_rows:
                if row.keys() != names:
                    raise InvalidEntityKeyError(
                        f"every entity row needs the same keys; got {sorted(map(str, names))} "
                        f"and {sorted(map(str, row.keys()))}"
                    )
            columns = {name: [row[name] for row in entity_rows] for name in names}
        else:
            columns = {name: [] for name in expected}
    elif entities is not None:
        if not isinstance(entities, Mapping):
            raise InvalidRequestError(
                "entities must be a mapping key column -> values, e.g. "
                f"{{'customer_id': [1, 2]}}; got {type(entities).__name__}"
            )
        columns = {}
        for name, values in entities.items():
            if type(values) is list:
                columns[name] = values
            elif isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__iter__"):
                # a scalar (42, "A|1", None, a numpy integer): one entity
                columns[name] = [values]
            else:
                columns[name] = list(values)
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise InvalidEntityKeyError(
                "entities: every key column needs the same number of values, got "
                + ", ".join(f"{k}={len(v)}" for k, v in columns.items())
            )
    else:
        raise InvalidRequestError("pass entities={'<key>': [...]} or entity_rows=[{'<key>': ...}]")
    missing = [k for k in expected if k not in columns]
    extra = [k for k in columns if k not in expected]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected {', '.join(map(str, extra))}")
        raise InvalidEntityKeyError(
            f"entity keys: {'; '.join(parts)} (the requested views need: {', '.join(expected)})"
        )
    return columns


def _dict_rows(plan: _Plan, rows: list[Any]) -> dict[str, list[Any]] | None:
    """The key columns of a batch of plain dicts that each hold exactly the
    plan's key columns (the usual batch request), in a few C-level passes; None
    sends anything else to the general path, which also words the errors."""
    if set(map(type, rows)) != _DICT_ONLY or set(map(len, rows)) != {len(plan.key_set)}:
        return None
    try:
        return {name: list(map(operator.itemgetter(name), rows)) for name in plan.key_columns}
    except KeyError:  # same number of keys, other names
        return None


def _check_keys(name: str, kind: str, values: list[Any]) -> list[Any]:
    """Validate (and normalize numpy-style integers) the values of one key column."""
    if kind in INTEGER_TYPES:
        if set(map(type, values)) <= _INT_ONLY:
            if values and (min(values) < INT64_MIN or max(values) > INT64_MAX):
                _out_of_range(name, kind, values)
            return values
        out = []
        for v in values:
            if v is None or type(v) is int:
                out.append(v)
            elif isinstance(v, bool) or not hasattr(v, "__index__"):
                raise InvalidEntityKeyError(
                    f"entity key {name} is an integer ({kind}); got {v!r} ({type(v).__name__})"
                )
            else:
                out.append(operator.index(v))
        present = [v for v in out if v is not None]
        if present and (min(present) < INT64_MIN or max(present) > INT64_MAX):
            _out_of_range(name, kind, present)
        return out
    if set(map(type, values)) <= _STR_ONLY:
        return values
    for v in values:
        if v is not None and type(v) is not str:
            raise InvalidEntityKeyError(
                f"entity key {name} is a string ({kind}); got {v!r} ({type(v).__name__})"
            )
    return values


def _out_of_range(name: str, kind: str, values: list[int]) -> None:
    bad = next(v for v in values if not INT64_MIN <= v <= INT64_MAX)
    raise InvalidEntityKeyError(
        f"entity key {name} ({kind}) = {bad} is outside the signed 64-bit range "
        "the online store keeps integer keys in"
    )


def _lookup(
    state: OnlineLookup, plan: _Plan, columns: dict[str, list[Any]], now_us: int
) -> OnlineFeatures:
    n = len(columns[plan.key_columns[0]]) if plan.key_columns else 0
    checked: dict[str, list[Any]] = {}
    encoded: list[list[Key | None]] = []
    for vp in plan.views:
        for name, kind in zip(vp.keys, vp.key_types, strict=True):
            if name not in checked:
                checked[name] = _check_keys(name, kind, columns[name])
        if len(vp.keys) == 1:
            # views of one entity share this list (the store encodes it once)
            view_keys: list[Any] = checked[vp.keys[0]]
        else:
            view_keys = [
                None if None in parts else encode_key(parts, vp.key_types)
                for parts in zip(*(checked[k] for k in vp.keys), strict=True)
            ]
        encoded.append(view_keys)
    # per view, the packed values aligned with the request rows (None: not found)
    replies = state.store.read_rows(plan.view_names, encoded) if n else [[] for _ in encoded]

    values: dict[str, list[Any]] = {}
    stamps: dict[str, list[int | None]] = {}
    # per ref, its stored values and its view's odd rows: the statuses, on demand
    pending: list[tuple[str, tuple[Any, ...], dict[int, Status]]] = []
    try:
        for vp, blobs in zip(plan.views, replies, strict=True):
            # missing keys get a stand-in row: the view's layout, a far-future
            # timestamp (never expired) and NULL features; patched below
            missing_row = (vp.layout, _NEVER, None) + (None,) * (vp.width - 3)
            rows: list[tuple[Any, ...]]
            absent = None in blobs
            if absent:
                rows = [missing_row if b is None else _loads(b) for b in blobs]
            else:
                rows = list(map(_loads, blobs))  # type: ignore[arg-type]
            try:
                cols = list(zip(*rows, strict=True)) if rows else [()] * vp.width
            except ValueError:
                # rows of different widths: a row of another layout (the
                # stand-ins have the cached layout, so they always pass) or damage
                if list(map(_first, rows)).count(vp.layout) != n:
                    raise _StaleLayout from None
                raise
            if cols[0].count(vp.layout) != n:
                raise _StaleLayout
            # rows that are not simply PRESENT: not found or expired
            odd: dict[int, Status] = {}
            ts_col: list[int | None] = list(cols[1])
            if absent:
                for i, blob in enumerate(blobs):
                    if blob is None:
                        odd[i] = NOT_FOUND
                        ts_col[i] = None
            if vp.ttl_us is not None and n:
                cutoff = now_us - vp.ttl_us
                if min(cols[1]) < cutoff:
                    for i, ts in enumerate(cols[1]):
                        if ts < cutoff:
                            odd[i] = EXPIRED
            for ref, position, decoder in vp.features:
                stored = cols[position]
                col = list(stored)
                for i in odd:
                    col[i] = None
                if decoder is not None:
                    col = [None if v is None else decoder(v) for v in col]
                values[ref] = col
                stamps[ref] = ts_col
                pending.append((ref, stored, odd))
    except _UNDECODABLE as exc:
        raise _undecodable(state, plan, locals().get("vp"), exc) from None
    return OnlineFeatures(
        key_columns=list(plan.key_columns),
        keys={k: list(columns[k]) for k in plan.key_columns},
        refs=list(plan.refs),
        values=values,
        statuses=functools.partial(_batch_statuses, n, pending),
        timestamps_us=stamps,
    )


def _batch_statuses(
    n: int, pending: list[tuple[str, tuple[Any, ...], dict[int, Status]]]
) -> dict[str, list[Status]]:
    """The statuses of a batch `_lookup` answered: NULL where the stored value
    is None, the view's odd rows (NOT_FOUND, EXPIRED) over that, else PRESENT.
    Scanning values for None costs 20-40 ns each (a rich comparison per value),
    a third of building a 1,000-entity answer: done on first access only."""
    statuses: dict[str, list[Status]] = {}
    for ref, stored, odd in pending:
        status = [PRESENT] * n
        if None in stored:
            for i, v in enumerate(stored):
                if v is None:
                    status[i] = NULL
        for i, kind in odd.items():
            status[i] = kind
        statuses[ref] = status
    return statuses


def _all_present(refs: tuple[str, ...]) -> dict[str, list[Status]]:
    """The statuses of a single lookup every feature of which is PRESENT."""
    return {ref: [PRESENT] for ref in refs}


def entity_key_types(
    state: OnlineLookup, features: Sequence[str] | None = None, service: str | None = None
) -> dict[str, str]:
    """Key column -> SQL type of the entities a request needs (the CLI uses it
    to turn ``customer_id=42`` into the right Python type)."""
    plan = state.plan(features, service)
    types: dict[str, str] = {}
    for vp in plan.views:
        for name, kind in zip(vp.keys, vp.key_types, strict=True):
            types.setdefault(name, kind)
    return types


def _lookup_one(
    state: OnlineLookup, plan: _Plan, row: dict[str, Any], now_us: int
) -> OnlineFeatures:
    """`_lookup` for exactly one entity, given as key column -> value: same
    result, fewer intermediate lists (the common serving call). Plain loops: on
    CPython 3.11 they beat building the per-ref dicts with zip/map (measured)."""
    one_keys = plan.one_keys
    keys: Sequence[Key | None] | None = one_keys(row) if one_keys is not None else None
    if keys is None:
        keys = _one_keys(plan, row)  # None, numpy integers, composite keys, or an error
    blobs = state.store.read_one(plan.view_names, keys)
    build = plan.build_one
    if build is not None:
        try:
            answer = build(row, blobs, now_us)
        except _UNDECODABLE:
            answer = None  # the general loop below raises it, naming the view
        if answer is not None:
            return answer
    values: dict[str, list[Any]] = {}
    statuses: dict[str, list[Status]] = {}
    stamps: dict[str, list[int | None]] = {}
    try:
        for vp, blob in zip(plan.views, blobs, strict=True):
            if blob is None:
                missing: list[int | None] = [None]
                for ref in vp.refs:
                    values[ref] = [None]
                    statuses[ref] = [NOT_FOUND]
                    stamps[ref] = missing
                continue
            packed = _loads(blob)
            if packed[0] != vp.layout:
                raise _StaleLayout
            ts_list: list[int | None] = [packed[1]]
            if vp.ttl_us is not None and packed[1] < now_us - vp.ttl_us:
                for ref in vp.refs:
                    values[ref] = [None]
                    statuses[ref] = [EXPIRED]
                    stamps[ref] = ts_list
                continue
            plain = vp.plain
            if plain is not None:
                # no decoders: half the time of the general loop (measured)
                for ref, position in plain:
                    value = packed[position]
                    values[ref] = [value]
                    statuses[ref] = [NULL] if value is None else [PRESENT]
                    stamps[ref] = ts_list
                continue
            for ref, position, decoder in vp.features:
                value = packed[position]
                if value is None:
                    values[ref] = [None]
                    statuses[ref] = [NULL]
                else:
                    values[ref] = [value if decoder is None else decoder(value)]
                    statuses[ref] = [PRESENT]
                stamps[ref] = ts_list
    except _UNDECODABLE as exc:
        raise _undecodable(state, plan, locals().get("vp"), exc) from None
    columns = {name: [row[name]] for name in plan.key_columns}
    return OnlineFeatures(
        list(plan.key_columns), columns, list(plan.refs), values, statuses, stamps
    )


def _one_keys(plan: _Plan, row: Mapping[str, Any]) -> list[Key | None]:
    """The per-view keys of one entity, validated one by one (numpy integers
    normalized, None kept, composite keys encoded): the slow half of `_lookup_one`."""
    checked = {name: _check_keys(name, kind, [row[name]])[0] for name, kind in plan.key_checks}
    keys: list[Key | None] = []
    for vp in plan.views:
        parts = [checked[name] for name in vp.keys]
        if len(parts) == 1:
            keys.append(parts[0])
        else:
            keys.append(None if None in parts else encode_key(parts, vp.key_types))
    return keys
