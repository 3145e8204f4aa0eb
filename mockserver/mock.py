"""The whole mock wired together: clock, store, rules, engine, failover, inbound, webhooks; reset and config."""

from __future__ import annotations

import random
from typing import Any

from .config import Settings
from .persistence import StateFile
from .simulation.channels import merge_profiles
from .simulation.clock import Clock, parse_iso
from .simulation.engine import Engine
from .simulation.events import Event, EventBus
from .simulation.failover import FailoverRunner
from .simulation.inbound import InboundFaker
from .simulation.models import Message
from .simulation.rules import Rule, RuleBook
from .store import MemoryStore
from .webhooks import WebhookDispatcher, WebhookPolicy

DEMO_REPLY_CHANCE = 0.5


class Mock:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        start = parse_iso(settings.start_time) if settings.start_time else None
        self.clock = Clock(settings.clock, settings.time_scale, start)
        self.store = MemoryStore(self.clock.now, settings.history_limit)
        self.bus = EventBus()
        self.rules = RuleBook(settings.rules)
        self.profile_overrides: dict[str, Any] = dict(settings.profiles)
        self.engine = Engine(self.clock, self.store, self.bus, self.rules,
                             merge_profiles(self.profile_overrides), settings.seed, watched=self._statuses_watched)
        self.bus.on_first_watcher = self.engine.watch_all
        self.failover = FailoverRunner(self.clock, self.store, self.bus, self.engine)
        self.inbound = InboundFaker(settings.seed)
        self.policy = WebhookPolicy(
            status_url=settings.status_url, inbound_url=settings.inbound_url,
            signature_secret=settings.signature_secret, api_key=settings.api_key,
            timeout=settings.webhook_timeout, retry_base=settings.webhook_retry_base,
            retry_max_delay=settings.webhook_retry_max_delay, max_attempts=settings.webhook_max_attempts,
            max_pending=settings.webhook_max_pending)
        self.webhooks = WebhookDispatcher(self.policy, self.clock, self.store, self.bus)
        self.clock.on_settle(self.webhooks.settle)
        self.demo_mode = settings.demo_mode
        self._demo_rng = random.Random(settings.seed)
        self.bus.subscribe(self._demo_reply, ("message.status",))
        self.state = StateFile(settings.state_file, self) if settings.state_file else None

    # -- acting ---------------------------------------------------------------------------------
    def send_message(self, request: dict[str, Any], api: str) -> Message:
        return self.engine.send(request, api=api)

    def start_workflow(self, request: dict[str, Any], kind: str, api: str) -> Any:
        return self.failover.start(request, kind=kind, api=api)

    def receive_inbound(self, request: dict[str, Any]) -> Message:
        message = self.inbound.build(request, self.clock)
        self.engine.record_inbound(message)
        return message

    def add_rule(self, data: dict[str, Any]) -> Rule:
        rule = self.rules.add(data)
        self.bus.publish("rules.changed", self.rules)
        return rule

    def delete_rule(self, rule_id: str) -> bool:
        deleted = self.rules.delete(rule_id)
        if deleted:
            self.bus.publish("rules.changed", self.rules)
        return deleted

    def reset(self) -> None:
        """All messages, workflows, deliveries, timers and user rules gone; seeded randomness restarts."""
        self.clock.clear()
        self.webhooks.reset()
        self.store.reset()
        self.rules.reset()
        self.engine.reset()
        self.inbound.reset()
        self._demo_rng = random.Random(self.settings.seed)
        self.bus.publish("mock.reset", None)

    # -- configuration --------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        return {
            "status_url": self.policy.status_url,
            "inbound_url": self.policy.inbound_url,
            "signature_secret": self.policy.signature_secret,
            "time_scale": self.clock.time_scale,
            "clock": self.clock.mode,
            "demo_mode": self.demo_mode,
            "auth": self.settings.auth,
            "seed": self.settings.seed,
            "profiles": {channel: {"delays": p.delays, "jitter": p.jitter, "price": p.price,
                                   "reply_delay": p.reply_delay}
                         for channel, p in self.engine.profiles.items()},
            "webhook_timeout": self.policy.timeout,
            "webhook_retry_base": self.policy.retry_base,
            "webhook_retry_max_delay": self.policy.retry_max_delay,
            "webhook_max_attempts": self.policy.max_attempts,
            "history_limit": self.store.history_limit,
        }

    def update_config(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Merge the given keys (already validated against schemas/control/config-update.json)."""
        if "profiles" in changes:
            overrides = {**self.profile_overrides}
            for channel, override in (changes["profiles"] or {}).items():
                overrides[channel] = {**overrides.get(channel, {}), **override}
            self.engine.profiles = merge_profiles(overrides)
            self.profile_overrides = overrides
        for key in ("status_url", "inbound_url", "signature_secret"):
            if key in changes:
                setattr(self.policy, key, changes[key])
        if "time_scale" in changes:
            self.clock.set_time_scale(changes["time_scale"])
        if "clock" in changes:
            self.clock.set_mode(changes["clock"])
        if "demo_mode" in changes:
            self.demo_mode = changes["demo_mode"]
        if self._statuses_watched():
            self.engine.watch_all()
        self.bus.publish("config.changed", self.config(), changes)
        return self.config()

    def _statuses_watched(self) -> bool:
        return bool(self.policy.status_url) or self.demo_mode or self.bus.watchers > 0

    def upcoming(self) -> tuple[int, float | None]:
        """Pending timers, counting a message that takes its next step when read as one; the earliest due."""
        count, first = self.engine.unwatched()
        due = self.clock.next_due()
        if first is None or (due is not None and due < first):
            first = due
        return self.clock.pending + count, first

    # -- demo mode: simulated users answer -------------------------------------------------------
    def _demo_reply(self, event: Event) -> None:
        if not (self.demo_mode and event.detail.status == "read" and event.subject.channel == "messenger"):
            return
        if self._demo_rng.random() >= DEMO_REPLY_CHANCE:
            return
        request = event.subject.request
        reply = {"from": request["to"], "to": request["from"]}
        delay = self.engine.profiles["messenger"].reply_delay * self._demo_rng.uniform(0.5, 1.5)
        self.clock.call_later(round(delay, 3), self.receive_inbound, reply)
