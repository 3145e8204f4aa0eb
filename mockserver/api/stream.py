"""GET /_mock/events: a server-sent-events stream of everything the mock does."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from aiohttp import web

from ..simulation.events import Event
from .keys import MOCK

log = logging.getLogger("mockserver.stream")
QUEUE_LIMIT = 10_000
KEEPALIVE_SECONDS = 15.0


def event_data(event: Event) -> dict[str, Any]:
    subject = event.subject
    if event.type.startswith(("message.", "inbound.")):
        data: dict[str, Any] = {"message": subject.to_dict()}
        if event.detail is not None:
            data["status"] = event.detail.to_dict()
        return data
    if event.type.startswith("workflow."):
        return {"workflow": subject.to_dict()}
    if event.type.startswith("webhook."):  # attempt, queued
        return {"delivery": subject.to_dict()}
    if event.type == "config.changed":
        return {"config": subject}
    return {}


# Open streams, so shutdown can end them at once instead of waiting for their next write to fail.
OPEN_STREAMS = web.AppKey("open_streams", set)
CLOSE = Event("stream.close", None)


def _offer(queue: asyncio.Queue[Event], event: Event) -> bool:
    """Queue an event; a client that cannot keep up loses the oldest one (True when that happened)."""
    dropped = queue.full()
    if dropped:
        queue.get_nowait()
    queue.put_nowait(event)
    return dropped


async def close_streams(app: web.Application) -> None:
    for queue in app[OPEN_STREAMS]:
        _offer(queue, CLOSE)


async def events(request: web.Request) -> web.StreamResponse:
    mock = request.app[MOCK]
    queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_LIMIT)
    lost = 0

    def listen(event: Event) -> None:
        nonlocal lost
        lost += _offer(queue, event)

    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    release = mock.bus.watch()  # before subscribing: the catch-up it may start is in the snapshot, not the stream
    unsubscribe = mock.bus.subscribe(listen)
    request.app[OPEN_STREAMS].add(queue)
    try:
        await response.write(b"retry: 1000\nevent: hello\ndata: {}\n\n")
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if event is CLOSE:
                break
            data = event_data(event)
            data["now"] = mock.clock.now_iso()
            if lost:
                data["lost_events"], lost = lost, 0
            await response.write(b"event: " + event.type.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n")
    except ConnectionResetError:
        pass
    finally:
        unsubscribe()
        release()
        request.app[OPEN_STREAMS].discard(queue)
    return response


def setup(app: web.Application) -> None:
    app[OPEN_STREAMS] = set()
    app.on_shutdown.append(close_streams)


def routes() -> list[web.RouteDef]:
    return [web.get("/_mock/events", events)]
