"""create_app(): the aiohttp application with its routes, middlewares and long-lived resources."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import logging
import time
from collections.abc import AsyncIterator
from importlib import resources
from time import monotonic

import orjson
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from .api import control, emulated, stream, v1
from .api.auth import Authenticator
from .api.errors import MAX_BODY_BYTES, Handler, Problem, problem_middleware
from .api.keys import AUTH, CONTRACT, MOCK, SETTINGS, STARTED_AT
from .api.openapi import build_openapi
from .config import Settings
from .contract import Contract
from .mock import Mock
from .persistence import commit_middleware

log = logging.getLogger("mockserver")
WEB_ROOT = resources.files("mockserver") / "web"


class AccessLogger(AbstractAccessLogger):
    """One concise line per request: method, path, status, latency.

    The lines of ACCESS_LOG_WINDOW seconds go out as one log record (and at shutdown): a record costs about
    10 µs, a line under 1 µs, and under load a window holds hundreds of requests.
    """

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        line = f"{request.method} {request.path_qs} {response.status} {time * 1000:.1f}ms"
        batch = _access_batches.get(self.logger)
        if batch is not None and monotonic() - batch[0] > STALE_BATCH:  # its loop stopped before writing it
            _write_access_batch(self.logger)
            batch = None
        if batch is None:
            # Once per batch: get_running_loop() makes a getpid() system call.
            asyncio.get_running_loop().call_later(ACCESS_LOG_WINDOW, _write_access_batch, self.logger)
            batch = _access_batches[self.logger] = (monotonic(), [])
        batch[1].append(line)

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


ACCESS_LOG_WINDOW = 0.05
STALE_BATCH = 1.0
# logger -> (when the batch began, the access lines of the current window)
_access_batches: dict[logging.Logger, tuple[float, list[str]]] = {}


def _write_access_batch(logger: logging.Logger) -> None:
    batch = _access_batches.pop(logger, None)
    if batch:
        logger.info("%s", "\n".join(batch[1]))


def _write_access_batches() -> None:
    for logger in list(_access_batches):
        _write_access_batch(logger)


class _FreezeSurvivors:
    """A gc callback: what survives a collection is frozen; every `sweep_every` seconds, one full sweep.

    Frozen objects are never scanned again but are still freed by reference counting (stored messages hold
    no reference cycles); the sweep reclaims any cycle that died frozen.
    """

    def __init__(self, sweep_every: float) -> None:
        self.sweep_every = sweep_every
        self.next_sweep = monotonic() + sweep_every

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase != "stop":
            return
        gc.freeze()
        if monotonic() >= self.next_sweep:
            self.next_sweep = monotonic() + self.sweep_every
            with contextlib.suppress(RuntimeError):  # no loop running: the next collection sweeps
                asyncio.get_running_loop().call_soon(_sweep)


def _sweep() -> None:
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def tune_gc(sweep_every: float = 600.0) -> None:
    """Keep CPython's cyclic garbage collector cheap in a server whose store holds 100k messages.

    A collection scans every tracked object of its generations, about five per stored message, and objects
    that survive are scanned again by each older-generation collection: at 100k messages a full collection
    stalls every request for 100+ ms. So each object is scanned once, by its first young collection, then
    frozen; a full sweep runs every `sweep_every` seconds.
    """
    gc.collect()
    gc.freeze()
    gc.callbacks.append(_FreezeSurvivors(sweep_every))


def _token_middleware(token: str) -> web.middleware:
    """With a control token set, /_mock/*, the page and /openapi.json need it (header or ?token=)."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if path.startswith(("/beta/", "/v0.1/", "/v1/")):
            return await handler(request)
        given = request.headers.get("X-Mock-Token") or request.query.get("token") or ""
        bearer = request.headers.get("Authorization", "")
        if bearer.lower().startswith("bearer "):
            given = given or bearer[7:]
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise Problem(401, "https://developer.nexmo.com/api-errors#unauthorized", "Control token required",
                          "This mock is protected: send the control token as 'X-Mock-Token' or '?token='.")
        return await handler(request)

    return guard


async def _index(request: web.Request) -> web.StreamResponse:
    page = WEB_ROOT / "index.html"
    if not page.is_file():
        return web.Response(text="The web page is not installed.", content_type="text/plain")
    return web.Response(body=page.read_bytes(), content_type="text/html")


def create_app(settings: Settings | None = None, contract: Contract | None = None) -> web.Application:
    settings = settings or Settings()
    middlewares = [problem_middleware]
    if settings.control_token:
        middlewares.append(_token_middleware(settings.control_token))
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=middlewares)
    app[MAX_BODY_BYTES] = settings.max_body_bytes
    app[STARTED_AT] = time.monotonic()
    app[SETTINGS] = settings
    app[CONTRACT] = contract or Contract()
    app[AUTH] = Authenticator(settings)
    app[MOCK] = Mock(settings)
    if app[MOCK].state:
        app.middlewares.append(commit_middleware(app[MOCK].state))
    openapi = orjson.dumps(build_openapi(app[CONTRACT]))

    async def openapi_document(request: web.Request) -> web.Response:
        return web.Response(body=openapi, content_type="application/json")

    app.add_routes([*emulated.routes(), *control.routes(), *v1.routes(),
                    web.get("/openapi.json", openapi_document), web.get("/", _index)])
    stream.setup(app)
    if (WEB_ROOT / "static").is_dir():
        app.router.add_static("/static/", str(WEB_ROOT / "static"))
    app.cleanup_ctx.append(_webhook_session)
    return app


async def _webhook_session(app: web.Application) -> AsyncIterator[None]:
    mock = app[MOCK]
    await mock.webhooks.start()
    mock.clock.set_mode(mock.clock.mode)  # arm the real-time wake-up now that a loop runs
    if mock.state:
        mock.state.restore()
    yield
    _write_access_batches()
    pending = await mock.webhooks.close(grace=2.0)
    if mock.state:
        mock.state.close()
        log.info("stopped; %d webhook deliveries were still pending, kept in the state file %s", pending,
                 mock.state.path)
    else:
        log.info("stopped; %d webhook deliveries were still pending", pending)
