"""The emulated Messages and Workflows/Dispatch endpoints: authenticate, validate, hand to the mock, answer 202."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from ..mock import Mock
from .keys import AUTH, MOCK
from .parsing import json_response, read_valid

# path -> (schema, what the mock does with the body, the key of the uuid in the 202 answer)
Action = Callable[[Mock, dict[str, Any]], str]

ENDPOINTS: dict[str, tuple[str, Action, str]] = {
    "/beta/messages": ("message", lambda mock, body: mock.send_message(body, "beta").message_uuid,
                       "message_uuid"),
    "/v0.1/messages": ("message", lambda mock, body: mock.send_message(body, "v0.1").message_uuid,
                       "message_uuid"),
    "/beta/workflows": ("workflow",
                        lambda mock, body: mock.start_workflow(body, "workflow", "beta").workflow_uuid,
                        "workflow_uuid"),
    "/v0.1/dispatch": ("workflow",
                       lambda mock, body: mock.start_workflow(body, "dispatch", "v0.1").workflow_uuid,
                       "dispatch_uuid"),
}


def endpoint(schema: str, action: Action, answer_key: str) -> Callable[[web.Request], Any]:
    """The one wrapping every emulated endpoint shares."""

    async def handle(request: web.Request) -> web.Response:
        request.app[AUTH].check(request.headers.get("Authorization"))
        body = await read_valid(request, schema)
        return json_response({answer_key: action(request.app[MOCK], body)}, status=202)

    return handle


def routes() -> list[web.RouteDef]:
    return [web.post(path, endpoint(*spec)) for path, spec in ENDPOINTS.items()]
