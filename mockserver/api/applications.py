"""The Applications API v2 (/v2/applications): an account's applications, in that API's own shapes.

Basic auth names the account (the api_key); the records live in that account's backend (applications.py).
"""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web

from ..applications import Application
from ..backend import Backend
from ..contract import InvalidParameter
from .balance import caller_of
from .errors import Handler, Problem, invalid_parameters, not_found
from .keys import ACCOUNTS, EDGE
from .parsing import json_response, read_valid

APPLICATIONS_PATH = "/v2/applications"
SCHEMA = "applications/application"
DEFAULT_PAGE_SIZE = 100  # the vonage SDK's default too
MAX_PAGE_SIZE = 100
MAX_PAGE = 1_000_000


def application_view(app: Application, with_private_key: bool = False) -> dict[str, Any]:
    """The application as the API answers it; only the create answer carries a generated private key."""
    keys: dict[str, Any] = {"public_key": app.public_key}
    if with_private_key and app.private_key:
        keys["private_key"] = app.private_key
    return {"id": app.id, "name": app.name, "capabilities": app.capabilities,
            "privacy": {"improve_ai": False, **app.privacy}, "keys": keys,
            "_links": {"self": {"href": f"{APPLICATIONS_PATH}/{app.id}"}}}


def _account(request: web.Request) -> Backend:
    return request.app[ACCOUNTS].of(caller_of(request))


def _page_param(request: web.Request, name: str, default: int, maximum: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= maximum:
        raise invalid_parameters([InvalidParameter(name, f"must be a whole number from 1 to {maximum}")])
    return int(raw)


def _unknown(application_id: str) -> Problem:
    return not_found(f"No application {application_id} in this account")


async def create(request: web.Request) -> web.Response:
    body = await read_valid(request, SCHEMA)
    app = _account(request).add_application(body)
    return json_response(application_view(app, with_private_key=True), status=201)


def _link(size: int, page: int) -> dict[str, str]:
    return {"href": f"{APPLICATIONS_PATH}?page_size={size}&page={page}"}


async def list_applications(request: web.Request) -> web.Response:
    size = _page_param(request, "page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    page = _page_param(request, "page", 1, MAX_PAGE)
    apps = list(_account(request).applications)
    total_pages = max(1, math.ceil(len(apps) / size))  # an empty list is one empty page: clients stop there
    links = {"self": _link(size, page), "first": _link(size, 1), "last": _link(size, total_pages)}
    if page < total_pages:
        links["next"] = _link(size, page + 1)
    if 1 < page <= total_pages:
        links["prev"] = _link(size, page - 1)
    shown = apps[(page - 1) * size: page * size]
    return json_response({"page_size": size, "page": page, "total_items": len(apps), "total_pages": total_pages,
                          "_embedded": {"applications": [application_view(app) for app in shown]},
                          "_links": links})


async def get(request: web.Request) -> web.Response:
    application_id = request.match_info["id"]
    app = _account(request).applications.get(application_id)
    if app is None:
        raise _unknown(application_id)
    return json_response(application_view(app))


async def replace(request: web.Request) -> web.Response:
    application_id = request.match_info["id"]
    backend = _account(request)
    if backend.applications.get(application_id) is None:  # before the body: an unknown id is 404 whatever it holds
        raise _unknown(application_id)
    app = backend.applications.replace(application_id, await read_valid(request, SCHEMA))
    return json_response(application_view(app))


async def delete(request: web.Request) -> web.Response:
    application_id = request.match_info["id"]
    if not _account(request).applications.delete(application_id):
        raise _unknown(application_id)
    return web.Response(status=204)


def _guarded(app: web.Application, handler: Handler) -> Handler:
    """Behind the edge (faults reach it); Basic problems are the house's problem JSON."""
    return app[EDGE].guard(handler, "v1", caller_of)


def routes(app: web.Application) -> list[web.RouteDef]:
    one = APPLICATIONS_PATH + "/{id}"
    return [web.post(APPLICATIONS_PATH, _guarded(app, create)),
            web.get(APPLICATIONS_PATH, _guarded(app, list_applications)),
            web.get(one, _guarded(app, get)), web.put(one, _guarded(app, replace)),
            web.delete(one, _guarded(app, delete))]

