"""`pitstop.cli.keys`: KEY=VALUE arguments of `pitstop get` and `pitstop history`."""

from __future__ import annotations

import click
import pytest

from pitstop.cli.keys import parse_key_args, split_key_args
from pitstop.errors import InvalidEntityKeyError

TYPES = {"customer_id": "bigint", "code": "varchar"}


@pytest.mark.parametrize("value, expected", [("42", 42), ("-7", -7), ("+3", 3), ("007", 7)])
def test_plain_integers_parse(value: str, expected: int) -> None:
    assert parse_key_args({"customer_id": value}, TYPES) == {"customer_id": expected}


@pytest.mark.parametrize(
    "value",
    ["4_2", " 42", "42 ", "\u0664\u0662", "\uff14\uff12", "42.0", "0x2a", "", "+", "4 2", "1e3"],
    ids=repr,
)
def test_lenient_integers_are_rejected(value: str) -> None:
    """int() accepts several of these (underscores, padding, other scripts'
    digits) and would look up entity 42: each must be an error naming the key."""
    with pytest.raises(InvalidEntityKeyError, match=r"customer_id is an integer \(bigint\)"):
        parse_key_args({"customer_id": value}, TYPES)


def test_string_keys_are_kept_verbatim() -> None:
    assert parse_key_args({"code": " a_1 "}, TYPES) == {"code": " a_1 "}


def test_a_repeated_key_is_rejected() -> None:
    with pytest.raises(click.BadParameter, match="customer_id is given twice"):
        split_key_args(["customer_id=1", "customer_id=42"])
    assert split_key_args(["customer_id=1", "code=a=b"]) == {"customer_id": "1", "code": "a=b"}


@pytest.mark.parametrize("item", ["customer_id", "=42"])
def test_malformed_items_are_rejected(item: str) -> None:
    with pytest.raises(click.BadParameter, match="is not KEY=VALUE"):
        split_key_args([item])
