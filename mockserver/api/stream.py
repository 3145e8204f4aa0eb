"""GET /_mock/events: a server-sent-events stream of everything the mock does."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web

from ..backend import Backend
from ..simulation.events import Event, EventType
from .keys import ACCOUNTS, OPEN_STREAMS
from .scope import requested_account

log = logging.getLogger("mockserver.stream")
QUEUE_LIMIT = 10_000
KEEPALIVE_SECONDS = 15.0


def _message(event: Event) -> dict[str, Any]:
    data: dict[str, Any] = {"message": event.subject.to_dict()}
    if event.detail is not None:
        data["status"] = event.detail.to_dict()
    return data


def _workflow(event: Event) -> dict[str, Any]:
    return {"workflow": event.subject.to_dict()}


def _delivery(event: Event) -> dict[str, Any]:
    return {"delivery": event.subject.to_dict()}


def _nothing(event: Event) -> dict[str, Any]:
    return {}


# What each event type's `data` holds; a new type that is missing here fails the test of this table.
EVENT_DATA: dict[EventType, Callable[[Event], dict[str, Any]]] = {
    EventType.MESSAGE_ACCEPTED: _message,
    EventType.MESSAGE_STATUS: _message,
    EventType.MESSAGE_TIMED: _message,
    EventType.INBOUND_RECEIVED: _message,
    EventType.WORKFLOW_ACCEPTED: _workflow,
    EventType.WORKFLOW_UPDATED: _workflow,
    EventType.WORKFLOW_FINISHED: _workflow,
    EventType.WEBHOOK_QUEUED: _delivery,
    EventType.WEBHOOK_ATTEMPT: _delivery,
    EventType.RULES_CHANGED: _nothing,
    EventType.CONFIG_CHANGED: lambda event: {"config": event.subject},
    EventType.MOCK_RESET: _nothing,
    EventType.FAULT_HIT: lambda event: {"fault": event.subject, "request": event.detail},
}


def _offer(queue: asyncio.Queue[Any], event: Any) -> bool:
    """Queue an event; a client that cannot keep up loses the oldest one (True when that happened)."""
    dropped = queue.full()
    if dropped:
        queue.get_nowait()
    queue.put_nowait(event)
    return dropped


async def close_streams(app: web.Application) -> None:
    for queue in app[OPEN_STREAMS]:
        _offer(queue, None)  # None: the stream ends


async def events(request: web.Request) -> web.StreamResponse:
    """One account's events (`account=`), or every account's, those made while the stream is open included."""
    accounts, account = request.app[ACCOUNTS], requested_account(request)
    queue: asyncio.Queue[tuple[Backend, Event] | None] = asyncio.Queue(QUEUE_LIMIT)
    lost = 0
    stops: list[Callable[[], None]] = []

    def join(backend: Backend) -> None:
        def listen(event: Event) -> None:
            nonlocal lost
            lost += _offer(queue, (backend, event))

        stops.append(backend.bus.watch())  # before subscribing: the catch-up it may start is in the snapshot
        stops.append(backend.bus.subscribe(listen))

    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    for backend in [accounts[account]] if account else list(accounts):
        join(backend)
    if account is None:
        accounts.on_new.append(join)
    request.app[OPEN_STREAMS].add(queue)
    try:
        await response.write(b"retry: 1000\nevent: hello\ndata: {}\n\n")
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if item is None:
                break
            backend, event = item
            data = EVENT_DATA[event.type](event)
            data["now"] = backend.clock.now_iso()
            data["account"] = backend.account
            if "message" in data:  # the page labels messages by account
                data["message"]["account"] = backend.account
            if lost:
                data["lost_events"], lost = lost, 0
            await response.write(b"event: " + event.type.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n")
    except ConnectionResetError:
        pass
    finally:
        if join in accounts.on_new:
            accounts.on_new.remove(join)
        for stop in reversed(stops):
            stop()
        request.app[OPEN_STREAMS].discard(queue)
    return response


def setup(app: web.Application) -> None:
    app[OPEN_STREAMS] = set()
    app.on_shutdown.append(close_streams)


def routes() -> list[web.RouteDef]:
    return [web.get("/_mock/events", events)]
