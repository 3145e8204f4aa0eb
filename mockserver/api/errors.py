"""Problem-details errors (type, title, detail, instance, invalid_parameters), and how every handler answers them."""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestHandler

from ..contract import InvalidParameter
from .keys import MAX_BODY_BYTES

log = logging.getLogger("mockserver.api")
http_log = logging.getLogger("mockserver.http")
PROBLEM_TYPE = "application/problem+json"
API_ERRORS = "https://developer.nexmo.com/api-errors"


class Problem(Exception):
    """An error answer; raise it anywhere in a handler and `problem_response` renders it."""

    def __init__(self, status: int, type: str, title: str, detail: str,
                 invalid_parameters: Iterable[InvalidParameter] | None = None,
                 headers: dict[str, str] | None = None, close: bool = False) -> None:
        super().__init__(detail)
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
        self.invalid_parameters = list(invalid_parameters) if invalid_parameters is not None else None
        self.headers = headers or {}
        self.close = close  # answered before its body was read to the end: the connection cannot carry on

    def body(self, instance: str) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type, "title": self.title, "detail": self.detail,
                                "instance": instance}
        if self.invalid_parameters is not None:
            data["invalid_parameters"] = [{"name": p.name, "reason": p.reason} for p in self.invalid_parameters]
        return data

    def response(self, response_class: Callable[..., web.Response] = web.Response) -> web.Response:
        return response_class(status=self.status, body=_dumps(self.body(uuid.uuid4().hex)),
                              content_type="application/json", headers=self.headers)


def _dumps(data: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(data)
    except TypeError:  # a str with lone surrogates: request bytes aiohttp could not decode, reflected in a detail
        return orjson.dumps(_readable(data))


def _readable(value: Any) -> Any:
    """`value` with every lone surrogate in its strings replaced by U+FFFD."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {key: _readable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_readable(item) for item in value]
    return value


class _ClosingResponse(web.Response):
    """A response that ends its connection: `Connection: close`, and once written, the write side shut (FIN), so the
    client sees the end at once. aiohttp then reads away what the client still sends (at most its lingering time,
    10 s) before it closes the socket: closing with unread bytes would send a reset, which can destroy the answer
    before the client has read it."""

    def __init__(self, protocol: RequestHandler | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._protocol = protocol
        self.force_close()

    async def write_eof(self, data: bytes = b"") -> None:
        await super().write_eof(data)
        transport = self._protocol.transport if self._protocol is not None else None
        if transport is not None and transport.can_write_eof():  # TLS cannot: there the client closes
            transport.write_eof()


def invalid_parameters(problems: list[InvalidParameter]) -> Problem:
    return Problem(400, "https://www.nexmo.com/messages/Errors#InvalidParams", "Invalid Parameters",
                   "Your request parameters did not validate.", problems)


def malformed_json(reason: str) -> Problem:
    return Problem(400, f"{API_ERRORS}#invalid-json", "Malformed JSON",
                   f"The request body did not contain valid JSON: {reason}")


def unsupported_media_type(given: str) -> Problem:
    return Problem(415, f"{API_ERRORS}#content-type-header", "Invalid Content-Type header",
                   "Invalid Content-Type header provided. Must be one of the following: 'application/json' "
                   f"(got '{given}')")


def unauthorized(detail: str) -> Problem:
    return Problem(401, f"{API_ERRORS}#unauthorized", "Invalid credentials supplied", detail,
                   headers={"WWW-Authenticate": 'Basic realm="nexmo", Bearer'})


def not_found(detail: str) -> Problem:
    return Problem(404, f"{API_ERRORS}#not-found", "Not Found", detail)


def _from_http_exception(exc: web.HTTPException, request: web.Request) -> Problem:
    if isinstance(exc, web.HTTPNotFound):
        return not_found(f"No such endpoint: {request.method} {request.path}")
    if isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = ", ".join(sorted(exc.allowed_methods))
        return Problem(405, f"{API_ERRORS}#method-not-allowed", "Method Not Allowed",
                       f"{request.method} is not allowed on {request.path}; use {allowed}",
                       headers={"Allow": allowed})
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return Problem(413, f"{API_ERRORS}#payload-too-large", "Payload Too Large",
                       f"The request body is larger than the limit of {request.app[MAX_BODY_BYTES]} bytes",
                       close=True)
    return Problem(exc.status, f"{API_ERRORS}#http-{exc.status}", exc.reason, exc.text or exc.reason)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def problem_response(request: web.Request, exc: Exception) -> web.StreamResponse:
    """The answer to what a handler raised: a Problem as itself, an HTTP error as a Problem, a bug as a 500 one."""
    if isinstance(exc, web.HTTPException):
        if exc.status < 400:
            raise exc
        exc = _from_http_exception(exc, request)
    elif isinstance(exc, web.RequestPayloadError):  # e.g. a broken gzip stream, a chunk that never ends
        exc = _unreadable_body(request, exc)
    if isinstance(exc, Problem):
        return _closing(request, exc) if exc.close else exc.response()
    log.error("unexpected error on %s %s", request.method, request.path, exc_info=exc)
    return Problem(500, f"{API_ERRORS}#internal-error", "Internal error",
                   "There was an error processing your request in the mock; see its log.").response()


def _unreadable_body(request: web.Request, exc: web.RequestPayloadError) -> Problem:
    cause = exc.__cause__
    reason = cause.message if isinstance(cause, HttpProcessingError) else str(exc)
    request.content.feed_eof()  # the rest cannot be read either: aiohttp must not try (and log a traceback)
    return Problem(400, f"{API_ERRORS}#bad-request", "Bad Request",
                   f"The request body could not be read: {reason.strip() or 'not as its headers say'}", close=True)


def _closing(request: web.Request, problem: Problem) -> web.Response:
    """The answer to a request whose body was not read to its end: one warning line, and the connection closed."""
    http_log.warning("%d %s from %s: %s %s: %s", problem.status, problem.title, request.remote, request.method,
                     request.path, problem.detail)
    return problem.response(functools.partial(_ClosingResponse, request.protocol))


def answering_problems(handler: Handler) -> Handler:
    """The handler, answering what it raises with problem details (a wrapper, not a middleware: aiohttp runs
    any middleware through two extra coroutines on every request, a few per cent of the emulated endpoints)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except Exception as exc:
            return problem_response(request, exc)

    return functools.update_wrapper(handle, handler)


async def no_route(request: web.Request) -> web.StreamResponse:
    """The last route, matching any method and path: 405 with Allow where another route has the path, else 404."""
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        if resource is not request.match_info.route.resource:
            allowed |= (await resource.resolve(request))[1]
    if allowed:
        raise web.HTTPMethodNotAllowed(request.method, allowed)
    raise web.HTTPNotFound()
