"""The control API under /_mock/: inspect and drive the simulation (tests and the web page use it)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .. import __version__
from ..backend import DEFAULT_ACCOUNT, Backend, ClockRefused
from ..contract import InvalidParameter
from ..simulation.clock import parse_iso
from ..simulation.commands import InjectInbound
from ..simulation.events import EventType
from ..simulation.models import MESSAGE_STATUSES, WORKFLOW_STATUSES
from .applications import application_view
from .errors import API_ERRORS, Problem, invalid_parameters, not_found
from .generations import INBOUND_GENERATIONS
from .keys import ACCOUNTS, EDGE, STARTED_AT
from .parsing import json_response, read_valid
from .scope import requested_account
from .v1 import ENGINE_CHANNELS

MAX_WAIT_SECONDS = 300.0
DEFAULT_WAIT_SECONDS = 10.0


def _backend(request: web.Request) -> Backend:
    """The account the request names (`account=`, X-Mock-Account), else the default one, which holds the whole
    mock's config and rules."""
    account = requested_account(request)
    return request.app[ACCOUNTS][account] if account else request.app[ACCOUNTS].default


def _backends(request: web.Request) -> list[Backend]:
    """The account the request names, else every account (the whole mock)."""
    account = requested_account(request)
    return [request.app[ACCOUNTS][account]] if account else list(request.app[ACCOUNTS])


def _named(backend: Backend, data: dict[str, Any]) -> dict[str, Any]:
    """A record as the control API shows it: naming its account."""
    data["account"] = backend.account
    return data


def _newest(records: list[tuple[float, dict[str, Any]]], limit: int | None) -> list[dict[str, Any]]:
    """Records of several accounts as one list, newest first (a stable sort keeps each account's own order)."""
    records.sort(key=lambda pair: -pair[0])
    return [data for _, data in records[:limit]]


def _find(request: web.Request, read: Callable[[Backend], Any]) -> tuple[Backend, Any] | None:
    """The first account (of those addressed) where `read` finds something, with what it found."""
    for backend in _backends(request):
        found = read(backend)
        if found is not None:
            return backend, found
    return None


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
    health = _backend(request).health()
    if requested_account(request) is None:  # the whole mock: every account's records counted
        each = [backend.health() for backend in _backends(request)]
        for key in ("counts", "pruned"):
            health[key] = {name: sum(one[key][name] for one in each) for name in health[key]}
        for key in ("pending_timers", "pending_webhooks"):
            health[key] = sum(one[key] for one in each)
        health["accounts"] = len(each)
    return json_response({"status": "ok", "version": __version__, "uptime_s": uptime, **health})


async def reset(request: web.Request) -> web.Response:
    for backend in _backends(request):
        backend.reset()
    return web.Response(status=204)


async def list_messages(request: web.Request) -> web.Response:
    query, limit = request.query, _int_param(request, "limit", 100)
    found = [(message.created_at, _named(backend, message.to_dict()))
             for backend in _backends(request)
             for message in backend.messages(
                 to=query.get("to") or None, channel=query.get("channel") or None,
                 status=query.get("status") or None, direction=query.get("direction") or None, limit=limit)]
    return json_response({"messages": _newest(found, limit)})


async def get_message(request: web.Request) -> web.Response:
    found = _find(request, lambda backend: backend.message(request.match_info["uuid"]))
    if found is None:
        raise not_found(f"No message {request.match_info['uuid']}")
    backend, message = found
    return json_response(_named(backend, backend.message_detail(message)))


async def list_workflows(request: web.Request) -> web.Response:
    limit = _int_param(request, "limit", 100)
    found = [(workflow.created_at, _named(backend, workflow.to_dict()))
             for backend in _backends(request)
             for workflow in backend.workflows(status=request.query.get("status") or None, limit=limit)]
    return json_response({"workflows": _newest(found, limit)})


async def get_workflow(request: web.Request) -> web.Response:
    found = _find(request, lambda backend: backend.workflow(request.match_info["uuid"]))
    if found is None:
        raise not_found(f"No workflow {request.match_info['uuid']}")
    backend, workflow = found
    return json_response(_named(backend, workflow.to_dict()))


async def get_config(request: web.Request) -> web.Response:
    return json_response(_backend(request).config())


