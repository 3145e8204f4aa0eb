"""One account's mock: its records (through its Store), clock, rules, webhook settings and lanes.

Everything the control API does to an account is a method here; nothing here knows of HTTP.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from .applications import Application, Applications
from .config import Settings, is_loopback
from .deliveries import Delivery
from .limits import EDGE_SETTINGS, Limits
from .payloads import WebhookRenderers
from .simulation.channels import merge_profiles
from .simulation.clock import LAST_INSTANT, Clock, iso, parse_iso, resumed_now
from .simulation.commands import InjectInbound, SendMessage, StartWorkflow, UpdateMessage
from .simulation.engine import Engine
from .simulation.events import Event, EventBus, EventType
from .simulation.failover import FailoverRunner
from .simulation.inbound import InboundFaker
from .simulation.models import Message, Workflow
from .simulation.rules import Rule, RuleBook
from .simulation.store import Store
from .simulation.updates import update_message
from .webhooks import WebhookClient, WebhookDispatcher, WebhookPolicy

DEMO_REPLY_CHANCE = 0.5
DEMO_CHANNELS = frozenset({"messenger", "whatsapp", "viber_service_msg", "rcs"})  # users who read, then may reply
DEFAULT_ACCOUNT = "default"


class ClockRefused(ValueError):
    """The clock cannot be moved as asked: `kind` is "backwards" or "overflow"."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Backend:
    def __init__(self, account: str, settings: Settings, make_store: Callable[[Callable[[], float]], Store],
                 client: WebhookClient, renderers: Mapping[str, WebhookRenderers],
                 owners: dict[str, str] | None = None) -> None:
        self.account = account
        self.settings = settings
        start = parse_iso(settings.start_time) if settings.start_time else None
        self.clock = Clock(settings.clock, settings.time_scale, start)
        self.store = store = make_store(self.clock.now)
        self.bus = EventBus()
        self.rules = RuleBook(settings.rules)
        self.profile_overrides: dict[str, Any] = dict(settings.profiles)
        self.engine = Engine(self.clock, store, self.bus, self.rules, merge_profiles(self.profile_overrides),
                             settings.seed, watched=self._statuses_watched)
        self.bus.on_first_watcher = self.engine.watch_all
        self.failover = FailoverRunner(self.clock, store, self.bus, self.engine)
        self._inbound: InboundFaker | None = None  # made on first use: a Faker is most of an empty account's memory
        self.policy = WebhookPolicy(
            status_url=settings.status_url, inbound_url=settings.inbound_url,
            signature_secret=settings.signature_secret,
            api_key=settings.api_key if account == DEFAULT_ACCOUNT else account,  # signed webhooks name the account
            timeout=settings.webhook_timeout, retry_base=settings.webhook_retry_base,
            retry_max_delay=settings.webhook_retry_max_delay, max_attempts=settings.webhook_max_attempts,
            max_pending=settings.webhook_max_pending)
        self.webhooks = WebhookDispatcher(self.policy, self.clock, store, self.bus, client, renderers)
        self.clock.on_settle(self.webhooks.settle)
        self.demo_mode = settings.demo_mode
        self._demo_rng = random.Random(settings.seed)
        self._config_changes: dict[str, Any] = {}  # run-time changes, kept by the store
        self.bus.subscribe(self._demo_reply, (EventType.MESSAGE_STATUS,))
        self.limits = Limits(settings.rate_limit, settings.rate_burst, settings.rate_limits, settings.balance)
        self.bus.subscribe(self._charge, (EventType.MESSAGE_STATUS,))
        self.renderers = renderers
        self.applications = Applications(account, {} if owners is None else owners,
                                         lambda records: store.save_setting("applications", records))
        self._started = False
        self.routing = False  # True once an application or a per-message URL may route this account's webhooks

    # -- starting and restoring -----------------------------------------------------------------
    def start(self, now: float | None = None) -> None:
        """On the running loop: arm the real-time wake-up, and resume what the store already holds (its clock
        too; else the clock starts at `now`, if given)."""
        self._started = True
        saved = self.store.settings()
        if "config" in saved:
            self._apply_config(saved["config"])
            self._config_changes = dict(saved["config"])
        if "balance" in saved:
            self.limits.configure({"balance": saved["balance"]})
        if "rules" in saved:
            self.rules.user = [Rule.from_dict(data) for data in saved["rules"]]
        if saved.get("applications"):
            self.applications.restore(saved["applications"])
            self.route_webhooks()
        elif saved.get("routing"):
            self.route_webhooks()
        if "clock" in saved:
            self.clock.resume_at(resumed_now(saved["clock"]))
        elif now is not None:
            self.clock.resume_at(now)
        else:
            self.clock.set_mode(self.clock.mode)
        self.clock.on_change = self._save_clock
        for message in self.store.planned_messages():
            self.engine.resume(message)
        self.engine.windows.restore(self.store.find_messages(channel="whatsapp", direction="inbound"))
        for workflow in self.store.unfinished_workflows():
            self.failover.resume(workflow)
        self.webhooks.number_after(self.store.find_deliveries(limit=1))
        for delivery in self.store.pending_deliveries():
            self.webhooks.resume(delivery)

    def _save_clock(self) -> None:
        self.store.save_setting("clock", self.clock.snapshot())

    # -- acting ---------------------------------------------------------------------------------
    def send_message(self, command: SendMessage) -> Message:
        return self.engine.send(command)

    def start_workflow(self, command: StartWorkflow) -> Workflow:
        return self.failover.start(command)

    def add_application(self, body: dict[str, Any]) -> Application:
        app = self.applications.create(body)
        self.route_webhooks()
        return app

    @property
    def inbound(self) -> InboundFaker:
        if self._inbound is None:
            self._inbound = InboundFaker(self.settings.seed)
        return self._inbound

    def sent_by(self, application_id: str) -> ApplicationSender:
        """This account, as acts see it, for a request signed by the application's JWT."""
        return ApplicationSender(self, application_id)

    def receive_inbound(self, command: InjectInbound) -> Message:
        message = self.inbound.build(command, self.clock)
        self.engine.record_inbound(message)
        return message

    def update_message(self, command: UpdateMessage) -> Message:
        """Raises simulation.updates.UpdateRefused when the message is unknown or does not take the update."""
        return update_message(self.engine, self.clock, command)

    def add_rule(self, data: dict[str, Any]) -> Rule:
        rule = self.rules.add(data)
        self._rules_changed()
        return rule

    def all_rules(self) -> list[Rule]:
        """User rules first, then the built-in ones: the order they are tried in."""
        return self.rules.all()

    def delete_rule(self, rule_id: str) -> bool:
        deleted = self.rules.delete(rule_id)
        if deleted:
            self._rules_changed()
        return deleted

    def _rules_changed(self) -> None:
        self.store.save_setting("rules", [rule.to_dict() for rule in self.rules.user])
        self.bus.publish(EventType.RULES_CHANGED, self.rules)

    def reset(self) -> None:
        """All messages, workflows, deliveries, timers and user rules gone; seeded randomness restarts.
        Applications and config stay."""
        self.clock.clear()
        self.webhooks.reset()
        self.store.reset()
        self.rules.reset()
        self.engine.reset()
        if self._inbound is not None:
            self._inbound.reset()
        self._demo_rng = random.Random(self.settings.seed)
        self.bus.publish(EventType.MOCK_RESET, None)

    async def advance(self, seconds: float | None = None, to: float | None = None) -> float:
        """Move the clock forward by `seconds` or to the instant `to`, firing everything due in order."""
        now = self.clock.now()
        target = now + seconds if seconds is not None else to
        if target < now:
            raise ClockRefused("backwards", f"'to' is before the clock's current time {iso(now)}")
        if target > LAST_INSTANT:
            raise ClockRefused("overflow", f"The clock ({iso(now)}) cannot move past {iso(LAST_INSTANT)}")
        return await self.clock.advance_to(target)

    # -- reading --------------------------------------------------------------------------------
    def message(self, message_uuid: str) -> Message | None:
        return self.store.get_message(message_uuid)

    def messages(self, to: str | None = None, channel: str | None = None, status: str | None = None,
                 direction: str | None = None, limit: int | None = None) -> list[Message]:
        """Newest first."""
        return self.store.find_messages(to=to, channel=channel, status=status, direction=direction, limit=limit)

    def workflow(self, workflow_uuid: str) -> Workflow | None:
        return self.store.get_workflow(workflow_uuid)

    def workflows(self, status: str | None = None, limit: int | None = None) -> list[Workflow]:
        return self.store.find_workflows(status=status, limit=limit)

    def deliveries(self, subject_uuid: str | None = None, kind: str | None = None,
                   limit: int | None = None) -> list[Delivery]:
        return self.store.find_deliveries(subject_uuid=subject_uuid, kind=kind, limit=limit)

    def message_detail(self, message: Message) -> dict[str, Any]:
        data = message.to_dict()
        deliveries = self.store.find_deliveries(subject_uuid=message.message_uuid)
        data["webhooks"] = [delivery.to_dict() for delivery in reversed(deliveries)]
        return data

    async def wait_for_message(self, message_uuid: str | None, to: str | None, status: str | None,
                               timeout: float) -> Message | None:
        """The message (by uuid, else the newest to `to`) once it has reached `status` (any: None); None when
        the wall-time `timeout` passes first. A KeyError for a uuid nobody knows."""
        if message_uuid is not None and self.store.get_message(message_uuid) is None:
            raise KeyError(message_uuid)

        def probe() -> Message | None:
            if message_uuid is not None:
                message = self.store.get_message(message_uuid)
                candidates = [message] if message else []
            else:
                candidates = self.store.find_messages(to=to)
            return next((m for m in candidates if status is None or m.reached(status)), None)

        return await self.bus.wait_for(probe, timeout)

    async def wait_for_workflow(self, workflow_uuid: str, status: str | None, timeout: float) -> Workflow | None:
        if self.store.get_workflow(workflow_uuid) is None:
            raise KeyError(workflow_uuid)

        def probe() -> Workflow | None:
            workflow = self.store.get_workflow(workflow_uuid)
            return workflow if workflow and (status is None or workflow.status == status) else None

        return await self.bus.wait_for(probe, timeout)

    def conversations(self) -> list[dict[str, Any]]:
        """One entry per (channel, end user), newest conversation first."""
        return self.store.conversation_summaries()

    def conversation(self, channel: str, peer: str) -> list[dict[str, Any]]:
        return [message.to_dict() for message in self.store.conversation(channel, peer)]

    def upcoming(self) -> tuple[int, float | None]:
        """Pending timers, counting a message that takes its next step when read as one; the earliest due."""
        count, first = self.engine.unwatched()
        due = self.clock.next_due()
        if first is None or (due is not None and due < first):
            first = due
        return self.clock.pending + count, first

    def clock_view(self) -> dict[str, Any]:
        pending_timers, due = self.upcoming()
        return {"mode": self.clock.mode, "time_scale": self.clock.time_scale, "now": self.clock.now_iso(),
                "next_due": iso(due) if due is not None else None, "pending_timers": pending_timers}

    def health(self) -> dict[str, Any]:
        pending_timers, _ = self.upcoming()
        return {"clock": self.clock.mode, "now": self.clock.now_iso(), "counts": self.store.counts(),
                "pruned": self.store.pruned, "pending_timers": pending_timers,
                "pending_webhooks": self.webhooks.pending_count()}

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
                                   "charged_at": p.charged_at, "reply_delay": p.reply_delay}
                         for channel, p in self.engine.profiles.items()},
            "webhook_timeout": self.policy.timeout,
            "webhook_retry_base": self.policy.retry_base,
            "webhook_retry_max_delay": self.policy.retry_max_delay,
            "webhook_max_attempts": self.policy.max_attempts,
            "history_limit": self.store.history_limit,
            **self.limits.view(),
        }

    def update_config(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Merge the given keys (already validated against schemas/control/config-update.json)."""
        self._apply_config(changes)
        if self._statuses_watched():
            self.engine.watch_all()
        if "balance" in changes:  # what is left now; charges update it
            self.store.save_setting("balance", changes["balance"])
        self._keep_config_changes(changes)
        self.bus.publish(EventType.CONFIG_CHANGED, self.config(), changes)
        return self.config()

    def _apply_config(self, changes: dict[str, Any]) -> None:
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
        if any(key in changes for key in EDGE_SETTINGS):
            self.limits.configure(changes)

    def _keep_config_changes(self, changes: dict[str, Any]) -> None:
        """The store keeps the run-time changes (not the whole config), so a restart with other flags keeps the rest."""
        self._config_changes.update({key: value for key, value in changes.items() if key != "profiles"})
        if "profiles" in changes:
            self._config_changes["profiles"] = self.profile_overrides
        self.store.save_setting("config", dict(self._config_changes))

    def _statuses_watched(self) -> bool:
        # a limited balance is charged at a status as it happens: a send's 402 cannot wait for a read
        return (bool(self.policy.status_url) or self.demo_mode or self.bus.watchers > 0
                or self.limits.balance is not None or self.routing)

    def own_config(self) -> dict[str, Any]:
        """The config changes made to this account at run time (for the default account: the whole mock's)."""
        return dict(self._config_changes)

    def inherit_config(self, defaults: dict[str, Any]) -> None:
        """The whole mock's defaults, for the keys this account has not set itself (not kept as its own)."""
        inherited = {key: value for key, value in defaults.items() if key not in self._config_changes}
        if inherited:
            self._apply_config(inherited)
            if not self._started:  # start() then lays what the account's store kept on top, and follows its messages
                return
            if "balance" in inherited:
                self.store.save_setting("balance", inherited["balance"])
            if self._statuses_watched():
                self.engine.watch_all()

    # -- per-application and per-message webhooks ------------------------------------------------
    def route_webhooks(self) -> None:
        """From now on each message's webhooks go where its application or its own webhook_url says."""
        if self.routing:
            return
        self.routing = True
        self.webhooks.route = self._route
        self.store.save_setting("routing", True)
        self.engine.watch_all()

    def _route(self, message: Message, kind: str) -> tuple[str | None, WebhookRenderers]:
        record = message.record
        app = self.applications.get(record.get("application_id"))
        url = record.get("webhook_url") if kind == "status" else None
        if url is None and app is not None:
            url = app.status_url if kind == "status" else app.inbound_url
        if url is None:
            url = self.policy.status_url if kind == "status" else self.policy.inbound_url
        version = record.get("webhook_version") or (app.version if app else None) or message.api
        return url, self.renderers.get(version) or self.renderers[message.api]

    def webhook_url_allowed(self, url: str) -> bool:
        """May a request name `url` for its webhooks? `webhook_allow_hosts` (a list; "*" is any host), else:
        any host when the mock listens on loopback, else only the hosts of configured webhook URLs."""
        host = (urlsplit(url).hostname or "").lower()
        allowed = self.settings.webhook_allow_hosts
        if allowed is not None:
            names = {name.lower() for name in allowed.split(",")}
            return "*" in names or host in names
        if is_loopback(self.settings.host):
            return True
        configured = [self.policy.status_url, self.policy.inbound_url,
                      *(u for app in self.applications for u in (app.status_url, app.inbound_url))]
        return host in {(urlsplit(u).hostname or "").lower() for u in configured if u}

    # -- the balance ------------------------------------------------------------------------------
    def price(self, channel: str) -> str:
        """What one message on the (simulation's) channel costs, as its profile says."""
        return self.engine.profiles[channel].price

    def _charge(self, event: Event) -> None:
        """The status that carries usage (the profile's charged_at) takes the price off a limited balance."""
        usage = event.detail.usage
        if usage is not None and self.limits.charge(usage["price"]):
            self.store.save_setting("balance", float(self.limits.balance))

    # -- demo mode: simulated users answer -------------------------------------------------------
    def _demo_reply(self, event: Event) -> None:
        message = event.subject
        if not (self.demo_mode and event.detail.status == "read" and message.channel in DEMO_CHANNELS):
            return
        if self._demo_rng.random() >= DEMO_REPLY_CHANCE:
            return
        record = message.record
        reply = InjectInbound(sender=record["to"], to=record["from"], content=None, generation=message.api,
                              channel=message.channel)
        delay = self.engine.profiles[message.channel].reply_delay * self._demo_rng.uniform(0.5, 1.5)
        self.clock.call_later(round(delay, 3), self.receive_inbound, reply)


class ApplicationSender:
    """What an endpoint's act sees of a backend for a JWT-signed request: its commands carry the application."""

    def __init__(self, backend: Backend, application_id: str) -> None:
        self.backend = backend
        self.application_id = application_id

    def send_message(self, command: SendMessage) -> Message:
        return self.backend.send_message(dataclasses.replace(command, application_id=self.application_id))

    def start_workflow(self, command: StartWorkflow) -> Workflow:
        steps = tuple((dataclasses.replace(step, application_id=self.application_id), failover)
                      for step, failover in command.steps)
        return self.backend.start_workflow(dataclasses.replace(command, steps=steps))

    def __getattr__(self, name: str) -> Any:  # everything else an act may read: the account's own
        return getattr(self.backend, name)
