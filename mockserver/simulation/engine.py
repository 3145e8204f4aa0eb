"""Message lifecycles: each accepted message walks its planned statuses on the clock and publishes each one."""

from __future__ import annotations

import random
import uuid
from typing import Any

from ..store import MemoryStore
from .channels import Profile
from .clock import Clock
from .events import Event, EventBus
from .models import Message, StatusEntry, compact_json
from .rules import Rule, RuleBook


def recipient_of(address: dict[str, Any]) -> str:
    return address.get("number") or address.get("id") or ""


class Engine:
    def __init__(self, clock: Clock, store: MemoryStore, bus: EventBus, rules: RuleBook,
                 profiles: dict[str, Profile], seed: int) -> None:
        self.clock = clock
        self.store = store
        self.bus = bus
        self.rules = rules
        self.profiles = profiles
        self.seed = seed
        self.rng = random.Random(seed)

    def reset(self) -> None:
        self.rng = random.Random(self.seed)

    def send(self, request: dict[str, Any], api: str = "beta", workflow_uuid: str | None = None,
             workflow_kind: str | None = None) -> Message:
        """Accept an outbound message: store it and plan its whole timeline now (so draws stay in order)."""
        to = request["to"]
        channel = to["type"]
        recipient = recipient_of(to)
        now = self.clock.now()
        message = Message(message_uuid=str(uuid.uuid4()), channel=channel, direction="outbound",
                          recipient=recipient, peer=recipient, raw=compact_json(request), created_at=now, api=api,
                          workflow_uuid=workflow_uuid, workflow_kind=workflow_kind,
                          history=[StatusEntry("accepted", now)])
        content = request["message"]["content"]
        rule = self.rules.decide(channel, recipient, content.get("text"))
        message.plan = self._plan(rule, self.profiles[channel], now)
        self.store.add_message(message)
        self.bus.publish(Event("message.accepted", message))
        self._schedule_next(message)
        return message

    def record_inbound(self, message: Message) -> None:
        self.store.add_message(message)
        self.bus.publish(Event("inbound.received", message))

    def _plan(self, rule: Rule, profile: Profile, start: float) -> list[StatusEntry]:
        """The statuses the message will go through, with absolute times; the rule decides which."""
        factor = rule.factor
        delay = profile.delay
        at = start + delay("submitted", self.rng, factor)
        if rule.outcome == "rejected":
            return [StatusEntry("rejected", at, rule.error)]
        plan = [StatusEntry("submitted", at)]
        if rule.outcome == "stuck_submitted":
            return plan
        at += delay("delivered", self.rng, factor)
        if rule.outcome == "undeliverable":
            plan.append(StatusEntry("undeliverable", at, rule.error))
            return plan
        plan.append(StatusEntry("delivered", at, usage=profile.usage()))
        if profile.reports_read and rule.outcome in ("read", "slow"):
            at += delay("read", self.rng, factor)
            plan.append(StatusEntry("read", at))
        return plan

    def resume(self, message: Message) -> None:
        """Reschedule what is left of a restored message's plan (due steps fire at once, in order)."""
        self._schedule_next(message)

    def _schedule_next(self, message: Message) -> None:
        if message.plan:
            self.clock.call_at(message.plan[0].timestamp, self._advance, message)
        else:
            message.plan = None

    def _advance(self, message: Message) -> None:
        if self.store.get_message(message.message_uuid) is not message:
            return  # pruned or reset meanwhile
        entry = message.plan.pop(0)
        message.history.append(entry)
        self.bus.publish(Event("message.status", message, entry))
        self._schedule_next(message)
