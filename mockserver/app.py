"""create_app(): the aiohttp application with its routes, middlewares and long-lived resources."""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path

import orjson
from aiohttp import web

from .access_log import write_access_batches
from .api import control, emulated, stream, v1
from .api.auth import Authenticator
from .api.errors import MAX_BODY_BYTES, Handler, Problem, answering_problems, no_route, not_found
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
            return Problem(401, "https://developer.nexmo.com/api-errors#unauthorized", "Control token required",
                           "This mock is protected: send the control token as 'X-Mock-Token' or '?token='.").response()
        return await handler(request)

    return guard


async def _index(request: web.Request) -> web.StreamResponse:
    page = WEB_ROOT / "index.html"
    if not page.is_file():
        return web.Response(text="The web page is not installed.", content_type="text/plain")
    return web.Response(body=page.read_bytes(), content_type="text/html")


def _static_files() -> dict[str, Path]:
    """The page's assets by their path under /static/: only these are served."""
    root = Path(str(WEB_ROOT / "static"))
    return {path.relative_to(root).as_posix(): path for path in root.rglob("*") if path.is_file()}


def _static_route() -> web.RouteDef:
    files = _static_files()

    async def static(request: web.Request) -> web.StreamResponse:
        path = files.get(request.match_info["path"])
        if path is None:
            raise not_found(f"No such file: {request.path}")
        return web.FileResponse(path)

    return web.get("/static/{path:.+}", static)


def _routes(app: web.Application) -> list[web.RouteDef]:
    """Every route; all but the emulated endpoints (which answer their own) wrapped to answer problems."""
    openapi = orjson.dumps(build_openapi(app[CONTRACT]))

    async def openapi_document(request: web.Request) -> web.Response:
        return web.Response(body=openapi, content_type="application/json")

    wrapped = [*control.routes(), *stream.routes(), web.get("/openapi.json", openapi_document),
               web.get("/", _index), _static_route(), web.route("*", "/{path:.*}", no_route)]  # no_route last
    return [*emulated.routes(app), *v1.routes(app),
            *(web.route(r.method, r.path, answering_problems(r.handler), **r.kwargs) for r in wrapped)]


def create_app(settings: Settings | None = None, contract: Contract | None = None) -> web.Application:
    settings = settings or Settings()
    middlewares = [_token_middleware(settings.control_token)] if settings.control_token else []
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=middlewares)
    app[MAX_BODY_BYTES] = settings.max_body_bytes
    app[STARTED_AT] = time.monotonic()
    app[SETTINGS] = settings
    app[CONTRACT] = contract or Contract()
    app[AUTH] = Authenticator(settings)
    app[MOCK] = Mock(settings)
    if app[MOCK].state:
        app.middlewares.append(commit_middleware(app[MOCK].state))
    app.add_routes(_routes(app))
    stream.setup(app)
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
