"""The ``pitstop`` command line.

Subcommands live in their own modules and are imported only when invoked, so
that ``pitstop get`` (an online lookup) starts without loading dbt. Library
errors (`PitstopError`) become one-paragraph CLI errors here, at the command
boundary, with a non-zero exit code and no traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import click

from pitstop.errors import PitstopError

__all__ = ["main"]

# command name -> (module, attribute); modules are imported on first use
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "features": ("pitstop.cli.features", "features"),
    "training-set": ("pitstop.cli.training", "training_set_cmd"),
    "materialize": ("pitstop.cli.online", "materialize_cmd"),
    "get": ("pitstop.cli.online", "get_cmd"),
    "history": ("pitstop.cli.history", "history_cmd"),
    "spine": ("pitstop.cli.spine", "spine_cmd"),
    "docs": ("pitstop.cli.docs", "docs_cmd"),
    "models": ("pitstop.cli.models", "models"),
    "serve": ("pitstop.cli.serve", "serve_cmd"),
}


class LazyGroup(click.Group):
    """A group whose commands are imported when used and whose errors are tidy."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(
            name
            for name, (module, _) in LAZY_COMMANDS.items()
            if importlib.util.find_spec(module) is not None
        )

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in LAZY_COMMANDS:
            return None
        module_name, attr = LAZY_COMMANDS[cmd_name]
        if importlib.util.find_spec(module_name) is None:
            return None
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PitstopError as exc:
            raise click.ClickException(f"{type(exc).__name__}: {exc}") from None


@click.group(cls=LazyGroup)
@click.option(
    "--project-dir",
    type=click.Path(file_okay=False),
    envvar="PITSTOP_PROJECT_DIR",
    help="The dbt project (default: the nearest directory with dbt_project.yml).",
)
@click.option("--target", help="dbt target (default: the profile's default, dev).")
@click.version_option(package_name="pitstop")
@click.pass_context
def cli(ctx: click.Context, project_dir: str | None, target: str | None) -> None:
    """Pitstop: a SQL-first feature store that is a dbt project.

    \b
    Examples:
      pitstop features list
      pitstop features describe customer_profile --json
    """
    ctx.obj = {"project_dir": project_dir, "target": target}


def open_store(ctx: click.Context) -> Any:
    """The `FeatureStore` for the group's ``--project-dir`` and ``--target``."""
    from pitstop.store import FeatureStore

    obj = ctx.find_root().obj or {}
    return FeatureStore(obj.get("project_dir"), target=obj.get("target"))


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="pitstop")
