"""The control API under /_mock/: inspect and drive the simulation (tests and the web page use it)."""

from __future__ import annotations

import re
import time
from typing import Any

from aiohttp import web

from .. import __version__
from ..contract import InvalidParameter
from ..simulation.clock import LAST_INSTANT, iso, parse_iso
from ..simulation.models import Message
from .errors import API_ERRORS, Problem, invalid_parameters, not_found
from .keys import MOCK, STARTED_AT
from .parsing import json_response, read_valid

MAX_WAIT_SECONDS = 300.0


def _int_param(request: web.Request, name: str, default: int | None, maximum: int = 100_000) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) > maximum:  # isdigit alone takes '²'
        raise _bad_query(name, f"must be a whole number from 0 to {maximum}")
    return int(raw)


def _float_param(request: web.Request, name: str, default: float, maximum: float) -> float:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= maximum:
        raise _bad_query(name, f"must be a number of seconds from 0 to {maximum:g}")
    return value


def _bad_query(name: str, reason: str) -> Problem:
    return Problem(400, f"{API_ERRORS}#invalid-query", "Invalid query parameters",
                   "The query string did not validate.", [InvalidParameter(name, reason)])


def _message_detail(request: web.Request, message: Message) -> dict[str, Any]:
    data = message.to_dict()
    deliveries = request.app[MOCK].store.find_deliveries(subject_uuid=message.message_uuid)
    data["webhooks"] = [delivery.to_dict() for delivery in reversed(deliveries)]
    return data


async def health(request: web.Request) -> web.Response:
    mock = request.app[MOCK]
    pending_timers, _ = mock.upcoming()
    return json_response({"status": "ok", "version": __version__, "uptime_s": round(time.monotonic()
                          - request.app[STARTED_AT], 3), "clock": mock.clock.mode, "now": mock.clock.now_iso(),
                          "counts": mock.store.counts(), "pruned": mock.store.pruned,
                          "pending_timers": pending_timers, "pending_webhooks": mock.webhooks.pending_count()})


async def reset(request: web.Request) -> web.Response:
    request.app[MOCK].reset()
    return web.Response(status=204)


async def list_messages(request: web.Request) -> web.Response:
    query = request.query
    found = request.app[MOCK].store.find_messages(
        to=query.get("to") or None, channel=query.get("channel") or None, status=query.get("status") or None,
        direction=query.get("direction") or None, limit=_int_param(request, "limit", 100))
    return json_response({"messages": [message.to_dict() for message in found]})


async def get_message(request: web.Request) -> web.Response:
    message = request.app[MOCK].store.get_message(request.match_info["uuid"])
    if message is None:
        raise not_found(f"No message {request.match_info['uuid']}")
    return json_response(_message_detail(request, message))


async def list_workflows(request: web.Request) -> web.Response:
    found = request.app[MOCK].store.find_workflows(status=request.query.get("status") or None,
                                                   limit=_int_param(request, "limit", 100))
    return json_response({"workflows": [workflow.to_dict() for workflow in found]})


async def get_workflow(request: web.Request) -> web.Response:
    workflow = request.app[MOCK].store.get_workflow(request.match_info["uuid"])
    if workflow is None:
        raise not_found(f"No workflow {request.match_info['uuid']}")
    return json_response(workflow.to_dict())


async def get_config(request: web.Request) -> web.Response:
    return json_response(request.app[MOCK].config())


async def put_config(request: web.Request) -> web.Response:
    changes = await read_valid(request, "control/config-update")
    return json_response(request.app[MOCK].update_config(changes))


def _clock_view(request: web.Request) -> dict[str, Any]:
    mock = request.app[MOCK]
    clock = mock.clock
    pending_timers, due = mock.upcoming()
    return {"mode": clock.mode, "time_scale": clock.time_scale, "now": clock.now_iso(),
            "next_due": iso(due) if due is not None else None, "pending_timers": pending_timers}


async def get_clock(request: web.Request) -> web.Response:
    return json_response(_clock_view(request))


def _advance_target(body: dict[str, Any], now: float) -> float:
    """The time to advance to; a 400 for a `to` that matches the pattern but does not exist (Feb 30, 24:00)."""
    if "seconds" in body:
        return now + body["seconds"]
    try:
        return parse_iso(body["to"])
    except ValueError as exc:
        raise invalid_parameters([InvalidParameter("to", f"is not a valid date-time: {exc}")]) from None


async def advance_clock(request: web.Request) -> web.Response:
    body = await read_valid(request, "control/clock-advance")
    clock = request.app[MOCK].clock
    target = _advance_target(body, clock.now())
    if target < clock.now():
        raise Problem(409, f"{API_ERRORS}#clock-backwards", "Clock cannot go back",
                      f"'to' is before the clock's current time {clock.now_iso()}")
    if target > LAST_INSTANT:
        raise Problem(409, f"{API_ERRORS}#clock-overflow", "Clock cannot go past year 9999",
                      f"The clock ({clock.now_iso()}) cannot move past {iso(LAST_INSTANT)}")
    await clock.advance_to(target)
    return json_response(_clock_view(request))


