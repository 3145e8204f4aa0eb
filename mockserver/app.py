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
from .accounts import Accounts
from .api import applications, balance, control, emulated, faults, stream, v1
from .api.auth import Authenticator
from .api.commit import commit_middleware
from .api.edge import Edge
from .api.errors import Handler, Problem, answering_problems, no_route, not_found
from .api.generations import EMULATED_PREFIXES, WEBHOOK_RENDERERS
from .api.keys import ACCOUNTS, AUTH, CONTRACT, EDGE, MAX_BODY_BYTES, SETTINGS, STARTED_AT
from .api.openapi import build_openapi
from .api.parsing import expect_continue
from .config import Settings
from .contract import Contract

log = logging.getLogger("mockserver")
WEB_ROOT = resources.files("mockserver") / "web"


def _token_middleware(token: str) -> web.middleware:
    """With a control token set, /_mock/*, the page and /openapi.json need it (header or ?token=)."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if (path.startswith(EMULATED_PREFIXES) or path == balance.BALANCE_PATH
                or path.startswith(applications.APPLICATIONS_PATH)):
            return await handler(request)
        given = request.headers.get("X-Mock-Token") or request.query.get("token") or ""
        bearer = request.headers.get("Authorization", "")
        if bearer.lower().startswith("bearer "):
            given = given or bearer[7:]
        if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), token.encode()):
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

    return web.get(r"/static/{path:[\s\S]+}", static)


def _routes(app: web.Application) -> list[web.RouteDef]:
    """Every route; all but the emulated endpoints (which answer their own) wrapped to answer problems."""
    openapi = orjson.dumps(build_openapi(app[CONTRACT]))

    async def openapi_document(request: web.Request) -> web.Response:
        return web.Response(body=openapi, content_type="application/json")

    # no_route last; [\s\S], not ".": a path may hold a line break (%0A)
    wrapped = [*control.routes(), *stream.routes(), web.get("/openapi.json", openapi_document),
               *faults.routes(), balance.route(app), *applications.routes(app),
               web.get("/", _index), _static_route(), web.route("*", r"/{path:[\s\S]*}", no_route)]
    return [*emulated.routes(app), v1.update_route(app),
            *(web.route(r.method, r.path, answering_problems(r.handler), expect_handler=expect_continue, **r.kwargs)
              for r in wrapped)]


def create_app(settings: Settings | None = None, contract: Contract | None = None) -> web.Application:
    settings = settings or Settings()
    middlewares = [_token_middleware(settings.control_token)] if settings.control_token else []
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=middlewares)
    app[MAX_BODY_BYTES] = settings.max_body_bytes
    app[STARTED_AT] = time.monotonic()
    app[SETTINGS] = settings
    app[CONTRACT] = contract or Contract()
    accounts = app[ACCOUNTS] = Accounts(settings, WEBHOOK_RENDERERS)
    app[AUTH] = Authenticator(settings, accounts.application)
    app[EDGE] = Edge(accounts, settings)
    if accounts.state:
        app.middlewares.append(commit_middleware(accounts.state))
    app.add_routes(_routes(app))
    stream.setup(app)
    # One context per long-lived resource (a context's cleanup runs only if its own start finished), in the order
    # they start; they are cleaned up in the reverse order.
    app.cleanup_ctx.extend([_access_log, _webhook_client, _state_file, _accounts, _edge])
    return app


async def _access_log(app: web.Application) -> AsyncIterator[None]:
    yield
    write_access_batches()


async def _webhook_client(app: web.Application) -> AsyncIterator[None]:
    client = app[ACCOUNTS].webhook_client
    await client.start()
    yield
    await client.close()


async def _state_file(app: web.Application) -> AsyncIterator[None]:
    """Opened with the app (so a file in use is refused before serving); closed after the accounts stop."""
    accounts = app[ACCOUNTS]
    yield
    if accounts.state:
        accounts.state.close(accounts.by_account())


async def _accounts(app: web.Application) -> AsyncIterator[None]:
    accounts = app[ACCOUNTS]
    accounts.start()  # restores what the state file holds; arms the real-time clocks now that a loop runs
    yield
    pending = await accounts.close(grace=2.0)
    if accounts.state:
        log.info("stopped; %d webhook deliveries were still pending, kept in the state file %s", pending,
                 accounts.state.path)
    else:
        log.info("stopped; %d webhook deliveries were still pending", pending)


async def _edge(app: web.Application) -> AsyncIterator[None]:
    app[EDGE].restore()  # the faults the state file kept, once the accounts have restored
    yield
