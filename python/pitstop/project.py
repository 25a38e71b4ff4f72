"""The dbt project on disk: where it is, its settings, its manifest, running dbt.

Everything that touches dbt goes through `Project.run_dbt`, so that telemetry
is off, the profile is found without the user copying files, and the DuckDB
file that dbt writes is the one the Python side reads.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from pitstop.errors import DbtError, ProjectError
from pitstop.settings import env

__all__ = ["Project"]

# dbt would otherwise phone home; set before dbt is ever imported
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

# {{ env_var('NAME') }} or {{ env_var('NAME', 'default') }} in a profile
_ENV_VAR = re.compile(
    r"\{\{\s*env_var\(\s*['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]\s*"
    r"(?:,\s*['\"]([^'\"]*)['\"]\s*)?\)\s*\}\}"
)
# files whose change makes target/manifest.json stale
_MANIFEST_INPUTS = ("models", "macros", "snapshots", "analyses", "seeds", "tests")
_MANIFEST_SUFFIXES = {".sql", ".yml", ".yaml", ".md", ".csv"}
# dbt keeps its flags, adapters and event manager in globals: one invocation at
# a time per process (a background compile warm-up must not overlap a build)
_DBT_LOCK = threading.RLock()


class Project:
    """A Pitstop project: a dbt project directory plus where its outputs live."""

    def __init__(self, root: Path, target: str | None = None) -> None:
        self.root = root.resolve()
        self.target = target
        if not (self.root / "dbt_project.yml").is_file():
            raise ProjectError(f"{self.root} is not a dbt project: it has no dbt_project.yml")

    @classmethod
    def find(cls, project_dir: str | Path | None = None, target: str | None = None) -> Project:
        """Locate the project: the given directory, ``PITSTOP_PROJECT_DIR``, or the
        nearest directory at or above the current one that holds ``dbt_project.yml``."""
        if project_dir is None:
            project_dir = env("PITSTOP_PROJECT_DIR")
        if project_dir is not None:
            return cls(Path(project_dir), target)
        here = Path.cwd().resolve()
        for candidate in (here, *here.parents):
            if (candidate / "dbt_project.yml").is_file():
                return cls(candidate, target)
        raise ProjectError(
            f"no dbt_project.yml in {here} or its parents; pass project_dir or set "
            "PITSTOP_PROJECT_DIR"
        )

    @cached_property
    def dbt_project(self) -> dict[str, Any]:
        """The parsed ``dbt_project.yml``."""
        path = self.root / "dbt_project.yml"
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise ProjectError(f"{path} is not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise ProjectError(f"{path} must be a mapping")
        return data

    @property
    def name(self) -> str:
        return str(self.dbt_project.get("name", "pitstop"))

    @property
    def vars(self) -> dict[str, Any]:
        """Project-level vars from ``dbt_project.yml`` (where entities and settings live)."""
        return dict(self.dbt_project.get("vars") or {})

    @property
    def target_path(self) -> Path:
        """dbt's target directory (``DBT_TARGET_PATH`` overrides the project's)."""
        configured = env("DBT_TARGET_PATH") or self.dbt_project.get("target-path", "target")
        path = Path(configured)
        return path if path.is_absolute() else self.root / path

    @property
    def profiles_dir(self) -> Path:
        """Where dbt finds ``profiles.yml``: ``DBT_PROFILES_DIR`` or the project root,
        which gets a copy of ``profiles.example.yml`` the first time it is needed."""
        configured = env("DBT_PROFILES_DIR")
        if configured:
            return Path(configured).resolve()
        profile = self.root / "profiles.yml"
        example = self.root / "profiles.example.yml"
        if not profile.exists() and example.exists():
            shutil.copyfile(example, profile)
        return self.root

    @property
    def duckdb_path(self) -> Path:
        """The DuckDB file dbt builds into for this target.

        ``PITSTOP_DUCKDB_PATH`` wins; then the ``path`` of the target's output in
        the project's ``profiles.yml`` (``env_var(...)`` rendered, relative paths
        taken from the project root, as the Makefile runs dbt there); when the
        profile cannot be read that way, the defaults of
        ``profiles.example.yml``: ``pitstop.duckdb`` for ``dev`` and
        ``target/<target>.duckdb`` for any other target.
        """
        configured = env("PITSTOP_DUCKDB_PATH") or self._profile_duckdb_path()
        if configured:
            path = Path(configured)
            return path if path.is_absolute() else self.root / path
        if self.target in (None, "dev"):
            return self.root / "pitstop.duckdb"
        return self.root / "target" / f"{self.target}.duckdb"

    def profile_output(self) -> dict[str, Any] | None:
        """The profile's entry (dbt "output") for this project's target, or
        None when the profile cannot be read or has none."""
        try:
            profiles = yaml.safe_load((self.profiles_dir / "profiles.yml").read_text())
            profile = profiles[str(self.dbt_project.get("profile", self.name))]
            output = profile["outputs"][self.target or profile.get("target", "dev")]
        except (OSError, yaml.YAMLError, KeyError, TypeError):
            return None
        return output if isinstance(output, dict) else None

    def _profile_duckdb_path(self) -> str | None:
        """The DuckDB path the project's profile declares for this target, if plain."""
        output = self.profile_output()
        raw = output.get("path") if output is not None else None
        if output is None or output.get("type") != "duckdb" or not isinstance(raw, str):
            return None
        rendered = _ENV_VAR.sub(lambda m: os.environ.get(m[1]) or m[2] or "", raw)
        if "{" in rendered or not rendered.strip() or rendered.strip() == ":memory:":
            return None
        return rendered.strip()

    @property
    def manifest_path(self) -> Path:
        return self.target_path / "manifest.json"

    def _manifest_inputs(self) -> Iterator[Path]:
        yield self.root / "dbt_project.yml"
        for folder in _MANIFEST_INPUTS:
            base = self.root / folder
            if base.is_dir():
                for path in base.rglob("*"):
                    if path.suffix in _MANIFEST_SUFFIXES:
                        yield path

    def manifest_is_stale(self) -> bool:
        """True when the manifest is missing or older than any project file."""
        try:
            built = self.manifest_path.stat().st_mtime
        except FileNotFoundError:
            return True
        return any(path.stat().st_mtime > built for path in self._manifest_inputs())

    def dbt_env(self) -> dict[str, str]:
        """Environment variables every dbt run of this project needs."""
        return {
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
            "DO_NOT_TRACK": "1",
            "PITSTOP_DUCKDB_PATH": str(self.duckdb_path),
        }

    def run_dbt(self, args: list[str], *, manifest: Any = None) -> Any:
        """Run dbt in process (``dbtRunner``) against this project.

        ``manifest`` is a dbt ``Manifest`` already parsed in this process
        (``run_dbt(["parse"]).result``): dbt then skips parsing the project,
        which is most of a ``compile --inline``'s time. Invocations are
        serialized, as dbt's state is process-global.

        Returns dbt's result object. Raises `DbtError` with dbt's own error
        messages when the command fails, so callers never see a traceback.
        """
        from dbt.cli.main import dbtRunner

        errors: list[str] = []

        def collect(event: Any) -> None:
            if event.info.level == "error":
                message = event.info.msg.strip()
                if message:
                    errors.append(message)

        # --quiet keeps stdout clean for callers that print JSON; errors are
        # collected by the callback above and raised as DbtError
        full_args = ["--quiet", *args, "--project-dir", str(self.root)]
        if args[:1] != ["deps"]:  # deps takes neither a profile nor a target
            full_args += ["--profiles-dir", str(self.profiles_dir)]
            full_args += ["--target-path", str(self.target_path)]
            if self.target:
                full_args += ["--target", self.target]
        # the profile reads PITSTOP_DUCKDB_PATH while dbt runs; restore it after
        # so one project's path does not leak into the rest of the process
        with _DBT_LOCK:
            saved = {key: os.environ.get(key) for key in self.dbt_env()}
            os.environ.update(self.dbt_env())
            try:
                result = dbtRunner(manifest=manifest, callbacks=[collect]).invoke(full_args)
            finally:
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
        if not result.success:
            detail = "\n".join(errors) or str(result.exception or "unknown error")
            raise DbtError(f"dbt {' '.join(args[:1])} failed in {self.root}:\n{_untraced(detail)}")
        return result


def _untraced(text: str) -> str:
    """dbt's message without any Python traceback it embeds (users get the cause)."""
    lines: list[str] = []
    skipping = False
    for line in text.splitlines():
        if line.startswith("Traceback (most recent call last)"):
            skipping = True
            continue
        if skipping and (line.startswith((" ", "\t")) or not line.strip()):
            continue
        skipping = False
        lines.append(line)
    return "\n".join(lines).strip()
