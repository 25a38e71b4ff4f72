"""Every macro of the package is documented in macros/_macros.yml, and the
public ones list their arguments exactly as the Jinja signature declares them,
with a type from dbt's vocabulary and a description: the YAML is what
`dbt docs` shows a user of the package, so it must not drift from the code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
MACROS = ROOT / "macros"

_DEFINITION = re.compile(r"\{%-?\s*(macro|test)\s+(\w+)\s*\((.*?)\)\s*-?%\}", re.DOTALL)


def _split_params(text: str) -> list[str]:
    """Parameter names of a Jinja signature, ignoring commas inside defaults."""
    names: list[str] = []
    depth, current, quote = 0, "", ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            names.append(current)
            current = ""
            continue
        current += char
    if current.strip():
        names.append(current)
    return [part.split("=")[0].strip() for part in names]


def _definitions() -> dict[str, list[str]]:
    """Macro name (generic tests as ``test_<name>``, as dbt registers them) -> parameters."""
    found: dict[str, list[str]] = {}
    for path in sorted(MACROS.rglob("*.sql")):
        for kind, name, params in _DEFINITION.findall(path.read_text()):
            full = f"test_{name}" if kind == "test" else name
            assert full not in found, f"macro {full} is defined twice"
            found[full] = _split_params(params)
    return found


def _documented() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load((MACROS / "_macros.yml").read_text())
    return {entry["name"]: entry for entry in data["macros"]}


def _is_public(name: str) -> bool:
    return not name.startswith("_") and "__" not in name


def test_every_macro_is_documented() -> None:
    defined, documented = _definitions(), _documented()
    assert "point_in_time_join" in defined and "test_unique_key" in defined
    missing = sorted(set(defined) - set(documented))
    assert not missing, f"macros missing from macros/_macros.yml: {missing}"
    stale = sorted(set(documented) - set(defined))
    assert not stale, f"macros/_macros.yml documents macros that do not exist: {stale}"
    for name, entry in documented.items():
        assert str(entry.get("description") or "").strip(), f"{name} has no description"


@pytest.mark.parametrize("name", sorted(name for name in _definitions() if _is_public(name)))
def test_public_macro_arguments_match_the_signature(name: str) -> None:
    from dbt.parser.schemas import is_valid_type

    entry = _documented()[name]
    assert "arguments" in entry, f"{name}: document its arguments (`arguments: []` when none)"
    arguments = entry["arguments"] or []
    assert [a["name"] for a in arguments] == _definitions()[name], (
        f"{name}: documented arguments differ from the signature"
    )
    for argument in arguments:
        where = f"{name}.{argument['name']}"
        assert is_valid_type(str(argument.get("type") or "")), f"{where}: no valid dbt type"
        assert str(argument.get("description") or "").strip(), f"{where}: no description"
