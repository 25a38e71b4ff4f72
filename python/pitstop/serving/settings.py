"""`ServeSettings`: everything the server is configured with, in one value.

`create_app` takes it as an argument (tests build their own); the CLI builds
it from its options and the environment (`ServeSettings.from_env`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pitstop.serving.auth import Tokens
from pitstop.serving.errors import ServeConfigError
from pitstop.settings import env

__all__ = ["ServeSettings"]

TOKENS_ENV = "PITSTOP_SERVE_TOKENS"
TOKENS_FILE_ENV = "PITSTOP_SERVE_TOKENS_FILE"


@dataclass(frozen=True)
class ServeSettings:
    """Server configuration.

    Attributes:
        project_dir: the dbt project (``None``: `pitstop.project.Project.find`).
        target: the dbt target.
        host, port: where `pitstop serve` listens (loopback by default).
        tokens: the API tokens (``None``: auth off, for loopback use).
        max_entities: entity rows per request above which it gets 413.
        max_body_bytes: request bodies above this get 413.
        request_timeout_s: time to receive a body (408 after) and to run a
            lookup off the event loop (503 after).
        reload_interval_s: how often the manifest's mtime and the online
            store's metadata are checked for a new build or materialization.
        inline_max_entities: lookups up to this many entities run on the event
            loop; bigger ones in a worker thread, under the time limit. A thread
            buys no parallelism under the GIL and costs milliseconds of hand-off
            (measured: a 100-entity lookup 1.2 ms inline, 4-6 ms in a thread), so
            by default every lookup the entity limit allows runs inline.
        models: model names served by ``POST /models/{name}/predict``.
        model_alias: the alias each model is loaded at and followed by.
        model_poll_s: how often the alias is checked for a newly promoted version.
        docs: serve ``/docs`` and ``/openapi.json``.
    """

    project_dir: Path | None = None
    target: str | None = None
    host: str = "127.0.0.1"
    port: int = 6566
    tokens: Tokens | None = None
    max_entities: int = 1000
    max_body_bytes: int = 1 << 20
    request_timeout_s: float = 10.0
    reload_interval_s: float = 1.0
    inline_max_entities: int = 1000
    models: tuple[str, ...] = field(default_factory=tuple)
    model_alias: str = "champion"
    model_poll_s: float = 5.0
    docs: bool = True

    def __post_init__(self) -> None:
        for name in ("max_entities", "max_body_bytes", "inline_max_entities"):
            if getattr(self, name) < 1:
                raise ServeConfigError(f"{name} must be at least 1")
        for name in ("request_timeout_s", "reload_interval_s", "model_poll_s"):
            if not getattr(self, name) > 0:
                raise ServeConfigError(f"{name} must be positive")
        if not 0 <= self.port <= 65535:
            raise ServeConfigError(f"port {self.port} is not a TCP port")

    @property
    def auth(self) -> bool:
        """Whether requests need an API token."""
        return self.tokens is not None

    @staticmethod
    def tokens_from_env(
        tokens_file: str | Path | None = None, environ: Mapping[str, str] | None = None
    ) -> Tokens | None:
        """Tokens from ``PITSTOP_SERVE_TOKENS`` and the file given or named by
        ``PITSTOP_SERVE_TOKENS_FILE`` (``None`` when neither is set)."""
        file = tokens_file or env(TOKENS_FILE_ENV, environ=environ)
        return Tokens.load(env(TOKENS_ENV, environ=environ), file)
