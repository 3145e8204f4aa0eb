"""Webhook delivery: POSTs events to the user's URLs, in order per message, with retries on the clock.

Every attempt is journalled on its Delivery; nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt
import orjson

from .deliveries import Attempt, Delivery
from .ids import new_uuid
from .payloads import WebhookRenderers
from .simulation.clock import Clock
from .simulation.events import Event, EventBus, EventType
from .simulation.models import Message, Workflow, compact_json
from .simulation.store import Store

log = logging.getLogger("mockserver.webhooks")
USER_AGENT = "Nexmo-Messages-Mock/0.1"


@dataclass
class WebhookPolicy:
    """Where to send and how hard to try; mutable at run time through the control API."""

    status_url: str | None = None
    inbound_url: str | None = None
    signature_secret: str | None = None
    api_key: str | None = None
    timeout: float = 5.0
    retry_base: float = 5.0
    retry_max_delay: float = 900.0
    max_attempts: int = 10
    max_pending: int = 10_000

    def retry_delay(self, attempts: int, retry_after: float | None) -> float:
        """5, 10, 20, 40 ... seconds (the real service's schedule), capped; a longer Retry-After wins."""
        delay = min(self.retry_base * 2 ** (attempts - 1), self.retry_max_delay)
        return max(delay, min(retry_after, self.retry_max_delay)) if retry_after else delay


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After")
    try:
        return float(value) if value else None
    except ValueError:
        return None


class WebhookClient:
    """The one HTTP connection pool every account's webhooks share."""

    def __init__(self) -> None:
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=256, limit_per_host=128, ttl_dns_cache=300)
        self.session = aiohttp.ClientSession(connector=connector, json_serialize=lambda o: orjson.dumps(o).decode())

    async def close(self) -> None:
        if self.session:
            await self.session.close()


