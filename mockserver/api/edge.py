"""The API edge: faults, rate limits and the balance, applied to an emulated request before it is acted on.

`Edge.active` is False while no fault, rate limit or balance is set anywhere: the emulated handler then does not
call in at all. Faults answer in the dialect of the request's generation (api/edge_problems.json), or with the
fault's own body; a dropped request gets no HTTP answer at all.
"""

from __future__ import annotations

import asyncio
import json
import math
import socket
import struct
from collections.abc import Callable
from http import HTTPStatus
from importlib import resources
from typing import Any

import orjson
from aiohttp import web

from ..accounts import Accounts, Caller
from ..backend import Backend
from ..config import Settings
from ..faults import Fault, FaultBook, Target
from ..simulation.events import EventType
from .errors import Handler, Problem

PROBLEMS: dict[str, Any] = json.loads(resources.files("mockserver.api").joinpath("edge_problems.json").read_text())
LINGER_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends a TCP reset
DROPPED_STATUS = 444
FAULTS_SETTING = "faults"  # the default account's store keeps every fault under this setting


def edge_problem(dialect: str, status: int, headers: dict[str, str] | None = None) -> Problem:
    """The default problem of `status` in the dialect's words."""
    bodies = PROBLEMS[dialect]
    known = bodies.get(str(status))
    if known is None:
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else f"HTTP {status}"
        known = {"type": f"{bodies['generic']}{status}", "title": phrase, "detail": phrase}
    return Problem(status, known["type"], known["title"], known["detail"], headers=headers)


def _retry_after(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


class Edge:
    """Every fault of the mock, and the question each emulated request asks: does something answer instead?"""

    def __init__(self, accounts: Accounts, settings: Settings) -> None:
        self.accounts = accounts
        self.faults = FaultBook(settings.seed)
        self._limited_by_settings = bool(settings.rate_limit or settings.rate_limits) or settings.balance is not None
        self.active = self._limited_by_settings

    def refresh(self) -> None:
        """Recompute `active` after a change of faults or of an account's limits."""
        self.active = (self._limited_by_settings or bool(self.faults)
                       or any(backend.limits.enabled for backend in self.accounts))

    # -- the faults, kept by the default account's store ------------------------------------------
    def restore(self) -> None:
        saved = self.accounts.default.store.settings().get(FAULTS_SETTING) or []
        now = self.accounts.default.clock.now()
        for data in saved:
            self.faults.add(Fault.from_dict(data, data.get("account"), now))
        self.refresh()

    def save(self) -> None:
        self.accounts.default.store.save_setting(FAULTS_SETTING, [fault.to_dict() for fault in self.faults])
        self.refresh()

    # -- a request ----------------------------------------------------------------------------------
    async def answer(self, request: web.Request, caller: Caller, backend: Backend, dialect: str,
                     recipient: Callable[[], tuple[str, str, str]] | None) -> web.StreamResponse | None:
        """The answer a fault, the rate limit or the balance gives instead of the endpoint's; None: go on.
        `recipient()` (channel as named, channel of the simulation, to) is given for a valid send only; it is called
        only when something needs it."""
        sent = None
        on_path = self.faults.on_path(request.path) if self.faults else None
        if on_path is not None and on_path.any:
            if recipient is not None and on_path.reads_body:
                sent = recipient()
            candidates = on_path.candidates(sent[2] if sent else None)
            fault = None
            if candidates:
                target = Target(request.path, request.method, caller.application_id,
                                *((sent[:2], sent[2]) if sent else ()))
                fault = self.faults.hit(candidates, target, backend.account, backend.clock.now())
            if fault is not None:
                if sent is None and recipient is not None:  # for the event: what was about to be sent
                    sent = recipient()
                answer = await self._fault_answer(request, fault, backend, dialect, sent)
                if answer is not None:
                    return answer
        limits = backend.limits
        if not limits.enabled:
            return None
        if sent is None and recipient is not None:
            sent = recipient()
        wait = limits.wait(sent[:2] if sent else (), backend.clock.now())
        if wait is not None:
            return edge_problem(dialect, 429, _retry_after(wait)).response()
        if sent and limits.balance is not None and not limits.can_pay(backend.price(sent[1])):
            return edge_problem(dialect, 402).response()
        return None

    async def _fault_answer(self, request: web.Request, fault: Fault, backend: Backend, dialect: str,
                            sent: tuple[str, str, str] | None) -> web.StreamResponse | None:
        self.save()  # its hit count
        backend.bus.publish(EventType.FAULT_HIT, fault.to_dict(), {
            "path": request.path, "method": request.method, "channel": sent[0] if sent else None,
            "to": sent[2] if sent else None, "account": backend.account})
        delay = fault.delay(self.faults.rng)
        if delay:
            await asyncio.sleep(delay)
        if fault.drop is not None:
            return _drop(request, fault, dialect)
        if fault.status is None:
            return None  # latency only: the real answer follows
        return _fault_response(fault, dialect)

    def guard(self, handler: Handler, dialect: str, caller_of: Callable[[web.Request], Caller]) -> Handler:
        """`handler` behind the edge, for an emulated endpoint that reads no send body (faults by path, method and
        application; the account's rate limit)."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            if self.active:
                caller = caller_of(request)
                answer = await self.answer(request, caller, self.accounts.of(caller), dialect, None)
                if answer is not None:
                    return answer
            return await handler(request)

        return guarded


def _fault_response(fault: Fault, dialect: str) -> web.Response:
    status = fault.status or 500
    headers = _retry_after(fault.retry_after) if fault.retry_after is not None else {}
    if fault.body is None:
        return edge_problem(dialect, status, headers).response()
    return web.Response(status=status, body=orjson.dumps(fault.body), content_type="application/json",
                        headers=headers)


class _Dropped(web.Response):
    """What the handler returns once it has dropped the connection itself: aiohttp has nothing left to send. Its
    status, for the access log only, is nginx's 444 (connection closed without a response)."""

    def __init__(self) -> None:
        super().__init__(status=DROPPED_STATUS, reason="Dropped by a fault")

    async def prepare(self, request: web.BaseRequest) -> None:
        return None

    async def write_eof(self, data: bytes = b"") -> None:
        return None


def _drop(request: web.Request, fault: Fault, dialect: str) -> web.StreamResponse:
    """reset: a TCP reset; empty: the connection closed with no byte sent; partial: the head and half the body."""
    transport = request.transport
    if transport is None or transport.is_closing():
        return _Dropped()
    if fault.drop == "reset":
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
        transport.abort()
    elif fault.drop == "empty":
        transport.close()
    else:
        transport.write(_half_answer(fault, dialect))
        transport.close()
    return _Dropped()


def _half_answer(fault: Fault, dialect: str) -> bytes:
    response = _fault_response(fault, dialect) if fault.status else edge_problem(dialect, 500).response()
    body = response.body if isinstance(response.body, bytes) else b""
    status = response.status
    head = (f"HTTP/1.1 {status} {HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ''}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n")
    head += "".join(f"{name}: {value}\r\n" for name, value in response.headers.items()
                    if name.lower() not in ("content-type", "content-length"))
    return head.encode() + b"\r\n" + body[:len(body) // 2]
