"""Reading request bodies: content type, size, JSON, then the schema. Every failure is a Problem."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp import web

from .errors import API_ERRORS, Problem, invalid_parameters, malformed_json, problem_response, unsupported_media_type
from .keys import CONTRACT, MAX_BODY_BYTES, SETTINGS


def _is_json_type(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


async def read_json(request: web.Request) -> Any:
    """The parsed body; a missing Content-Type is read as JSON (curl users forget it), others must be JSON."""
    given = request.headers.get("Content-Type")
    if given and given != "application/json" and not _is_json_type(request.content_type):
        raise unsupported_media_type(given)
    raw = await _read_body(request)
    if not raw or raw.isspace():
        raise malformed_json("the body is empty")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise malformed_json(str(exc)) from None


async def _read_body(request: web.Request) -> bytes:
    """The body, unless it trickles in slower than --body-timeout allows (slow loris): then a 408."""
    content, limit = request.content, request.client_max_size  # the app's, --max-body-bytes
    if content.is_eof():  # all of it came with the headers (the usual case): taken as it lies, no await, no timer
        raw = content.read_nowait()
        if len(raw) > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=len(raw))
        return raw
    if (request.content_length or 0) > limit:  # refused before a byte of it is read
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    seconds = request.app[SETTINGS].body_timeout
    try:
        async with asyncio.timeout(seconds):
            return await request.read()
    except TimeoutError:
        raise Problem(408, f"{API_ERRORS}#request-timeout", "Request Timeout",
                      f"The request body did not arrive within {seconds:g} s", close=True) from None


async def expect_continue(request: web.Request) -> web.StreamResponse | None:
    """`Expect: 100-continue`: a body announced larger than the limit gets its 413 (and the connection closed)
    instead of an invitation to send it; an unknown expectation gets 417."""
    expect = request.headers.get("Expect", "")
    if expect.lower() != "100-continue":
        return Problem(417, f"{API_ERRORS}#expectation-failed", "Expectation Failed",
                       f"Unknown Expect: {expect!r}; only 100-continue is understood").response()
    limit = request.app[MAX_BODY_BYTES]
    if (request.content_length or 0) > limit:
        return problem_response(request, web.HTTPRequestEntityTooLarge(max_size=limit,
                                                                       actual_size=request.content_length))
    if request.version >= (1, 1):
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0  # the answer proper has not started (as aiohttp's own handler does)
    return None


async def read_valid(request: web.Request, schema: str) -> Any:
    body = await read_json(request)
    contract = request.app[CONTRACT]
    if not contract.is_valid(schema, body):
        raise invalid_parameters(contract.problems(schema, body))
    return body


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")
