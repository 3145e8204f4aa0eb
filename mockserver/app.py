"""create_app(): the aiohttp application with its routes, middlewares and long-lived resources."""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import AsyncIterator
from importlib import resources

import orjson
from aiohttp import web

from .access_log import write_access_batches
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
    write_access_batches()
    pending = await mock.webhooks.close(grace=2.0)
    if mock.state:
        mock.state.close()
        log.info("stopped; %d webhook deliveries were still pending, kept in the state file %s", pending,
                 mock.state.path)
    else:
        log.info("stopped; %d webhook deliveries were still pending", pending)
