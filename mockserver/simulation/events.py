"""The event bus: the simulation publishes what happens; webhooks, the live stream and waiters listen."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

log = logging.getLogger("mockserver.events")


class EventType(StrEnum):
    """Every event the mock publishes: the bus, the live stream and the page (via /_mock/event-types) use this list."""

    MESSAGE_ACCEPTED = "message.accepted"
    MESSAGE_STATUS = "message.status"
    MESSAGE_TIMED = "message.timed"  # an unwatched message now walks on timers (its due steps were taken)
    INBOUND_RECEIVED = "inbound.received"
    WORKFLOW_ACCEPTED = "workflow.accepted"
    WORKFLOW_UPDATED = "workflow.updated"
    WORKFLOW_FINISHED = "workflow.finished"
    WEBHOOK_QUEUED = "webhook.queued"
    WEBHOOK_ATTEMPT = "webhook.attempt"
    RULES_CHANGED = "rules.changed"
    CONFIG_CHANGED = "config.changed"
    MOCK_RESET = "mock.reset"
    FAULT_HIT = "fault.hit"  # a fault answered (or delayed) a request at the API edge


@dataclass(slots=True)  # read-only by convention: frozen would triple the cost of making one
class Event:
    type: EventType
    subject: Any  # the Message, Workflow or Delivery the event is about
    detail: Any = None  # e.g. the StatusEntry of a status change

Listener = Callable[[Event], None]


class EventBus:
    def __init__(self) -> None:
        # Tuples replaced on (un)subscribe: publishing, far more frequent, iterates them without a copy.
        self._subscriptions: tuple[tuple[Listener, frozenset[EventType] | None], ...] = ()
        self._routes: dict[EventType, tuple[Listener, ...]] = {}  # event type -> its listeners in order (a cache)
        self._waiters: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []
        self.watchers = 0  # live streams and waiters: they need each status as it happens, not when read
        self.on_first_watcher: Callable[[], None] | None = None

    def subscribe(self, listener: Listener, types: Iterable[EventType] | None = None) -> Callable[[], None]:
        """Call `listener` with each event of the given types (None: all), until the returned function is called."""
        entry = (listener, None if types is None else frozenset(EventType(t) for t in types))  # unknown: ValueError
        self._subscriptions = (*self._subscriptions, entry)
        self._routes = {}
        return lambda: self._unsubscribe(entry)

    def _unsubscribe(self, entry: tuple[Listener, frozenset[EventType] | None]) -> None:
        subscriptions = list(self._subscriptions)
        subscriptions.remove(entry)
        self._subscriptions = tuple(subscriptions)
        self._routes = {}

    def _listeners(self, event_type: EventType) -> tuple[Listener, ...]:
        listeners = self._routes.get(event_type)
        if listeners is None:
            listeners = self._routes[event_type] = tuple(
                listener for listener, types in self._subscriptions if types is None or event_type in types)
        return listeners

    def watch(self) -> Callable[[], None]:
        """Count a watcher until the returned function is called."""
        self.watchers += 1
        if self.watchers == 1 and self.on_first_watcher:
            self.on_first_watcher()

        def release() -> None:
            self.watchers -= 1

        return release

    def publish(self, event_type: EventType, subject: Any, detail: Any = None) -> None:
        """Tell the listeners of `event_type` (the Event is made only if there are any) and the waiters."""
        listeners = self._listeners(event_type)
        if listeners:
            event = Event(event_type, subject, detail)
            for listener in listeners:
                try:
                    listener(event)
                except Exception:  # one broken listener must not stop the simulation
                    log.exception("event listener failed on %s", event_type)
        if self._waiters:
            self._check_waiters()

    async def wait_for(self, probe: Callable[[], Any], timeout: float) -> Any:
        """Wait (wall time) until `probe()` returns something truthy; None on timeout."""
        release = self.watch()  # first: the catch-up it may start must not re-run probes (a waiter's, below)
        found = probe()
        if found:
            release()
            return found
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        entry = (probe, future)
        self._waiters.append(entry)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return None
        finally:
            release()
            if entry in self._waiters:
                self._waiters.remove(entry)

    def _check_waiters(self) -> None:
        for probe, future in list(self._waiters):
            if future.done():
                continue
            found = probe()
            if found:
                future.set_result(found)