async def put_config(request: web.Request) -> web.Response:
    changes = await read_valid(request, "control/config-update")
    config = _backend(request).update_config(changes)
    if requested_account(request) is None:  # the whole mock's defaults: accounts without their own value follow
        for backend in request.app[ACCOUNTS]:
            backend.inherit_config(changes)
    request.app[EDGE].refresh()  # a rate limit or balance set or cleared
    return json_response(config)


async def get_clock(request: web.Request) -> web.Response:
    return json_response(_clock_view(request))


def _clock_view(request: web.Request) -> dict[str, Any]:
    """The account's clock; for the whole mock, the default account's with every account's timers."""
    view = _backend(request).clock_view()
    if requested_account(request) is None:
        views = [backend.clock_view() for backend in request.app[ACCOUNTS]]
        view["pending_timers"] = sum(other["pending_timers"] for other in views)
        view["next_due"] = min((other["next_due"] for other in views if other["next_due"]), default=None)
    return view


def _advance_to(body: dict[str, Any]) -> float:
    """The instant of `to`; a 400 for one that matches the pattern but does not exist (Feb 30, 24:00)."""
    try:
        return parse_iso(body["to"])
    except ValueError as exc:
        raise invalid_parameters([InvalidParameter("to", f"is not a valid date-time: {exc}")]) from None


async def advance_clock(request: web.Request) -> web.Response:
    body = await read_valid(request, "control/clock-advance")
    to = None if "seconds" in body else _advance_to(body)
    try:
        for backend in _backends(request):  # the whole mock: every account's clock, one after the other
            await backend.advance(seconds=body.get("seconds"), to=to)
    except ClockRefused as refused:
        title = "Clock cannot go back" if refused.kind == "backwards" else "Clock cannot go past year 9999"
        raise Problem(409, f"{API_ERRORS}#clock-{refused.kind}", title, str(refused)) from None
    return json_response(_clock_view(request))


async def list_rules(request: web.Request) -> web.Response:
    backend = _backend(request)
    return json_response({"rules": [_named(backend, rule.to_dict()) for rule in backend.all_rules()]})


async def add_rule(request: web.Request) -> web.Response:
    body = await read_valid(request, "control/rule")
    backend = _backend(request)
    try:
        rule = backend.add_rule(body)
        if requested_account(request) is None:  # a whole-mock rule: every account has it
            for backend in request.app[ACCOUNTS]:
                if backend.account != DEFAULT_ACCOUNT:
                    backend.add_rule(rule.to_dict())
    except KeyError:
        raise Problem(409, f"{API_ERRORS}#duplicate-rule", "Rule exists",
                      f"A rule with id {body['id']!r} already exists") from None
    except re.error as exc:
        raise invalid_parameters([InvalidParameter("match.to_pattern",
                                                   f"is not a valid regular expression: {exc}")]) from None
    return json_response(_named(backend, rule.to_dict()), status=201)


async def delete_rule(request: web.Request) -> web.Response:
    deleted = [backend.delete_rule(request.match_info["id"]) for backend in _backends(request)]
    if not any(deleted):
        raise not_found(f"No user rule {request.match_info['id']} (built-in rules cannot be deleted)")
    return web.Response(status=204)


def inbound_command(body: dict[str, Any]) -> InjectInbound:
    """Messenger alone keeps the 2018 shape by default (it was the only inbound channel then); the others take
    v1's. `webhook_version` chooses."""
    channel = body.get("channel", "messenger")
    version = body.get("webhook_version") or ("v0.1" if channel == "messenger" else "v1")
    return InjectInbound(sender=body.get("from"), to=body.get("to"), content=body.get("content"),
                         generation=INBOUND_GENERATIONS[version],
                         channel=ENGINE_CHANNELS[channel], context=body.get("context"), profile=body.get("profile"),
                         application_id=body.get("application_id"))


async def inbound(request: web.Request) -> web.Response:
    body = await read_valid(request, "control/inbound-request")
    command = inbound_command(body)
    backend = _inbound_backend(request, command)
    message = backend.receive_inbound(command)
    return json_response({"message_uuid": message.message_uuid, "account": backend.account}, status=202)


def _inbound_backend(request: web.Request, command: InjectInbound) -> Backend:
    """The named account; else the application's owner (a 404 for an application no account has); else the
    account that wrote to that user last (a reply reaches its sender), else the accounts' home."""
    if requested_account(request):
        return _backend(request)
    if command.application_id is None:
        return _replying_account(request, command) or request.app[ACCOUNTS].home()
    owner = request.app[ACCOUNTS].owners.get(command.application_id)
    if owner is None:
        raise not_found(f"No application {command.application_id}")
    return request.app[ACCOUNTS][owner]


