"""Parts for unit tests of the simulation: a manual clock, a memory store, a bus, an engine, no HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mockserver.memory_store import MemoryStore
from mockserver.simulation.channels import merge_profiles
from mockserver.simulation.clock import Clock
from mockserver.simulation.commands import Failover, SendMessage, StartWorkflow
from mockserver.simulation.engine import Engine
from mockserver.simulation.events import Event, EventBus
from mockserver.simulation.failover import FailoverRunner
from mockserver.simulation.rules import RuleBook

START = 1_600_000_000.0


@dataclass
class Sim:
    rules: list[dict[str, Any]] = field(default_factory=list)
    watched: bool = True
    history_limit: int = 100_000

    def __post_init__(self) -> None:
        self.clock = Clock("manual", start=START)
        self.store = MemoryStore(self.clock.now, self.history_limit)
        self.bus = EventBus()
        self.events: list[Event] = []
        self.bus.subscribe(self.events.append)
        self.engine = Engine(self.clock, self.store, self.bus, RuleBook(self.rules), merge_profiles({}), seed=7,
                             watched=lambda: self.watched)
        self.runner = FailoverRunner(self.clock, self.store, self.bus, self.engine)

    async def advance(self, seconds: float) -> float:
        return await self.clock.advance_to(self.clock.now() + seconds)

    def of_type(self, event_type: str) -> list[Event]:
        return [event for event in self.events if event.type == event_type]


def send(to: str = "447700900000", channel: str = "sms", text: str = "hi", generation: str = "beta") -> SendMessage:
    kind = channel if channel != "viber_service_msg" else "viber_service_msg"
    key = "number" if channel == "sms" else "id"
    return SendMessage(channel=channel, to={"type": kind, key: to}, sender={"type": kind, key: "sender"},
                       message={"content": {"type": "text", "text": text}}, generation=generation)


def rule(to: str, outcome: str, **extra: Any) -> dict[str, Any]:
    return {"match": {"to": to}, "outcome": outcome, **extra}


def start_workflow(*steps: tuple[SendMessage, Failover | None], kind: str = "workflow",
                   generation: str = "beta") -> StartWorkflow:
    return StartWorkflow(kind=kind, template="failover", steps=tuple(steps), generation=generation)