async def list_rules(request: web.Request) -> web.Response:
    return json_response({"rules": [rule.to_dict() for rule in request.app[MOCK].rules.all()]})


async def add_rule(request: web.Request) -> web.Response:
    body = await read_valid(request, "control/rule")
    try:
        rule = request.app[MOCK].add_rule(body)
    except KeyError:
        raise Problem(409, f"{API_ERRORS}#duplicate-rule", "Rule exists",
                      f"A rule with id {body['id']!r} already exists") from None
    except re.error as exc:
        raise invalid_parameters([InvalidParameter("match.to_pattern",
                                                   f"is not a valid regular expression: {exc}")]) from None
    return json_response(rule.to_dict(), status=201)


async def delete_rule(request: web.Request) -> web.Response:
    if not request.app[MOCK].delete_rule(request.match_info["id"]):
        raise not_found(f"No user rule {request.match_info['id']} (built-in rules cannot be deleted)")
    return web.Response(status=204)


async def inbound(request: web.Request) -> web.Response:
    body = await read_valid(request, "control/inbound-request")
    message = request.app[MOCK].receive_inbound(body)
    return json_response({"message_uuid": message.message_uuid}, status=202)


async def list_webhooks(request: web.Request) -> web.Response:
    query = request.query
    subject = query.get("message_uuid") or query.get("workflow_uuid") or None
    found = request.app[MOCK].store.find_deliveries(subject_uuid=subject, kind=query.get("kind") or None,
                                                    limit=_int_param(request, "limit", 1000))
    return json_response({"deliveries": [delivery.to_dict() for delivery in found]})


async def wait(request: web.Request) -> web.Response:
    """Long-poll until a message (by uuid or recipient) reached a status, or a workflow has a status."""
    query = request.query
    mock = request.app[MOCK]
    status = query.get("status")
    timeout = _float_param(request, "timeout", 10.0, MAX_WAIT_SECONDS)
    if "workflow_uuid" in query:
        uuid = query["workflow_uuid"]

        def probe() -> Any:
            workflow = mock.store.get_workflow(uuid)
            return workflow if workflow and (status is None or workflow.status == status) else None
    elif "message_uuid" in query or "to" in query:
        def probe() -> Any:
            if "message_uuid" in query:
                message = mock.store.get_message(query["message_uuid"])
                candidates = [message] if message else []
            else:
                candidates = mock.store.find_messages(to=query["to"])
            return next((m for m in candidates if status is None or m.reached(status)), None)
    else:
        raise _bad_query("message_uuid", "one of message_uuid, workflow_uuid or to is required")
    found = await mock.bus.wait_for(probe, timeout)
    if found is None:
        raise Problem(408, f"{API_ERRORS}#wait-timeout", "Condition not met",
                      f"Nothing matched {dict(query)} within {timeout:g} s (wall time; in manual clock mode, "
                      "advance the clock)")
    if isinstance(found, Message):
        return json_response(_message_detail(request, found))
    return json_response(found.to_dict())


async def conversations(request: web.Request) -> web.Response:
    """One entry per (channel, end user): outbound and inbound messages, newest conversation first."""
    threads: dict[tuple[str, str], dict[str, Any]] = {}
    for message in request.app[MOCK].store.iter_messages():
        key = (message.channel, message.peer)
        thread = threads.setdefault(key, {"channel": message.channel, "peer": message.peer, "count": 0,
                                          "failures": 0})
        thread["count"] += 1
        thread["failures"] += message.status in ("rejected", "undeliverable")
        thread["last_message"] = {"message_uuid": message.message_uuid, "direction": message.direction,
                                  "status": message.status, "created_at": message.to_dict()["created_at"]}
    ordered = sorted(threads.values(), key=lambda t: t["last_message"]["created_at"], reverse=True)
    return json_response({"conversations": ordered})


async def conversation(request: web.Request) -> web.Response:
    channel, peer = request.match_info["channel"], request.match_info["peer"]
    messages = [m.to_dict() for m in request.app[MOCK].store.iter_messages()
                if m.channel == channel and m.peer == peer]
    return json_response({"channel": channel, "peer": peer, "messages": messages})


def routes() -> list[web.RouteDef]:
    return [
        web.get("/_mock/health", health),
        web.post("/_mock/reset", reset),
        web.get("/_mock/messages", list_messages),
        web.get("/_mock/messages/{uuid}", get_message),
        web.get("/_mock/workflows", list_workflows),
        web.get("/_mock/workflows/{uuid}", get_workflow),
        web.get("/_mock/config", get_config),
        web.put("/_mock/config", put_config),
        web.get("/_mock/clock", get_clock),
        web.post("/_mock/clock/advance", advance_clock),
        web.get("/_mock/rules", list_rules),
        web.post("/_mock/rules", add_rule),
        web.delete("/_mock/rules/{id}", delete_rule),
        web.post("/_mock/inbound", inbound),
        web.get("/_mock/webhooks", list_webhooks),
        web.get("/_mock/wait", wait),
        web.get("/_mock/conversations", conversations),
        web.get("/_mock/conversations/{channel}/{peer}", conversation),
    ]
