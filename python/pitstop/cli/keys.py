"""Entity keys given on the command line as ``KEY=VALUE`` arguments.

Shared by ``pitstop get`` and ``pitstop history`` so both read keys the same
way; kept free of heavy imports because ``pitstop get`` is a cold-start path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import click

from pitstop.errors import InvalidEntityKeyError
from pitstop.online.codec import INTEGER_TYPES

__all__ = ["parse_key_args", "split_key_args"]


def split_key_args(items: Sequence[str]) -> dict[str, str]:
    """``["customer_id=42"]`` as ``{"customer_id": "42"}``; rejects malformed items."""
    raw: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="KEY=VALUE")
        raw[name] = value
    return raw


def parse_key_args(raw: Mapping[str, str], types: Mapping[str, str]) -> dict[str, Any]:
    """Typed entity keys: integers where the entity declares an integer key type.

    Raises:
        InvalidEntityKeyError: a value is not an integer where one is required.
    """
    row: dict[str, Any] = {}
    for name, value in raw.items():
        if types.get(name, "varchar") in INTEGER_TYPES:
            try:
                row[name] = int(value)
            except ValueError:
                raise InvalidEntityKeyError(
                    f"entity key {name} is an integer ({types[name]}); got {value!r}"
                ) from None
        else:
            row[name] = value
    return row
