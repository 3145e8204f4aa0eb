"""GET /account/get-balance: the account's balance in the REST API's shape, {"value", "autoReload"}."""

from __future__ import annotations

import base64

from aiohttp import web

from ..accounts import Caller
from .keys import ACCOUNTS, AUTH, EDGE

BALANCE_PATH = "/account/get-balance"


def caller_of(request: web.Request) -> Caller:
    """Basic credentials, or (as the REST API also takes them) `api_key` and `api_secret` in the query."""
    header = request.headers.get("Authorization")
    query = request.query
    if header is None and "api_key" in query and "api_secret" in query:
        header = "Basic " + base64.b64encode(f"{query['api_key']}:{query['api_secret']}".encode()).decode()
    return request.app[AUTH].check(header)


async def get_balance(request: web.Request) -> web.Response:
    """An unlimited balance (none set) reads as 0.0 with autoReload on: it never runs out."""
    balance = request.app[ACCOUNTS].of(caller_of(request)).limits.balance
    value = 0.0 if balance is None else float(balance)
    return web.json_response({"value": value, "autoReload": balance is None})


def route(app: web.Application) -> web.RouteDef:
    return web.get(BALANCE_PATH, app[EDGE].guard(get_balance, "beta", caller_of))
