"""Webhook delivery: POSTs events to the user's URLs, in order per message, with retries on the clock.

Every attempt is journalled on its Delivery; nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import deque
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import aiohttp
import jwt
import orjson

from . import payloads
from .ids import new_uuid
from .simulation.clock import Clock, iso
from .simulation.events import Event, EventBus
from .simulation.models import compact_json
from .store import MemoryStore

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


@dataclass(slots=True)
class Attempt:
    at: float
    latency_ms: float
    status_code: int | None = None
    error: str | None = None
    response: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"at": iso(self.at), "latency_ms": self.latency_ms}
        if self.status_code is not None:
            data["status_code"] = self.status_code
        if self.error is not None:
            data["error"] = self.error
        if self.response is not None:
            data["response"] = self.response
        return data


@dataclass(slots=True)
class Delivery:
    id: str
    kind: str  # status | inbound | workflow
    url: str
    subject_uuid: str  # the message (or workflow) the payload is about
    body: bytes
    created_at: float
    state: str = "pending"  # pending | retrying | delivered | gave_up
    attempts: list[Attempt] = field(default_factory=list)
    next_attempt_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {"id": self.id, "kind": self.kind, "url": self.url, "subject_uuid": self.subject_uuid,
                "payload": orjson.loads(self.body), "state": self.state, "created_at": iso(self.created_at),
                "attempts": [attempt.to_dict() for attempt in self.attempts]}
        if self.kind in ("status", "inbound"):
            data["message_uuid"] = self.subject_uuid
        else:
            data["workflow_uuid"] = self.subject_uuid
        if self.next_attempt_at is not None:
            data["next_attempt_at"] = iso(self.next_attempt_at)
        return data

    def to_record(self) -> dict[str, Any]:
        """Every field but `body`, JSON-ready; `from_record(record, body)` rebuilds the delivery exactly."""
        record = {name: getattr(self, name) for name in _DELIVERY_SCALARS}
        record["attempts"] = [asdict(attempt) for attempt in self.attempts]
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any], body: bytes) -> Delivery:
        return cls(**{**record, "body": body, "attempts": [Attempt(**a) for a in record["attempts"]]})


_DELIVERY_SCALARS = tuple(f.name for f in fields(Delivery) if f.name not in ("body", "attempts"))


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After")
    try:
        return float(value) if value else None
    except ValueError:
        return None


class WebhookDispatcher:
    """One lane per message: its deliveries go one at a time, in order; lanes run side by side."""

    def __init__(self, policy: WebhookPolicy, clock: Clock, store: MemoryStore, bus: EventBus) -> None:
        self.policy = policy
        self.clock = clock
        self.store = store
        self.bus = bus
        self.session: aiohttp.ClientSession | None = None
        self._closing = False
        self._lanes: dict[str, deque[Delivery]] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._waiting: set[str] = set()
        self._pending_by_url: dict[str, int] = {}
        self._capped: dict[str, int] = {}  # URL at its cap -> deliveries not sent since it was reached
        self.dropped = 0
        bus.subscribe(self._on_event, ("message.status", "workflow.finished", "inbound.received"))

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=256, limit_per_host=128, ttl_dns_cache=300)
        self.session = aiohttp.ClientSession(connector=connector, json_serialize=lambda o: orjson.dumps(o).decode())

    async def close(self, grace: float = 2.0) -> int:
        """Let in-flight attempts finish for up to `grace` seconds; returns how many deliveries remain pending."""
        self._closing = True  # from now on deliveries stay queued (and journalled), no new attempt starts
        if self._running:
            await asyncio.wait(list(self._running.values()), timeout=grace)
        for task in list(self._running.values()):
            task.cancel()
        if self.session:
            await self.session.close()
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
    def _on_event(self, event: Event) -> None:
        policy = self.policy
        if event.type == "message.status" and policy.status_url:
            body = payloads.status_payload(event.subject, event.detail)
            self.enqueue("status", policy.status_url, event.subject.message_uuid, body)
        elif event.type == "workflow.finished" and policy.status_url and event.subject.api != "v1":  # v1: no report
            body = payloads.workflow_report(event.subject, self.store)
            self.enqueue("workflow", policy.status_url, event.subject.workflow_uuid, body)
        elif event.type == "inbound.received" and policy.inbound_url:
            body = payloads.inbound_payload(event.subject)
            self.enqueue("inbound", policy.inbound_url, event.subject.message_uuid, body)

    def enqueue(self, kind: str, url: str, subject_uuid: str, body: dict[str, Any]) -> Delivery:
        delivery = Delivery(id=new_uuid(), kind=kind, url=url, subject_uuid=subject_uuid,
                            body=compact_json(body), created_at=self.clock.now())
        self.store.add_delivery(delivery)
        self.bus.publish("webhook.queued", delivery)
        if self._pending_by_url.get(url, 0) >= self.policy.max_pending:
            self._drop(delivery)
            return delivery
        self._pending_by_url[url] = self._pending_by_url.get(url, 0) + 1
        self._lanes.setdefault(subject_uuid, deque()).append(delivery)
        self._wake(subject_uuid)
        return delivery

    def _drop(self, delivery: Delivery) -> None:
        delivery.state = "gave_up"
        delivery.attempts.append(Attempt(at=self.clock.now(), latency_ms=0.0,
                                         error=f"not sent: {self.policy.max_pending} deliveries already pending "
                                               f"for {delivery.url}"))
        self.dropped += 1
        if delivery.url not in self._capped:
            self._capped[delivery.url] = 0
            log.warning("webhook cap reached: %d deliveries pending for %s; new ones are logged as gave_up "
                        "until it drains", self.policy.max_pending, delivery.url)
        self._capped[delivery.url] += 1
        self.bus.publish("webhook.attempt", delivery)

    def resume(self, delivery: Delivery) -> None:
        """Re-queue a restored pending or retrying delivery; call in creation order, so lanes keep their order."""
        lane = self._lanes.setdefault(delivery.subject_uuid, deque())
        lane.append(delivery)
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
                delivery = queue[0]
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
        attempt = Attempt(at=self.clock.now(), latency_ms=0.0)
        started = time.perf_counter()
        retry_after = None
        try:
            async with self.session.post(delivery.url, data=delivery.body, headers=self._headers(delivery),
                                         timeout=aiohttp.ClientTimeout(total=self.policy.timeout)) as response:
                text = await response.text(errors="replace")
                attempt.status_code = response.status
                attempt.response = text[:1000]
                retry_after = _retry_after(response.headers)
        except TimeoutError:
            attempt.error = f"timeout after {self.policy.timeout:g} s"
        except aiohttp.ClientError as exc:
            attempt.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        attempt.latency_ms = round((time.perf_counter() - started) * 1000, 3)
        delivery.attempts.append(attempt)
        ok = attempt.status_code is not None and 200 <= attempt.status_code < 300
        if ok:
            delivery.state, delivery.next_attempt_at = "delivered", None
        elif len(delivery.attempts) < self.policy.max_attempts:
            delivery.state = "retrying"
            delivery.next_attempt_at = self.clock.now() + self.policy.retry_delay(len(delivery.attempts),
                                                                                  retry_after)
        else:
            delivery.state, delivery.next_attempt_at = "gave_up", None
            log.warning("webhook gave up after %d attempts: %s %s (last: %s)", len(delivery.attempts),
                        delivery.kind, delivery.url, attempt.error or attempt.status_code)
        self.bus.publish("webhook.attempt", delivery, attempt)
        return ok

    def _headers(self, delivery: Delivery) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        secret = self.policy.signature_secret
        if secret:
            claims = {"iat": int(time.time()), "jti": new_uuid(), "iss": "Vonage",
                      "payload_hash": hashlib.sha256(delivery.body).hexdigest()}
            if self.policy.api_key:
                claims["api_key"] = self.policy.api_key
            headers["Authorization"] = "Bearer " + jwt.encode(claims, secret, algorithm="HS256")
        return headers
