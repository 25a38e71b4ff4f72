"""Time and duration parsing shared by the registry, the offline and online paths.

Warehouse timestamps are naive UTC; users pass naive UTC, aware datetimes,
dates or ISO text. Everything converges here so that a TTL or an ``as_of``
means the same thing to `training_set`, `feature_history`, `materialize` and
the CLI. The TTL language is also implemented in Jinja
(``pitstop._ttl_seconds``) for the macros; ``tests/data/durations.csv`` is the
one table of inputs both must agree on.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

__all__ = [
    "MAX_TTL_SECONDS",
    "epoch_us",
    "format_duration",
    "naive_utc",
    "parse_timestamp",
    "parse_ttl",
]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"([0-9]+[smhdw])+")
_PART = re.compile(r"([0-9]+)([smhdw])")
# 10,000 days: longer TTLs are "forever" in practice, and every engine's
# interval arithmetic (DuckDB's INT32 seconds among them) holds it
MAX_TTL_SECONDS = 10_000 * 86_400
_EPOCH = datetime(1970, 1, 1)


def parse_ttl(value: object) -> timedelta | None:
    """Parse a TTL such as ``30d``, ``12h``, ``90m``, ``45s``, ``2w`` or ``1d12h``.

    ``None`` and ``"none"`` mean no TTL. A unit is required (a bare ``7`` is
    rejected rather than read as seconds), case and surrounding blanks do not
    matter, and the total must be positive and at most 10,000 days.

    Raises:
        ValueError: the value is not such a duration (the message says why).
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(
            f"{value!r} has no unit; write a duration like 30d, 12h, 90m, 45s, 2w or 1d12h"
        )
    text = value.strip().lower()
    if text == "none":
        return None
    if not _DURATION.fullmatch(text):
        raise ValueError(f"{value!r} is not a duration like 30d, 12h, 90m, 45s, 2w or 1d12h")
    seconds = sum(int(amount) * _UNITS[unit] for amount, unit in _PART.findall(text))
    if seconds <= 0:
        raise ValueError(f"{value!r} must be longer than zero")
    if seconds > MAX_TTL_SECONDS:
        raise ValueError(f"{value!r} is longer than 10000d; use none for no TTL")
    return timedelta(seconds=seconds)


def format_duration(seconds: float) -> str:
    """The shortest exact form of a duration in the TTL language (``86400`` -> ``1d``)."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def naive_utc(moment: datetime) -> datetime:
    """``moment`` as a naive UTC datetime (aware values are converted)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def epoch_us(moment: datetime) -> int:
    """Microseconds since 1970-01-01 UTC (exact integer arithmetic, no float)."""
    delta = naive_utc(moment) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def parse_timestamp(value: object, name: str) -> datetime:
    """A user-given time as naive UTC: a datetime, a date (its midnight) or ISO text.

    Raises:
        ValueError: naming ``name`` and what was given.
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                f"{name}: {value!r} is not an ISO-8601 time like 2025-07-01 or 2025-07-01T12:00:00"
            ) from None
    if isinstance(value, datetime):
        return naive_utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    raise ValueError(f"{name} must be a datetime, a date or an ISO-8601 string, got {value!r}")
