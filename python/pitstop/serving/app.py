"""`create_app(settings)`: the server as one raw ASGI application.

The application owns the serving state (`pitstop.serving.state`), the served
models (`pitstop.serving.predict`), the metrics and the router; the routes
live in one module per resource under `pitstop.serving.resources`. Every
error goes through one handler (`pitstop.serving.http.error_response`):
a `PitstopError` becomes its ``http_status`` with ``{"error": {"type",
"message"}}``; anything else is logged (without request headers, so no
token) and answered 500, which no client input should ever reach.

Background tasks follow new manifests and materializations
(``reload_interval_s``) and newly promoted model versions (``model_poll_s``);
each swaps one reference, so requests in flight are never failed by a reload.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from pitstop.errors import (
    PitstopError,
    UnknownFeatureError,
    UnknownFeatureViewError,
    UnknownServiceError,
)
from pitstop.online.lookup import OnlineFeatures, OnlineLookup, get_online_features
from pitstop.online.spec import RegistrySnapshot
from pitstop.serving.auth import Principal
from pitstop.serving.errors import LookupTimeoutError, NotReadyError
from pitstop.serving.http import (
    ClientDisconnected,
    Deadlines,
    Receive,
    Scope,
    Send,
    error_response,
    read_body,
    send_response,
)
from pitstop.serving.lookups import LookupRequest
from pitstop.serving.metrics import Metrics
from pitstop.serving.predict import ModelSet
from pitstop.serving.routing import Request, Router
from pitstop.serving.settings import ServeSettings
from pitstop.serving.state import ServingState, StateLoader, now_us

__all__ = ["App", "create_app"]

log = logging.getLogger("pitstop.serving")

T = TypeVar("T")
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


def create_app(settings: ServeSettings | None = None, loader: StateLoader | None = None) -> App:
    """The ASGI application of the feature server.

    Args:
        settings: the configuration (defaults: loopback, no auth, the project
            found from the current directory or ``PITSTOP_PROJECT_DIR``).
        loader: the project and online store to serve (default: from
            ``settings.project_dir``/``target``); tests pass their own.

    Returns:
        An ASGI callable; serve it with uvicorn (`pitstop serve` does).
    """
    return App(settings or ServeSettings(), loader)


class App:
    """The ASGI application (see the module docstring)."""

    def __init__(self, settings: ServeSettings, loader: StateLoader | None = None) -> None:
        from pitstop.serving.resources import ROUTES

        self.settings = settings
        self.tokens = settings.tokens
        self.loader = loader
        self.state = ServingState()
        self.models: ModelSet | None = None
        self.router = Router(ROUTES)
        self.metrics = Metrics(ages=self._ages, models=self._model_info)
        self.cache: dict[Any, Any] = {}
        self.deadlines = Deadlines()
        self._allowed: dict[tuple[str, tuple[str, ...]], bool] = {}
        self._started = False
        self._start_lock: asyncio.Lock | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # -- ASGI ----------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1008})

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        method = scope["method"]
        label = "unmatched"
        try:
            if not self._started:
                await self.startup()
            route, params = self.router.resolve(method, scope["path"])
            label = route.template
            principal = None
            if self.tokens is not None and not route.public:
                principal = self.tokens.authenticate(scope["headers"])
            response = await route.handler(self, Request(scope, receive, params, principal))
        except PitstopError as exc:
            response = error_response(exc)
        except ClientDisconnected:
            self.metrics.request(label, method, 499, time.perf_counter() - start)
            return
        except Exception:
            # the path template only: never the headers (tokens) or the body
            log.exception("unexpected error on %s %s", method, label)
            response = error_response(PitstopError("unexpected server error; see the server log"))
        await send_response(send, response)
        self.metrics.request(
            label, method if method in _METHODS else "other", response[0],
            time.perf_counter() - start,
        )  # fmt: skip

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    log.error("startup failed: %s", exc)
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # -- start, stop, background reloads -------------------------------------

    async def startup(self) -> None:
        """Load the registry, the online snapshot and the models; start the
        background reloads. Idempotent; a part that cannot load yet (no
        manifest, empty store, model not registered) is retried by them."""
        if self._started:
            return
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if self._started:
                return
            settings = self.settings
            if self.loader is None:
                self.loader = await asyncio.to_thread(
                    StateLoader.for_project_dir, settings.project_dir, settings.target
                )
            loader = self.loader
            self.state = await asyncio.to_thread(loader.refresh, self.state)
            if settings.models:
                store = loader.store
                self.models = ModelSet(
                    settings.models,
                    settings.model_alias,
                    loader.project,
                    online=lambda: OnlineLookup(store),
                )
                await asyncio.to_thread(self.models.refresh)
                self._tasks.append(asyncio.create_task(self._poll_models()))
            self._tasks.append(asyncio.create_task(self._poll_state()))
            self._tasks.append(asyncio.create_task(self._sweep_deadlines()))
            self._started = True

    async def shutdown(self) -> None:
        """Stop the background reloads and close the store's connections."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self.loader is not None:
            self.loader.close()
        self._started = False

    async def reload_now(self) -> ServingState:
        """Check for a new manifest or materialization immediately (tests, ``/ready``)."""
        assert self.loader is not None
        new = await asyncio.to_thread(self.loader.refresh, self.state)
        self._swap(new)
        return new

    def _swap(self, new: ServingState) -> None:
        old = self.state
        if new is old:
            return
        if new.registry is not old.registry:
            self.metrics.reload("registry")
        if new.lookup is not old.lookup or new.watermarks != old.watermarks:
            self.metrics.reload("store")
        # one reference: requests in flight keep the state they read
        self.state = new
        self._allowed = {}
        self.cache = {}

    async def _poll_state(self) -> None:
        while True:
            await asyncio.sleep(self.settings.reload_interval_s)
            try:
                await self.reload_now()
            except Exception:
                log.exception("reload check failed; trying again")

    async def _sweep_deadlines(self) -> None:
        interval = min(0.5, self.settings.request_timeout_s / 4)
        while True:
            await asyncio.sleep(interval)
            self.deadlines.sweep()

    async def read_body(self, req: Request) -> bytes:
        """The request's body within the size and time limits (see `read_body`)."""
        settings = self.settings
        return await read_body(
            req.scope,
            req.receive,
            settings.max_body_bytes,
            settings.request_timeout_s,
            self.deadlines,
        )

    async def _poll_models(self) -> None:
        assert self.models is not None
        while True:
            await asyncio.sleep(self.settings.model_poll_s)
            try:
                swapped = await asyncio.to_thread(self.models.refresh)
            except Exception:
                log.exception("model alias check failed; trying again")
                continue
            for _ in swapped:
                self.metrics.reload("model")
            if swapped:
                self.cache = {}  # the registry routes list the served versions

    # -- helpers for the resources -------------------------------------------

    async def run_blocking(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` in a worker thread within the request time limit.

        Raises:
            LookupTimeoutError: it took longer (it keeps running; its result is dropped).
        """
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(
                loop.run_in_executor(None, fn), self.settings.request_timeout_s
            )
        except TimeoutError:
            raise LookupTimeoutError(
                f"the lookup took longer than {self.settings.request_timeout_s:g} s"
            ) from None

    async def lookup(self, request: LookupRequest, principal: Principal | None) -> OnlineFeatures:
        """Run a validated lookup with access checks and metrics.

        Raises:
            NotReadyError: the online store holds nothing (yet) or is unreachable.
            UnknownFeatureViewError, UnknownFeatureError, UnknownServiceError: 404s.
            ForbiddenError: ``principal`` may not read a view the lookup needs.
        """
        state = self.state
        lookup = state.lookup
        if lookup is None:
            raise NotReadyError(f"the online store is not ready: {state.store_error}")
        key: Any = request.service if request.service is not None else tuple(request.features or ())
        plan = lookup.plans.get(key)
        if plan is None:
            # unknown names are answered from the cached snapshot: a request
            # must not make the store re-read its metadata (the background
            # reload picks up new views within reload_interval_s)
            _precheck(lookup.snapshot, request)
            plan = lookup.plan(request.features, request.service)
        if principal is not None:
            allowed_key = (principal.name, plan.view_names)
            if allowed_key not in self._allowed:
                state.access.check(principal, plan.view_names)
                self._allowed[allowed_key] = True
        if request.size <= self.settings.inline_max_entities:
            result = get_online_features(
                lookup,
                request.features,
                request.service,
                request.entities,
                request.entity_rows,
                request.as_of,
            )
        else:
            result = await self.run_blocking(
                functools.partial(
                    get_online_features,
                    lookup,
                    request.features,
                    request.service,
                    request.entities,
                    request.entity_rows,
                    request.as_of,
                )
            )
        self.metrics.lookup(result)
        return result

    def _ages(self) -> dict[str, float]:
        state = self.state
        now = now_us()
        ages = {}
        for view in state.online_views:
            at = state.materialized_at_us(view)
            if at is not None:
                ages[view] = (now - at) / 1e6
        return ages

    def _model_info(self) -> list[tuple[str, str, str]]:
        if self.models is None:
            return []
        return [(m.name, m.version, m.alias) for m in self.models.models.values()]


def _precheck(snapshot: RegistrySnapshot | None, request: LookupRequest) -> None:
    """Raise the lookup's 404s from the cached snapshot alone."""
    if snapshot is None:
        raise NotReadyError("the online store holds nothing yet; run `pitstop materialize`")
    if request.service is not None:
        refs = snapshot.services.get(request.service)
        if refs is None:
            known = ", ".join(sorted(snapshot.services)) or "none"
            raise UnknownServiceError(
                f"unknown feature service '{request.service}' (known: {known})"
            )
    else:
        refs = tuple(request.features or ())
    for ref in refs:
        if not ref or ref.count(":") > 1:
            raise UnknownFeatureError(f"feature reference {ref!r} must be 'view' or 'view:feature'")
        view, _, feature = ref.partition(":")
        spec = snapshot.views.get(view)
        if spec is None:
            known = ", ".join(sorted(snapshot.views)) or "none"
            raise UnknownFeatureViewError(
                f"feature view '{view}' is not in the online store (online views: {known})"
            )
        if feature and feature not in {f.name for f in spec.features}:
            names = ", ".join(f.name for f in spec.features)
            raise UnknownFeatureError(
                f"feature view '{view}' has no feature '{feature}' (it has: {names})"
            )
