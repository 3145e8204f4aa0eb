"""The control API under /_mock/: inspect and drive the simulation (tests and the web page use it)."""

from __future__ import annotations

import re
import time
from typing import Any

from aiohttp import web

from .. import __version__
from ..backend import Backend, ClockRefused
from ..contract import InvalidParameter
from ..simulation.clock import parse_iso
from ..simulation.commands import InjectInbound
from ..simulation.events import EventType
from ..simulation.models import MESSAGE_STATUSES, WORKFLOW_STATUSES
from .errors import API_ERRORS, Problem, invalid_parameters, not_found
from .generations import INBOUND_GENERATIONS
from .keys import ACCOUNTS, EDGE, STARTED_AT
from .parsing import json_response, read_valid
from .scope import requested_account
from .v1 import ENGINE_CHANNELS

MAX_WAIT_SECONDS = 300.0
DEFAULT_WAIT_SECONDS = 10.0


def _backend(request: web.Request) -> Backend:
    return request.app[ACCOUNTS].default


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


async def health(request: web.Request) -> web.Response:
    uptime = round(time.monotonic() - request.app[STARTED_AT], 3)
    return json_response({"status": "ok", "version": __version__, "uptime_s": uptime, **_backend(request).health()})


async def reset(request: web.Request) -> web.Response:
    _backend(request).reset()
    return web.Response(status=204)


async def list_messages(request: web.Request) -> web.Response:
    query = request.query
    found = _backend(request).messages(
        to=query.get("to") or None, channel=query.get("channel") or None, status=query.get("status") or None,
        direction=query.get("direction") or None, limit=_int_param(request, "limit", 100))
    return json_response({"messages": [message.to_dict() for message in found]})


async def get_message(request: web.Request) -> web.Response:
    backend = _backend(request)
    message = backend.message(request.match_info["uuid"])
    if message is None:
        raise not_found(f"No message {request.match_info['uuid']}")
    return json_response(backend.message_detail(message))


async def list_workflows(request: web.Request) -> web.Response:
    found = _backend(request).workflows(status=request.query.get("status") or None,
                                                   limit=_int_param(request, "limit", 100))
    return json_response({"workflows": [workflow.to_dict() for workflow in found]})


async def get_workflow(request: web.Request) -> web.Response:
    workflow = _backend(request).workflow(request.match_info["uuid"])
    if workflow is None:
        raise not_found(f"No workflow {request.match_info['uuid']}")
    return json_response(workflow.to_dict())


async def get_config(request: web.Request) -> web.Response:
    return json_response(_backend(request).config())


async def put_config(request: web.Request) -> web.Response:
    changes = await read_valid(request, "control/config-update")
    account = requested_account(request)  # e.g. one account's balance
    backend = request.app[ACCOUNTS][account] if account else _backend(request)
    config = backend.update_config(changes)
    request.app[EDGE].refresh()  # a rate limit or balance set or cleared
    return json_response(config)


async def get_clock(request: web.Request) -> web.Response:
    return json_response(_backend(request).clock_view())


def _advance_to(body: dict[str, Any]) -> float:
    """The instant of `to`; a 400 for one that matches the pattern but does not exist (Feb 30, 24:00)."""
    try:
        return parse_iso(body["to"])
    except ValueError as exc:
        raise invalid_parameters([InvalidParameter("to", f"is not a valid date-time: {exc}")]) from None


async def advance_clock(request: web.Request) -> web.Response:
    body = await read_valid(request, "control/clock-advance")
    backend = _backend(request)
    try:
        if "seconds" in body:
            await backend.advance(seconds=body["seconds"])
        else:
            await backend.advance(to=_advance_to(body))
    except ClockRefused as refused:
        title = "Clock cannot go back" if refused.kind == "backwards" else "Clock cannot go past year 9999"
        raise Problem(409, f"{API_ERRORS}#clock-{refused.kind}", title, str(refused)) from None
    return json_response(backend.clock_view())


async def list_rules(request: web.Request) -> web.Response:
    return json_response({"rules": [rule.to_dict() for rule in _backend(request).all_rules()]})


