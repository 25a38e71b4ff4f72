"""``pitstop docs``: the dbt docs site as the feature registry (build, check, serve)."""

from __future__ import annotations

from pathlib import Path

import click

from pitstop.cli import open_store
from pitstop.errors import ProjectError

__all__ = ["docs_cmd"]


@click.group("docs", invoke_without_command=True)
@click.option(
    "--static",
    is_flag=True,
    help="Also write target/static_index.html: the whole site in one file to publish.",
)
@click.option(
    "--exposures/--no-exposures",
    default=None,
    help="Write dbt exposures from the MLflow model registry (default: when one exists).",
)
@click.pass_context
def docs_cmd(ctx: click.Context, static: bool, exposures: bool | None) -> None:
    """Build the dbt docs site with the feature registry in it.

    Writes the generated docs blocks (models/_pitstop_docs.md: each feature
    view's contract, quality tests and column lineage; each training model's
    feature service) and the overview (models/_pitstop_overview.md: entities,
    feature views with freshness, feature services), then runs
    `dbt docs generate`. `pitstop docs serve` serves the site on 127.0.0.1.

    \b
    Examples:
      pitstop docs
      pitstop docs --static    # target/static_index.html, one file
      pitstop docs serve --port 8080
      pitstop docs check       # is models/_pitstop_docs.md current?
    """
    if ctx.invoked_subcommand is not None:
        return
    from pitstop.registry.docs import generate

    result = generate(open_store(ctx).project, static=static, exposures=exposures)
    for path in result.written:
        click.echo(f"wrote {path}")
    for note in result.notes:
        click.echo(note)
    click.echo(
        f"docs site: {result.site} ({result.views} feature views, {result.services} "
        "feature services)"
    )
    if result.unresolved:
        click.echo(
            f"lineage unresolved for {len(result.unresolved)} feature(s): "
            + ", ".join(result.unresolved),
            err=True,
        )


@docs_cmd.command("check")
@click.pass_context
def docs_check(ctx: click.Context) -> None:
    """Fail when models/_pitstop_docs.md does not match the project.

    Compiles the project when the manifest is stale, renders the blocks and
    compares them with the committed file; run `pitstop docs` to update it.

    \b
    Example:
      pitstop docs check
    """
    from pitstop.registry.docs import DOCS_FILE, check

    stale = check(open_store(ctx).project)
    if stale:
        raise click.ClickException(
            f"{DOCS_FILE} is out of date ({', '.join(stale)}); run `pitstop docs`"
        )
    click.echo(f"{DOCS_FILE} is current")


@docs_cmd.command("serve")
@click.option("--port", default=8080, show_default=True, type=int, help="0 picks a free port.")
@click.option("--static", is_flag=True, help="Serve static_index.html as the front page.")
@click.pass_context
def docs_serve(ctx: click.Context, port: int, static: bool) -> None:
    """Serve the docs site (built by `pitstop docs`) on 127.0.0.1 until Ctrl-C.

    \b
    Example:
      pitstop docs serve --port 8080
    """
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    target = open_store(ctx).project.target_path
    page = "static_index.html" if static else "index.html"
    if not (target / page).is_file():
        hint = "pitstop docs --static" if static else "pitstop docs"
        raise ProjectError(f"{target / page} does not exist; run `{hint}` first")

    class Handler(SimpleHTTPRequestHandler):
        """Files of the target directory; `/` is the chosen front page."""

        def do_GET(self) -> None:
            if self.path in ("/", "") or self.path.startswith("/?"):
                self.path = "/" + page
            super().do_GET()

        def log_message(self, format: str, *args: object) -> None:
            return  # one line per request would bury the URL

    handler = functools.partial(Handler, directory=str(Path(target)))
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    click.echo(f"serving {target / page} at http://127.0.0.1:{server.server_port}/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
