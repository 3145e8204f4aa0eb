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


async def events(request: web.Request) -> web.StreamResponse:
    mock = request.app[MOCK]
    queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_LIMIT)
    lost = 0

    def listen(event: Event) -> None:
        nonlocal lost
        if queue.full():  # a client that cannot keep up loses the oldest events, and is told how many
            queue.get_nowait()
            lost += 1
        queue.put_nowait(event)

    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    unsubscribe = mock.bus.subscribe(listen)
    try:
        await response.write(b"retry: 1000\nevent: hello\ndata: {}\n\n")
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            data = event_data(event)
            data["now"] = mock.clock.now_iso()
            if lost:
                data["lost_events"], lost = lost, 0
            await response.write(b"event: " + event.type.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n")
    except ConnectionResetError:
        pass
    finally:
        unsubscribe()
    return response


def routes() -> list[web.RouteDef]:
    return [web.get("/_mock/events", events)]
