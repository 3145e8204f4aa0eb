"""The emulated Messages and Workflows/Dispatch endpoints: authenticate, validate, hand to the mock, answer 202."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ..contract import InvalidParameter
from ..mock import Mock
from .errors import Handler, Problem, invalid_parameters, problem_response
from .keys import AUTH, CONTRACT, MOCK
from .parsing import json_response, read_json

# What the mock does with a valid body; returns the 202 answer.
Action = Callable[[Mock, Any], dict[str, str]]


@dataclass(frozen=True, slots=True)
class Dialect:
    """How an API generation reads a body and answers one that breaks its schema."""

    read: Callable[[web.Request], Awaitable[Any]]
    invalid: Callable[[list[InvalidParameter]], Problem]


BETA = Dialect(read_json, invalid_parameters)  # /beta and /v0.1: 400 Invalid Parameters


def endpoint(app: web.Application, schema: str, action: Action, dialect: Dialect = BETA) -> Handler:
    """The one handler every emulated endpoint of `app` shares; it answers its own problems (see answering_problems)."""
    auth, contract, mock = app[AUTH], app[CONTRACT], app[MOCK]

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            auth.check(request.headers.get("Authorization"))
            body = await dialect.read(request)
            if not contract.is_valid(schema, body):
                raise dialect.invalid(contract.problems(schema, body))
            return json_response(action(mock, body), status=202)
        except Exception as exc:
            return problem_response(request, exc)

    return handle


ENDPOINTS: dict[str, tuple[str, Action]] = {
    "/beta/messages": ("message", lambda mock, body: {
        "message_uuid": mock.send_message(body, "beta").message_uuid}),
    "/v0.1/messages": ("message", lambda mock, body: {
        "message_uuid": mock.send_message(body, "v0.1").message_uuid}),
    "/beta/workflows": ("workflow", lambda mock, body: {
        "workflow_uuid": mock.start_workflow(body, "workflow", "beta").workflow_uuid}),
    "/v0.1/dispatch": ("workflow", lambda mock, body: {
        "dispatch_uuid": mock.start_workflow(body, "dispatch", "v0.1").workflow_uuid}),
}


def routes(app: web.Application) -> list[web.RouteDef]:
    return [web.post(path, endpoint(app, *spec)) for path, spec in ENDPOINTS.items()]