def _replying_account(request: web.Request, command: InjectInbound) -> Backend | None:
    sender = command.sender or {}
    peer = sender.get("id") or sender.get("number")
    if peer is None:
        return None
    found = [(messages[-1].created_at, backend) for backend in request.app[ACCOUNTS]
             if (messages := backend.store.conversation(command.channel, peer))]
    return max(found, key=lambda pair: pair[0])[1] if found else None


async def list_webhooks(request: web.Request) -> web.Response:
    query = request.query
    subject = query.get("message_uuid") or query.get("workflow_uuid") or None
    limit = _int_param(request, "limit", 1000)
    found = [(delivery.created_at, _named(backend, delivery.to_dict()))
             for backend in _backends(request)
             for delivery in backend.deliveries(subject_uuid=subject, kind=query.get("kind") or None, limit=limit)]
    return json_response({"deliveries": _newest(found, limit)})


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
    query = request.query
    timeout = _float_param(request, "timeout", DEFAULT_WAIT_SECONDS, MAX_WAIT_SECONDS)
    status = _status_param(request)
    if not ("workflow_uuid" in query or "message_uuid" in query or "to" in query):
        raise _bad_query("message_uuid", "one of message_uuid, workflow_uuid or to is required")
    backend, found = await _wait_any(_waited_backends(request), query, status, timeout)
    if found is None:
        raise Problem(408, f"{API_ERRORS}#wait-timeout", "Condition not met",
                      f"Nothing matched {dict(query)} within {timeout:g} s (wall time; the default is "
                      f"{DEFAULT_WAIT_SECONDS:g} s, at most {MAX_WAIT_SECONDS:g}; in manual clock mode, advance the "
                      "clock)")
    if "workflow_uuid" in query:
        return json_response(_named(backend, found.to_dict()))
    return json_response(_named(backend, backend.message_detail(found)))


def _waited_backends(request: web.Request) -> list[Backend]:
    """For a uuid, the account that holds it (a 404 if none does); for `to`, every account addressed."""
    query = request.query
    if "workflow_uuid" in query:
        uuid = query["workflow_uuid"]
        found = _find(request, lambda backend: backend.workflow(uuid))
    elif "message_uuid" in query:
        uuid = query["message_uuid"]
        found = _find(request, lambda backend: backend.message(uuid))
    else:
        return _backends(request)
    if found is None:
        raise not_found(f"No message or workflow {uuid}")
    return [found[0]]


async def _wait_any(backends: list[Backend], query: Any, status: str | None,
                    timeout: float) -> tuple[Backend, Any]:
    """The first account whose wait is met, with what met it; (the first account, None) when none is in time."""

    async def one(backend: Backend) -> tuple[Backend, Any]:
        if "workflow_uuid" in query:
            return backend, await backend.wait_for_workflow(query["workflow_uuid"], status, timeout)
        return backend, await backend.wait_for_message(query.get("message_uuid"), query.get("to"), status, timeout)

    pending = {asyncio.ensure_future(one(backend)) for backend in backends}
    try:
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                backend, found = task.result()
                if found is not None:
                    return backend, found
    finally:
        for task in pending:
            task.cancel()
    return backends[0], None


async def conversations(request: web.Request) -> web.Response:
    """One entry per (channel, end user): outbound and inbound messages, newest conversation first."""
    found = [_named(backend, summary) for backend in _backends(request) for summary in backend.conversations()]
    found.sort(key=lambda summary: summary["last_message"]["created_at"], reverse=True)
    return json_response({"conversations": found})


async def conversation(request: web.Request) -> web.Response:
    channel, peer = request.match_info["channel"], request.match_info["peer"]
    messages = [_named(backend, message) for backend in _backends(request)
                for message in backend.conversation(channel, peer)]
    messages.sort(key=lambda message: message["created_at"])
    return json_response({"channel": channel, "peer": peer, "messages": messages})


async def list_accounts(request: web.Request) -> web.Response:
    """Every account (or the one named): its record counts, applications and clock."""
    return json_response({"accounts": [{"account": backend.account, **backend.store.counts(),
                                        "applications": [application_view(app) for app in backend.applications],
                                        "clock": backend.clock_view()}
                                       for backend in _backends(request)]})


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
        web.get("/_mock/accounts", list_accounts),
    ]
