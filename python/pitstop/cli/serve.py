"""``pitstop serve``: the HTTP feature server on uvicorn (uvloop + httptools)."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

import click

__all__ = ["serve_cmd"]


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _log_to_stderr(level: str) -> None:
    """The server's own messages (reloads, model swaps) next to uvicorn's."""
    import logging

    logger = logging.getLogger("pitstop")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=6566, show_default=True, type=int, help="Port (Feast's default).")
@click.option(
    "--tokens-file",
    type=click.Path(dir_okay=False),
    help="API tokens as `NAME SHA256 [GROUPS]` lines (or PITSTOP_SERVE_TOKENS[_FILE]); "
    "no tokens configured = no auth.",
)
@click.option("--max-entities", default=1000, show_default=True, help="Entities per request.")
@click.option("--max-body-bytes", default=1 << 20, show_default=True, help="Request body size.")
@click.option("--timeout", default=10.0, show_default=True, help="Seconds per request.")
@click.option(
    "--reload-interval",
    default=1.0,
    show_default=True,
    help="Seconds between checks for a new manifest or materialization.",
)
@click.option(
    "--model",
    "models",
    multiple=True,
    metavar="NAME",
    help="Serve this registered model at POST /models/NAME/predict (repeatable).",
)
@click.option("--model-alias", default="champion", show_default=True, help="Alias to follow.")
@click.option("--model-poll", default=5.0, show_default=True, help="Seconds between alias checks.")
@click.option("--no-docs", is_flag=True, help="Do not serve /docs and /openapi.json.")
@click.option("--access-log", is_flag=True, help="Log every request (uvicorn's access log).")
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
@click.option(
    "--hash-token",
    is_flag=True,
    help="Read a token on stdin, print the SHA-256 to configure, and exit.",
)
@click.pass_context
def serve_cmd(
    ctx: click.Context,
    host: str,
    port: int,
    tokens_file: str | None,
    max_entities: int,
    max_body_bytes: int,
    timeout: float,
    reload_interval: float,
    models: tuple[str, ...],
    model_alias: str,
    model_poll: float,
    no_docs: bool,
    access_log: bool,
    log_level: str,
    hash_token: bool,
) -> None:
    """Serve online features over HTTP: Feast's /get-online-features, Pitstop's
    /features/online, the registry, model predictions, health and metrics.

    New manifests (dbt build/parse) and materializations are picked up without
    a restart; promoted model versions too.

    \b
    Examples:
      pitstop serve
      pitstop serve --port 8080 --tokens-file tokens.txt --model fraud_model
      printf %s "$TOKEN" | pitstop serve --hash-token
      curl -s localhost:6566/get-online-features -d \\
        '{"features": ["customer_profile:tier"], "entities": {"customer_id": [42]}}'
    """
    from pitstop.serving.auth import hash_token as sha256_of

    if hash_token:
        token = sys.stdin.read().strip()
        if not token:
            raise click.UsageError("--hash-token reads the token on stdin; got nothing")
        click.echo(sha256_of(token))
        return

    import uvicorn

    from pitstop.serving import ServeSettings, create_app

    obj = ctx.find_root().obj or {}
    project_dir = obj.get("project_dir")
    settings = ServeSettings(
        project_dir=Path(project_dir) if project_dir else None,
        target=obj.get("target"),
        host=host,
        port=port,
        tokens=ServeSettings.tokens_from_env(tokens_file),
        max_entities=max_entities,
        max_body_bytes=max_body_bytes,
        request_timeout_s=timeout,
        reload_interval_s=reload_interval,
        models=models,
        model_alias=model_alias,
        model_poll_s=model_poll,
        docs=not no_docs,
    )
    if settings.tokens is None and not _loopback(host):
        click.echo(
            f"warning: serving on {host} without API tokens: anyone who can reach it reads "
            "every feature (configure PITSTOP_SERVE_TOKENS or --tokens-file)",
            err=True,
        )
    _log_to_stderr(log_level)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=access_log,
        log_level=log_level,
        server_header=False,
        timeout_keep_alive=30,
    )
