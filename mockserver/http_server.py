"""The HTTP server under the app: request heads limited in size and time, their faults answered as problems.

aiohttp answers a request head it cannot parse with a plain-text 400 and logs a traceback, and gives a head no
deadline of its own (only keepalive_timeout bounds a head trickled byte by byte). Here each connection's handler
answers those faults as problem details with the fitting status and one log line, then closes the connection; and a
head that is not complete `header_timeout` seconds after its first byte arrived gets a 408. Over TLS, a handshake
that fails is logged (asyncio itself reports it only in debug mode), plain HTTP on the TLS port as a warning.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from asyncio import sslproto
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import ContentEncodingError, HttpProcessingError, LineTooLong
from aiohttp.streams import EMPTY_PAYLOAD
from aiohttp.web_protocol import RequestHandler, _ErrInfo

from .api.errors import API_ERRORS, Problem

log = logging.getLogger("mockserver.http")

# The two line limits differ so that the limit a LineTooLong names tells a long URL (414) from a long header (431).
MAX_URL_BYTES = 8192
MAX_HEADER_BYTES = 8190  # name and value of one header
MAX_HEADERS = 100
# The backlog takes a burst of a thousand new connections at once (load tests) without SYN retries.
BACKLOG = 1024
KEEPALIVE_TIMEOUT = 75.0  # web.run_app's
# The codings aiohttp decodes only with an extra package (Brotli, backports.zstd); its message names the package.
UNDECODABLE_CODINGS = ("(br)", "(zstd)")


class HeadTimeout(HttpProcessingError):
    """The request head did not arrive in time."""

    code = 408


def head_problem(exc: HttpProcessingError) -> Problem:
    """The problem answering a request head that could not be read."""
    if isinstance(exc, HeadTimeout):
        return Problem(408, f"{API_ERRORS}#request-timeout", "Request Timeout", exc.message)
    if isinstance(exc, LineTooLong) and exc.args[1] == MAX_URL_BYTES:
        return Problem(414, f"{API_ERRORS}#uri-too-long", "URI Too Long",
                       f"The request URL is longer than the limit of {MAX_URL_BYTES} bytes")
    if isinstance(exc, LineTooLong):
        return Problem(431, f"{API_ERRORS}#request-header-fields-too-large", "Request Header Fields Too Large",
                       f"A request header is longer than the limit of {MAX_HEADER_BYTES} bytes (name and value)")
    if isinstance(exc, ContentEncodingError) and any(coding in exc.message for coding in UNDECODABLE_CODINGS):
        return Problem(415, f"{API_ERRORS}#content-encoding", "Unsupported Content-Encoding",
                       "The request body's Content-Encoding is not supported: send it uncompressed, gzip or deflate")
    if exc.message.startswith("Too many headers"):  # aiohttp's two parsers raise a plain BadHttpMessage for it
        return Problem(431, f"{API_ERRORS}#request-header-fields-too-large", "Request Header Fields Too Large",
                       f"The request has more than the limit of {MAX_HEADERS} headers")
    # llhttp's messages go on with the bytes around the fault on further lines: the first says what is wrong.
    reason = next((line.strip().rstrip(":") for line in exc.message.splitlines() if line.strip()), "unreadable")
    return Problem(400, f"{API_ERRORS}#bad-request", "Bad Request", f"The request is not valid HTTP: {reason}")


class GuardedRequestHandler(RequestHandler):
    """aiohttp's connection handler, with problem answers for unreadable heads and a deadline on each head.

    The deadline is one timer per connection, armed only when a read leaves a head incomplete on a connection that
    waits for its next request: a whole request in one read (the usual case) arms none, and an idle keep-alive
    connection that sends nothing is left to keepalive_timeout.
    """

    __slots__ = ("_head_deadline", "_header_timeout")

    def __init__(self, manager: web.Server, *, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._header_timeout = header_timeout
        self._head_deadline: asyncio.TimerHandle | None = None

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter  # pending while the connection waits for the head of its next request
        RequestHandler.data_received(self, data)  # not super(): this runs for every chunk of every request
        if waiter is not None and not waiter.done():  # a head began or went on, and is not complete yet
            if self._head_deadline is None:
                self._head_deadline = self._loop.call_later(self._header_timeout, self._head_timed_out)
        elif self._head_deadline is not None:  # the head is complete (or could not be parsed)
            self._head_deadline.cancel()
            self._head_deadline = None

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None
        super().connection_lost(exc)

    def _head_timed_out(self) -> None:
        """Queue a 408 the way data_received queues a parse error, so it is answered and logged like one."""
        self._head_deadline = None
        waiter = self._waiter
        if waiter is None or waiter.done():  # closing meanwhile
            return
        timeout = HeadTimeout(message=f"The request headers did not arrive within {self._header_timeout:g} s")
        self._messages.append((_ErrInfo(status=408, exc=timeout, message=timeout.message), EMPTY_PAYLOAD))
        waiter.set_result(None)

    def log_exception(self, *args: Any, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info")
        if isinstance(exc, web.RequestPayloadError):  # a body aiohttp read away after an answer that ignored it
            cause = exc.__cause__
            reason = cause.message if isinstance(cause, HttpProcessingError) else str(exc)
            log.warning("unreadable body after the answer from %s: %s; connection closed", peer_of(self.transport),
                        reason.strip())
            return
        super().log_exception(*args, **kwargs)

    def handle_error(self, request: web.BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if not isinstance(exc, HttpProcessingError):  # a fault of the mock's, not of the request: aiohttp's answer
            return super().handle_error(request, status, exc, message)
        problem = head_problem(exc)
        log.warning("%d %s from %s: %s", problem.status, problem.title, request.remote, problem.detail)
        response = problem.response()
        response.force_close()
        return response


def peer_of(transport: asyncio.BaseTransport | None) -> str:
    """The client's address, as aiohttp's request.remote gives it."""
    peer = transport.get_extra_info("peername") if transport is not None else None
    return str(peer[0]) if isinstance(peer, tuple | list) and peer else "an unknown client"


# OpenSSL's reasons for a first record that is not TLS: an HTTP request line (GET, POST, HEAD, PUT; CONNECT), or
# anything else (WRONG_VERSION_NUMBER: any other method too).
PLAIN_HTTP_REASONS = frozenset({"HTTP_REQUEST", "HTTPS_PROXY_REQUEST"})
NOT_TLS_REASONS = frozenset({"WRONG_VERSION_NUMBER"})
UNTRUSTED_REASONS = frozenset({"TLSV1_ALERT_UNKNOWN_CA", "SSLV3_ALERT_BAD_CERTIFICATE",
                               "SSLV3_ALERT_CERTIFICATE_UNKNOWN"})


class ReportingTLSProtocol(sslproto.SSLProtocol):
    """asyncio's server side of TLS (what create_server(ssl=...) uses), logging a handshake that failed.

    Plain HTTP gets no answer, as before: OpenSSL sends no alert for it, and an HTTP answer would be unencrypted.
    """

    def _on_handshake_complete(self, handshake_exc: BaseException | None) -> None:
        if handshake_exc is not None:
            _log_failed_handshake(handshake_exc, peer_of(self._transport))
        super()._on_handshake_complete(handshake_exc)


def _log_failed_handshake(exc: BaseException, peer: str) -> None:
    reason = getattr(exc, "reason", None) if isinstance(exc, ssl.SSLError) else None
    if reason in PLAIN_HTTP_REASONS:
        log.warning("plain HTTP on the TLS port from %s: the client must use https://", peer)
    elif reason in NOT_TLS_REASONS:
        log.warning("not TLS on the TLS port from %s (plain HTTP?): the client must use https://", peer)
    elif reason in UNTRUSTED_REASONS:
        log.info("TLS handshake with %s failed: %s (the client does not trust the certificate)", peer, reason)
    else:  # e.g. a client gone mid-handshake: worth a line when setting TLS up, noise otherwise
        log.info("TLS handshake with %s failed: %s", peer, reason or exc)


class GuardedServer(web.Server):
    """aiohttp's connection factory, making GuardedRequestHandlers (behind TLS when given a context)."""

    def __init__(self, *args: Any, ssl_context: ssl.SSLContext | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ssl_context = ssl_context

    def __call__(self) -> asyncio.BaseProtocol:
        handler = GuardedRequestHandler(self, loop=self._loop, **self._kwargs)
        if self._ssl_context is None:
            return handler
        return ReportingTLSProtocol(self._loop, handler, self._ssl_context, None, server_side=True)


class GuardedRunner(web.AppRunner):
    """An AppRunner whose server makes GuardedRequestHandlers; pass header_timeout with the handler settings, and
    the TLS context here rather than to the site (its server wraps each connection's handler in TLS)."""

    def __init__(self, app: web.Application, *, ssl_context: ssl.SSLContext | None = None, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._ssl_context = ssl_context

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        return GuardedServer(server.request_handler, request_factory=server.request_factory,
                             handler_cancellation=server.handler_cancellation, loop=asyncio.get_running_loop(),
                             ssl_context=self._ssl_context, **server._kwargs)


def serve(app: web.Application, *, host: str, port: int, ssl_context: ssl.SSLContext | None, header_timeout: float,
          access_log_class: type[AbstractAccessLogger], shutdown_timeout: float,
          announce: Callable[[], None]) -> None:
    """Serve until SIGINT or SIGTERM, in the steps and order of web.run_app, with GuardedRunner as its runner."""
    with asyncio.Runner() as loop_runner:  # on leaving: cancel what is left, close async generators and the loop
        loop = loop_runner.get_loop()
        runner = GuardedRunner(app, ssl_context=ssl_context, handle_signals=True, shutdown_timeout=shutdown_timeout,
                               access_log_class=access_log_class, keepalive_timeout=KEEPALIVE_TIMEOUT,
                               max_line_size=MAX_URL_BYTES, max_field_size=MAX_HEADER_BYTES,
                               max_headers=MAX_HEADERS, header_timeout=header_timeout)
        main = loop.create_task(_serve(runner, host, port, announce))
        try:
            loop.run_until_complete(main)
        except (web.GracefulExit, KeyboardInterrupt):
            pass
        finally:
            if not main.done():  # stopped by a signal: the cleanup runs in it, before the other tasks are cancelled
                main.cancel()
                with suppress(asyncio.CancelledError):
                    loop.run_until_complete(main)


async def _serve(runner: web.AppRunner, host: str, port: int, announce: Callable[[], None]) -> None:
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, backlog=BACKLOG).start()  # TLS, if any, is in the runner's server
        announce()
        await asyncio.Event().wait()  # until a signal stops the loop
    finally:
        await runner.cleanup()
