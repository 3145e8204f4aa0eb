"""Where state lives: messages, workflows and webhook deliveries, behind one interface (in memory)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from .simulation.models import Message, Workflow


class MemoryStore:
    """Insertion-ordered dicts; the oldest records are pruned past `history_limit`, and counted.

    Messages are read as of `now()`: one that no timer moves takes its due steps when read (Message.catch_up).
    """

    def __init__(self, now: Callable[[], float], history_limit: int = 100_000) -> None:
        self.now = now
        self.history_limit = history_limit
        self.messages: dict[str, Message] = {}
        self.workflows: dict[str, Workflow] = {}
        self.deliveries: dict[str, Any] = {}
        self.pruned = {"messages": 0, "workflows": 0, "deliveries": 0}
        # Keys in arrival order, oldest first. Pruning by next(iter(dict)) scanned the holes that deleting from
        # a dict's front leaves until it next resizes: 53 µs per message once the store was full.
        self._arrivals: dict[str, deque[str]] = {name: deque() for name in self.pruned}
        self.on_prune: Callable[[str, str], None] | None = None  # (kind, key); the state file forgets it too

    # -- messages -------------------------------------------------------------------------------
    def add_message(self, message: Message) -> None:
        self._add("messages", self.messages, message.message_uuid, message)

    def get_message(self, message_uuid: str) -> Message | None:
        message = self.messages.get(message_uuid)
        if message is not None:
            message.catch_up(self.now())
        return message

    def holds(self, message: Message) -> bool:
        """Is this very message still stored (not pruned, not reset away)?"""
        return self.messages.get(message.message_uuid) is message

    def find_messages(self, to: str | None = None, channel: str | None = None, status: str | None = None,
                      direction: str | None = None, limit: int | None = None) -> list[Message]:
        """Newest first."""
        found, now = [], self.now()
        for message in reversed(self.messages.values()):
            message.catch_up(now)
            if ((to is None or message.recipient == to) and (channel is None or message.channel == channel)
                    and (status is None or message.status == status)
                    and (direction is None or message.direction == direction)):
                found.append(message)
                if limit is not None and len(found) >= limit:
                    break
        return found

    def iter_messages(self) -> Iterator[Message]:
        now = self.now()
        for message in list(self.messages.values()):
            message.catch_up(now)
            yield message

    # -- workflows ------------------------------------------------------------------------------
    def add_workflow(self, workflow: Workflow) -> None:
        self._add("workflows", self.workflows, workflow.workflow_uuid, workflow)

    def get_workflow(self, workflow_uuid: str) -> Workflow | None:
        return self.workflows.get(workflow_uuid)

    def find_workflows(self, status: str | None = None, limit: int | None = None) -> list[Workflow]:
        found = [w for w in reversed(self.workflows.values()) if status is None or w.status == status]
        return found[:limit] if limit is not None else found

    # -- webhook deliveries ---------------------------------------------------------------------
    def add_delivery(self, delivery: Any) -> None:
        self._add("deliveries", self.deliveries, delivery.id, delivery)

    def find_deliveries(self, subject_uuid: str | None = None, kind: str | None = None,
                        limit: int | None = None) -> list[Any]:
        found = []
        for delivery in reversed(self.deliveries.values()):
            if ((subject_uuid is None or delivery.subject_uuid == subject_uuid)
                    and (kind is None or delivery.kind == kind)):
                found.append(delivery)
                if limit is not None and len(found) >= limit:
                    break
        return found

    # -- all ------------------------------------------------------------------------------------
    def reset(self) -> None:
        self.messages.clear()
        self.workflows.clear()
        self.deliveries.clear()
        self.pruned = dict.fromkeys(self.pruned, 0)
        for arrivals in self._arrivals.values():
            arrivals.clear()

    def counts(self) -> dict[str, int]:
        return {"messages": len(self.messages), "workflows": len(self.workflows),
                "deliveries": len(self.deliveries)}

    def _add(self, name: str, records: dict[str, Any], key: str, record: Any) -> None:
        if key not in records:
            self._arrivals[name].append(key)
        records[key] = record
        if len(records) > self.history_limit:
            self._prune(name, records)

    def _prune(self, name: str, records: dict[str, Any]) -> None:
        arrivals = self._arrivals[name]
        while len(records) > self.history_limit:
            key = arrivals.popleft()
            del records[key]
            self.pruned[name] += 1
            if self.on_prune:
                self.on_prune(name, key)
