"""Entity keys given on the command line as ``KEY=VALUE`` arguments.

Shared by ``pitstop get`` and ``pitstop history`` so both read keys the same
way; kept free of heavy imports because ``pitstop get`` is a cold-start path.

Parsing is strict on purpose: Python's ``int()`` also accepts ``4_2``,
``" 42"`` and non-ASCII digits (``"٤٢"``), each of which would silently look
up customer 42, and a repeated key would silently let the last one win. A
typo must be an error, never another entity's features.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import click

from pitstop.errors import InvalidEntityKeyError
from pitstop.online.codec import INTEGER_TYPES

__all__ = ["parse_key_args", "split_key_args"]

# ASCII digits with an optional sign, nothing else (no spaces, underscores or
# other scripts' digits, all of which int() accepts)
_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)


def split_key_args(items: Sequence[str]) -> dict[str, str]:
    """``["customer_id=42"]`` as ``{"customer_id": "42"}``.

    Raises:
        click.BadParameter: an item is not ``KEY=VALUE``, or a key is given twice.
    """
    raw: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="KEY=VALUE")
        if name in raw:
            raise click.BadParameter(
                f"key {name} is given twice ({name}={raw[name]} and {item}); give each key once",
                param_hint="KEY=VALUE",
            )
        raw[name] = value
    return raw


def parse_key_args(raw: Mapping[str, str], types: Mapping[str, str]) -> dict[str, Any]:
    """Typed entity keys: integers where the entity declares an integer key type.

    Raises:
        InvalidEntityKeyError: a value is not a plain integer (ASCII digits with
            an optional sign) where one is required.
    """
    row: dict[str, Any] = {}
    for name, value in raw.items():
        if types.get(name, "varchar") in INTEGER_TYPES:
            if not _INTEGER.fullmatch(value):
                raise InvalidEntityKeyError(
                    f"entity key {name} is an integer ({types[name]}); got {value!r}: use "
                    "ASCII digits 0-9 with an optional sign, without spaces or underscores"
                )
            row[name] = int(value)
        else:
            row[name] = value
    return row
