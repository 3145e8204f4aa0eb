"""Reading request bodies: content type, size, JSON, then the schema. Every failure is a Problem."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from .errors import invalid_parameters, malformed_json, unsupported_media_type
from .keys import CONTRACT

MAX_DEPTH_HINT = "nesting too deep"


def _is_json_type(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


async def read_json(request: web.Request) -> Any:
    """The parsed body; a missing Content-Type is read as JSON (curl users forget it), others must be JSON."""
    if request.headers.get("Content-Type") and not _is_json_type(request.content_type):
        raise unsupported_media_type(request.headers["Content-Type"])
    raw = await request.read()
    if not raw.strip():
        raise malformed_json("the body is empty")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise malformed_json(str(exc)) from None


async def read_valid(request: web.Request, schema: str) -> Any:
    body = await read_json(request)
    contract = request.app[CONTRACT]
    if not contract.is_valid(schema, body):
        raise invalid_parameters(contract.problems(schema, body))
    return body


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")
