"""/_mock/faults: add, list and remove the faults the API edge answers with (see api/edge.py)."""

from __future__ import annotations

import re

from aiohttp import web

from ..contract import InvalidParameter
from ..faults import Fault
from .errors import API_ERRORS, Problem, invalid_parameters, not_found
from .keys import ACCOUNTS, EDGE
from .parsing import json_response, read_valid
from .scope import requested_account


async def add_fault(request: web.Request) -> web.Response:
    body = await read_valid(request, "control/fault")
    account = requested_account(request)
    accounts, edge = request.app[ACCOUNTS], request.app[EDGE]
    clock = (accounts[account] if account else accounts.default).clock  # "start": seconds from this clock's now
    try:
        fault = Fault.from_dict(body, account, clock.now())
    except re.error as exc:
        raise invalid_parameters([InvalidParameter("match.to_pattern",
                                                   f"is not a valid regular expression: {exc}")]) from None
    except (ValueError, OverflowError) as exc:
        raise invalid_parameters([InvalidParameter("window.start", f"is not a valid date-time: {exc}")]) from None
    try:
        edge.faults.add(fault)
    except KeyError:
        raise Problem(409, f"{API_ERRORS}#duplicate-fault", "Fault exists",
                      f"A fault with id {fault.id!r} already exists") from None
    edge.save()
    return json_response(fault.to_dict(), status=201)


async def list_faults(request: web.Request) -> web.Response:
    """Every fault; with an account named, those that apply to it (its own and those of every account)."""
    account = requested_account(request)
    faults = [fault for fault in request.app[EDGE].faults if account is None or fault.account in (None, account)]
    return json_response({"faults": [fault.to_dict() for fault in faults]})


async def get_fault(request: web.Request) -> web.Response:
    fault = request.app[EDGE].faults.get(request.match_info["id"])
    if fault is None:
        raise not_found(f"No fault {request.match_info['id']}")
    return json_response(fault.to_dict())


async def delete_fault(request: web.Request) -> web.Response:
    edge = request.app[EDGE]
    if not edge.faults.remove(request.match_info["id"]):
        raise not_found(f"No fault {request.match_info['id']}")
    edge.save()
    return web.Response(status=204)


async def delete_faults(request: web.Request) -> web.Response:
    """Every fault; with an account named, that account's own."""
    edge = request.app[EDGE]
    edge.faults.clear(requested_account(request))
    edge.save()
    return web.Response(status=204)


def routes() -> list[web.RouteDef]:
    return [
        web.get("/_mock/faults", list_faults),
        web.post("/_mock/faults", add_fault),
        web.delete("/_mock/faults", delete_faults),
        web.get("/_mock/faults/{id}", get_fault),
        web.delete("/_mock/faults/{id}", delete_fault),
    ]
