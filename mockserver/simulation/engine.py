"""Message lifecycles: each accepted message walks its planned statuses and publishes each one.

A message walks its plan on clock timers while someone takes statuses as they happen (status webhooks, demo
replies, a live stream, a waiter). Nobody else can tell when a step is taken, so a
message nobody watches takes its due steps when it is read instead: the same history, without a timer per
step (they were a fifth of the cost of accepting a message).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from ..ids import new_uuid
from .channels import Profile
from .clock import Clock, round_ms
from .commands import SendMessage
from .events import EventBus, EventType
from .models import FAILED_STATUSES, Message, StatusEntry, compact_json
from .rules import Rule, RuleBook
from .store import Store
from .window import OUTSIDE_WINDOW, CareWindows


class Engine:
    def __init__(self, clock: Clock, store: Store, bus: EventBus, rules: RuleBook,
                 profiles: dict[str, Profile], seed: int, watched: Callable[[], bool]) -> None:
        self.clock = clock
        self.watched = watched  # does anyone take statuses as they happen?
        self.store = store
        self.bus = bus
        self.rules = rules
        self.profiles = profiles
        self.seed = seed
        self.rng = random.Random(seed)
        self.windows = CareWindows()

    def reset(self) -> None:
        self.rng = random.Random(self.seed)
        self.windows.reset()

    def send(self, command: SendMessage, workflow_uuid: str | None = None, workflow_kind: str | None = None,
             item: tuple[int, int] | None = None) -> Message:
        """Accept an outbound message: store it and plan its whole timeline now (so draws stay in order).
        `item`: its place in a workflow, (item_number, items_number)."""
        channel, recipient = command.channel, command.recipient
        now = self.clock.now()
        item_number, items_number = item or (None, None)
        # Positional, in the order of Message's fields: keywords made this call twice as slow, once per message.
        message = Message(new_uuid(), channel, "outbound", recipient, recipient, compact_json(command.record()), now,
                          command.generation, workflow_uuid, workflow_kind, item_number, items_number,
                          [StatusEntry("accepted", now)])
        rule = self.rules.decide(channel, recipient, command.text)
        if channel == "whatsapp" and rule.outcome not in FAILED_STATUSES and not self.windows.allows(command, now):
            rule = OUTSIDE_WINDOW
        message.plan = self._plan(rule, self.profiles[channel], now)
        self.store.add_message(message)
        self.bus.publish(EventType.MESSAGE_ACCEPTED, message)
        self.follow(message)
        return message

    def record_inbound(self, message: Message) -> None:
        if message.channel == "whatsapp":
            self.windows.opened_by(message)
        self.store.add_message(message)
        self.bus.publish(EventType.INBOUND_RECEIVED, message)

    def _plan(self, rule: Rule, profile: Profile, start: float) -> list[StatusEntry]:
        """The statuses the message will go through, at millisecond instants (timers fire on those); the rule
        decides which."""
        factor = rule.factor
        delay = profile.delay
        at = round_ms(start + delay("submitted", self.rng, factor))
        if rule.outcome == "rejected":
            return [StatusEntry("rejected", at, rule.error)]
        charged = profile.usage if profile.charged_at == "submitted" else None
        plan = [StatusEntry("submitted", at, None, charged)]
        if rule.outcome == "stuck_submitted":
            return plan
        at = round_ms(at + delay("delivered", self.rng, factor))
        if rule.outcome == "undeliverable":
            plan.append(StatusEntry("undeliverable", at, rule.error))
            return plan
        plan.append(StatusEntry("delivered", at, None, None if charged else profile.usage))
        if profile.reports_read and rule.outcome in ("read", "slow"):
            at = round_ms(at + delay("read", self.rng, factor))
            plan.append(StatusEntry("read", at))
        return plan

    def follow(self, message: Message) -> None:
        """Walk the plan on timers if anyone watches (due steps fire at once, in order); else steps wait for a read."""
        message.timed = self.watched()
        if message.timed:
            self._schedule_next(message)

    def resume(self, message: Message) -> None:
        """Follow a message restored from its store; the steps it took unwatched until then are taken now."""
        message.catch_up(self.clock.now())
        self.follow(message)

    def watch_all(self) -> None:
        """Someone now takes statuses as they happen: every message still on its plan gets its timer."""
        now = self.clock.now()
        for message in self._unwatched():
            message.catch_up(now)
            message.timed = True
            self.store.save_message(message)  # with the steps taken meanwhile
            self.bus.publish(EventType.MESSAGE_TIMED, message)
            self._schedule_next(message)

    def unwatched(self) -> tuple[int, float | None]:
        """How many messages will take a step when read (no timer holds them), and the earliest such step."""
        now = self.clock.now()
        count, first = 0, None
        for message in self._unwatched():
            message.catch_up(now)
            if message.plan:
                count += 1
                at = message.plan[0].timestamp
                first = at if first is None or at < first else first
        return count, first

    def _unwatched(self) -> list[Message]:
        return [message for message in self.store.planned_messages() if not message.timed]

    def reschedule(self, message: Message) -> None:
        """After its plan changed: the next step gets a timer (a timer set for an earlier plan finds nothing)."""
        self._schedule_next(message)

    def _schedule_next(self, message: Message) -> None:
        if message.plan:
            self.clock.call_at(message.plan[0].timestamp, self._advance, message.message_uuid)
        else:
            message.plan = None

    def _advance(self, message_uuid: str) -> None:
        message = self.store.get_message(message_uuid)
        if message is None or not message.plan:
            return  # pruned or reset meanwhile
        entry = message.plan.pop(0)
        message.history.append(entry)
        self.store.save_message(message)
        self.bus.publish(EventType.MESSAGE_STATUS, message, entry)
        self._schedule_next(message)