class WebhookDispatcher:
    """One lane per message: its deliveries go one at a time, in order; lanes run side by side.

    A lane holds delivery ids; each attempt reads its delivery from the store."""

    def __init__(self, policy: WebhookPolicy, clock: Clock, store: Store, bus: EventBus, client: WebhookClient,
                 renderers: Mapping[str, WebhookRenderers]) -> None:
        self.policy = policy
        self.clock = clock
        self.store = store
        self.bus = bus
        self.client = client
        self.renderers = renderers  # by API generation
        self._closing = False
        self._lanes: dict[str, deque[tuple[str, str]]] = {}  # lane -> (delivery id, its url), in order
        self._running: dict[str, asyncio.Task[None]] = {}
        self._waiting: set[str] = set()
        self._pending_by_url: dict[str, int] = {}
        self._capped: dict[str, int] = {}  # URL at its cap -> deliveries not sent since it was reached
        self.route = self.default_route
        self._last_id = 0  # deliveries are numbered (an int costs a third of a uuid, and they are many)
        bus.subscribe(self._on_event, (EventType.MESSAGE_STATUS, EventType.WORKFLOW_FINISHED,
                                       EventType.INBOUND_RECEIVED))

    async def close(self, grace: float = 2.0) -> int:
        """Let in-flight attempts finish for up to `grace` seconds; returns how many deliveries remain pending."""
        self._closing = True  # from now on deliveries stay queued (and journalled), no new attempt starts
        if self._running:
            await asyncio.wait(list(self._running.values()), timeout=grace)
        for task in list(self._running.values()):
            task.cancel()
        return self.pending_count()

    def pending_count(self) -> int:
        return sum(len(lane) for lane in self._lanes.values())

    def reset(self) -> None:
        for task in self._running.values():
            task.cancel()
        self._running.clear()
        self._lanes.clear()
        self._waiting.clear()
        self._pending_by_url.clear()
        self._capped.clear()

    async def settle(self) -> None:
        """Wait until every lane is idle or waiting for a retry timer."""
        while self._running:
            await asyncio.wait(list(self._running.values()))

    # -- turning events into deliveries ---------------------------------------------------------
    def default_route(self, message: Message, kind: str) -> tuple[str | None, WebhookRenderers]:
        """Where a message's `kind` ("status" or "inbound") webhooks go and in which shape: the account's URL,
        its generation's renderers. The account replaces `route` once it has applications or per-message URLs."""
        url = self.policy.status_url if kind == "status" else self.policy.inbound_url
        return url, self.renderers[message.api]

    def _on_event(self, event: Event) -> None:
        subject = event.subject
        if event.type is EventType.MESSAGE_STATUS:
            url, renderers = self.route(subject, "status")
            if url:
                self.enqueue("status", url, subject.message_uuid, renderers.status(subject, event.detail))
        elif event.type is EventType.WORKFLOW_FINISHED:
            report = self.renderers[subject.api].workflow_report
            url = self._report_url(subject) if report else None
            if url:
                self.enqueue("workflow", url, subject.workflow_uuid, report(subject, self.store))
        elif event.type is EventType.INBOUND_RECEIVED:
            url, renderers = self.route(subject, "inbound")
            if url:
                self.enqueue("inbound", url, subject.message_uuid, renderers.inbound(subject))

    def _report_url(self, workflow: Workflow) -> str | None:
        """Where a workflow's report goes: where its first message's status webhooks go (its application's URL for
        a JWT's send); the account's status URL once that message is pruned."""
        first = workflow.items[0].message_uuid
        message = self.store.get_message(first) if first else None
        return self.route(message, "status")[0] if message is not None else self.policy.status_url

    def number_after(self, newest: list[Delivery]) -> None:
        """Number new deliveries after the newest one the store holds (a state file of an earlier version holds
        uuids: numbering starts at 1)."""
        if newest and isinstance(newest[0].id, int):
            self._last_id = newest[0].id

    def enqueue(self, kind: str, url: str, subject_uuid: str, body: dict[str, Any]) -> Delivery:
        self._last_id += 1
        delivery = Delivery(id=self._last_id, kind=kind, url=url, subject_uuid=subject_uuid,
                            body=compact_json(body), created_at=self.clock.now())
        self.store.add_delivery(delivery)
        self.bus.publish(EventType.WEBHOOK_QUEUED, delivery)
        if self._pending_by_url.get(url, 0) >= self.policy.max_pending:
            self._drop(delivery)
            return delivery
        self._pending_by_url[url] = self._pending_by_url.get(url, 0) + 1
        self._lanes.setdefault(subject_uuid, deque()).append((delivery.id, url))
        self._wake(subject_uuid)
        return delivery

    def _drop(self, delivery: Delivery) -> None:
        delivery.state = "gave_up"
        delivery.record(Attempt(at=self.clock.now(), latency_ms=0.0,
                                error=f"not sent: {self.policy.max_pending} deliveries already pending for "
                                      f"{delivery.url}"))
        if delivery.url not in self._capped:
            self._capped[delivery.url] = 0
            log.warning("webhook cap reached: %d deliveries pending for %s; new ones are logged as gave_up "
                        "until it drains", self.policy.max_pending, delivery.url)
        self._capped[delivery.url] += 1
        self.store.save_delivery(delivery)
        self.bus.publish(EventType.WEBHOOK_ATTEMPT, delivery)

    def resume(self, delivery: Delivery) -> None:
        """Re-queue a restored pending or retrying delivery; call in creation order, so lanes keep their order."""
        lane = self._lanes.setdefault(delivery.subject_uuid, deque())
        lane.append((delivery.id, delivery.url))
        self._pending_by_url[delivery.url] = self._pending_by_url.get(delivery.url, 0) + 1
        if delivery.state == "retrying" and len(lane) == 1:
            self._waiting.add(delivery.subject_uuid)
            self.clock.call_at(delivery.next_attempt_at, self._resume, delivery.subject_uuid)
        else:
            self._wake(delivery.subject_uuid)

    # -- lanes ----------------------------------------------------------------------------------
    def _wake(self, lane: str) -> None:
        if self._closing or lane in self._running or lane in self._waiting:
            return
        self._running[lane] = asyncio.get_running_loop().create_task(self._drain(lane))

    def _resume(self, lane: str) -> None:
        self._waiting.discard(lane)
        if lane in self._lanes:
            self._wake(lane)

    async def _drain(self, lane: str) -> None:
        queue = self._lanes[lane]
        try:
            while queue:
                delivery_id, url = queue[0]
                delivery = self.store.get_delivery(delivery_id)
                if delivery is None:  # pruned meanwhile: its journal is gone, so is the delivery
                    queue.popleft()
                    self._settled_one(url)
                    continue
                if not await self._attempt(delivery) and delivery.state == "retrying":
                    self._waiting.add(lane)
                    self.clock.call_at(delivery.next_attempt_at, self._resume, lane)
                    return
                queue.popleft()
                self._settled_one(delivery.url)
            del self._lanes[lane]
        finally:
            self._running.pop(lane, None)

    def _settled_one(self, url: str) -> None:
        """One delivery to `url` left the queue; a capped URL reopens once half drained (one line per episode)."""
        pending = self._pending_by_url[url] = self._pending_by_url[url] - 1
        if url in self._capped and pending <= self.policy.max_pending // 2:
            log.warning("webhook cap lifted for %s: %d deliveries pending; %d were not sent while it was reached",
                        url, pending, self._capped.pop(url))

    async def _attempt(self, delivery: Delivery) -> bool:
        """One POST; True when the receiver took it (2xx). Sets the delivery's state either way."""
        at, started = self.clock.now(), time.perf_counter()
        status_code = error = text = retry_after = None
        try:
            async with self.client.session.post(delivery.url, data=delivery.body, headers=self._headers(delivery),
                                                timeout=aiohttp.ClientTimeout(total=self.policy.timeout)) as response:
                text = (await response.text(errors="replace"))[:1000]
                status_code = response.status
                retry_after = _retry_after(response.headers)
        except TimeoutError:
            error = f"timeout after {self.policy.timeout:g} s"
        except aiohttp.ClientError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        attempt = Attempt(at, round((time.perf_counter() - started) * 1000, 3), status_code, error, text)
        delivery.record(attempt)
        ok = status_code is not None and 200 <= status_code < 300
        if ok:
            delivery.state, delivery.next_attempt_at = "delivered", None
        elif delivery.attempt_count < self.policy.max_attempts:
            delivery.state = "retrying"
            delivery.next_attempt_at = self.clock.now() + self.policy.retry_delay(delivery.attempt_count,
                                                                                  retry_after)
        else:
            delivery.state, delivery.next_attempt_at = "gave_up", None
            log.warning("webhook gave up after %d attempts: %s %s (last: %s)", delivery.attempt_count,
                        delivery.kind, delivery.url, error or status_code)
        self.store.save_delivery(delivery)
        self.bus.publish(EventType.WEBHOOK_ATTEMPT, delivery, attempt)
        return ok

    def _application_of(self, delivery: Delivery) -> str | None:
        """The application the delivery's message belongs to (a JWT's send, an inbound addressed to it), if any."""
        message = self.store.get_message(delivery.subject_uuid) if delivery.kind != "workflow" else None
        return message.record.get("application_id") if message is not None else None

    def _headers(self, delivery: Delivery) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        secret = self.policy.signature_secret
        if secret:
            claims = {"iat": int(time.time()), "jti": new_uuid(), "iss": "Vonage",
                      "payload_hash": hashlib.sha256(delivery.body).hexdigest()}
            if self.policy.api_key:
                claims["api_key"] = self.policy.api_key
            application_id = self._application_of(delivery)
            if application_id:
                claims["application_id"] = application_id
            headers["Authorization"] = "Bearer " + jwt.encode(claims, secret, algorithm="HS256")
        return headers
