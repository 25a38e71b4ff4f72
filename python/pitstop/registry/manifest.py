"""Reading dbt's artifacts: ``target/manifest.json`` and ``target/catalog.json``.

The manifest is the registry's source of truth. It is re-created with an
in-process ``dbt parse`` when it is missing, older than any project file, or
unreadable (a build killed while writing it leaves a truncated file; parsing
again is the fix a user would apply by hand). The catalog only adds column
types for columns without a ``data_type``, so a broken catalog is ignored.
"""

from __future__ import annotations

import json
from typing import Any

from pitstop.errors import ProjectError
from pitstop.project import Project

__all__ = ["read_catalog", "read_manifest"]


def read_manifest(project: Project, parse_if_stale: bool = True) -> dict[str, Any]:
    """The dbt manifest of ``project``, parsed first when missing, stale or unreadable.

    Raises:
        ProjectError: there is no readable manifest and parsing was not allowed.
        DbtError: ``dbt parse`` failed (its messages say why).
    """
    if parse_if_stale and project.manifest_is_stale():
        project.run_dbt(["parse"])
    path = project.manifest_path
    for attempt in (1, 2):
        try:
            data = json.loads(path.read_text())
            if not isinstance(data, dict) or "nodes" not in data:
                raise ValueError("not a dbt manifest")
            return data
        except FileNotFoundError:
            raise ProjectError(
                f"{path} does not exist; run `dbt parse` in {project.root}"
            ) from None
        except (ValueError, UnicodeDecodeError) as exc:
            if attempt == 2 or not parse_if_stale:
                raise ProjectError(
                    f"{path} is not a readable dbt manifest ({exc}); run `dbt parse` in "
                    f"{project.root}"
                ) from None
            project.run_dbt(["parse"])
    raise AssertionError("unreachable")


def read_catalog(project: Project) -> dict[str, Any] | None:
    """``target/catalog.json`` (written by ``dbt docs generate``), or None when
    missing or unreadable: it only fills in column types."""
    path = project.target_path / "catalog.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