async def add_rule(request: web.Request) -> web.Response:
    body = await read_valid(request, "control/rule")
    try:
        rule = _backend(request).add_rule(body)
    except KeyError:
        raise Problem(409, f"{API_ERRORS}#duplicate-rule", "Rule exists",
                      f"A rule with id {body['id']!r} already exists") from None
    except re.error as exc:
        raise invalid_parameters([InvalidParameter("match.to_pattern",
                                                   f"is not a valid regular expression: {exc}")]) from None
    return json_response(rule.to_dict(), status=201)


async def delete_rule(request: web.Request) -> web.Response:
    if not _backend(request).delete_rule(request.match_info["id"]):
        raise not_found(f"No user rule {request.match_info['id']} (built-in rules cannot be deleted)")
    return web.Response(status=204)


def inbound_command(body: dict[str, Any]) -> InjectInbound:
    """Messenger alone keeps the 2018 shape by default (it was the only inbound channel then); the others take
    v1's. `webhook_version` chooses."""
    channel = body.get("channel", "messenger")
    version = body.get("webhook_version") or ("v0.1" if channel == "messenger" else "v1")
    return InjectInbound(sender=body.get("from"), to=body.get("to"), content=body.get("content"),
                         generation=INBOUND_GENERATIONS[version],
                         channel=ENGINE_CHANNELS[channel], context=body.get("context"), profile=body.get("profile"))


async def inbound(request: web.Request) -> web.Response:
    body = await read_valid(request, "control/inbound-request")
    command = inbound_command(body)
    message = _backend(request).receive_inbound(command)
    return json_response({"message_uuid": message.message_uuid}, status=202)


async def list_webhooks(request: web.Request) -> web.Response:
    query = request.query
    subject = query.get("message_uuid") or query.get("workflow_uuid") or None
    found = _backend(request).deliveries(subject_uuid=subject, kind=query.get("kind") or None,
                                             limit=_int_param(request, "limit", 1000))
    return json_response({"deliveries": [delivery.to_dict() for delivery in found]})


WAIT_STATUSES = (*MESSAGE_STATUSES, *WORKFLOW_STATUSES)


def _status_param(request: web.Request) -> str | None:
    """A message's or a workflow's status (one of the other kind never holds: the wait times out)."""
    status = request.query.get("status") or None
    if status is not None and status not in WAIT_STATUSES:
        raise _bad_query("status", f"must be a message status ({', '.join(MESSAGE_STATUSES)}) or a workflow "
                                   f"status ({', '.join(WORKFLOW_STATUSES)})")
    return status


async def wait(request: web.Request) -> web.Response:
    """Long-poll until a message (by uuid or recipient) reached a status, or a workflow has a status."""
    query, backend = request.query, _backend(request)
    timeout = _float_param(request, "timeout", DEFAULT_WAIT_SECONDS, MAX_WAIT_SECONDS)
    status = _status_param(request)
    try:
        if "workflow_uuid" in query:
            found: Any = await backend.wait_for_workflow(query["workflow_uuid"], status, timeout)
        elif "message_uuid" in query or "to" in query:
            found = await backend.wait_for_message(query.get("message_uuid"), query.get("to"), status, timeout)
        else:
            raise _bad_query("message_uuid", "one of message_uuid, workflow_uuid or to is required")
    except KeyError as unknown:
        raise not_found(f"No message or workflow {unknown.args[0]}") from None
    if found is None:
        raise Problem(408, f"{API_ERRORS}#wait-timeout", "Condition not met",
                      f"Nothing matched {dict(query)} within {timeout:g} s (wall time; the default is "
                      f"{DEFAULT_WAIT_SECONDS:g} s, at most {MAX_WAIT_SECONDS:g}; in manual clock mode, advance the "
                      "clock)")
    if "workflow_uuid" in query:
        return json_response(found.to_dict())
    return json_response(backend.message_detail(found))


async def conversations(request: web.Request) -> web.Response:
    """One entry per (channel, end user): outbound and inbound messages, newest conversation first."""
    return json_response({"conversations": _backend(request).conversations()})


async def conversation(request: web.Request) -> web.Response:
    channel, peer = request.match_info["channel"], request.match_info["peer"]
    return json_response({"channel": channel, "peer": peer, "messages": _backend(request).conversation(channel, peer)})


async def event_types(request: web.Request) -> web.Response:
    """The event types of /_mock/events (the page subscribes to these)."""
    return json_response({"event_types": [event_type.value for event_type in EventType]})


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
        web.get("/_mock/event-types", event_types),
    ]
