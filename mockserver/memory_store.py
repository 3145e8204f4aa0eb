"""The in-memory Store: insertion-ordered dicts of one account's records, pruned past `history_limit`."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .deliveries import Delivery
from .simulation.clock import iso
from .simulation.models import FAILED_STATUSES, Message, Workflow

PENDING_DELIVERY = ("pending", "retrying")


@dataclass(slots=True)
class _Conversation:
    """What /_mock/conversations shows of one (channel, end user), kept up to date as messages come and go."""

    channel: str
    peer: str
    count: int = 0
    last: Message | None = None
    failures: list[float] | None = None  # when each of its failing messages fails (known from its plan)

    def summary(self, now: float) -> dict[str, Any]:
        last = self.last
        last.catch_up(now)
        return {"channel": self.channel, "peer": self.peer, "count": self.count,
                "failures": sum(1 for at in self.failures or () if at <= now),
                "last_message": {"message_uuid": last.message_uuid, "direction": last.direction,
                                 "status": last.status, "created_at": iso(last.created_at)}}


def _failure_time(message: Message) -> float | None:
    last = message.plan[-1] if message.plan else message.history[-1]  # a failure is final: nothing follows it
    return last.timestamp if last.status in FAILED_STATUSES else None


class MemoryStore:
    """Records live here as objects, changed in place: saving one has nothing more to do.

    Messages are read as of `now()`: one that no timer moves takes its due steps when read (Message.catch_up).
    """

    def __init__(self, now: Callable[[], float], history_limit: int = 100_000) -> None:
        self.now = now
        self.history_limit = history_limit
        self.messages: dict[str, Message] = {}
        self.workflows: dict[str, Workflow] = {}
        self.deliveries: dict[str, Delivery] = {}
        self.pruned = {"messages": 0, "workflows": 0, "deliveries": 0}
        # Keys in arrival order, oldest first. Pruning by next(iter(dict)) scanned the holes that deleting from
        # a dict's front leaves until it next resizes: 53 µs per message once the store was full.
        self._arrivals: dict[str, deque[str]] = {name: deque() for name in self.pruned}
        self._conversations: dict[tuple[str, str], _Conversation] = {}
        self._settings: dict[str, Any] = {}

    # -- messages -------------------------------------------------------------------------------
    def add_message(self, message: Message) -> None:
        self._add("messages", self.messages, message.message_uuid, message)
        self._join_conversation(message)

    def save_message(self, message: Message) -> None:
        pass

    def get_message(self, message_uuid: str) -> Message | None:
        message = self.messages.get(message_uuid)
        if message is not None:
            message.catch_up(self.now())
        return message

    def find_messages(self, to: str | None = None, channel: str | None = None, status: str | None = None,
                      direction: str | None = None, limit: int | None = None) -> list[Message]:
        """Newest first."""
        found, now = [], self.now()
        if limit == 0:
            return found
        for message in reversed(self.messages.values()):
            message.catch_up(now)
            if ((to is None or message.recipient == to) and (channel is None or message.channel == channel)
                    and (status is None or message.status == status)
                    and (direction is None or message.direction == direction)):
                found.append(message)
                if limit is not None and len(found) >= limit:
                    break
        return found

    def planned_messages(self) -> list[Message]:
        return [message for message in self.messages.values() if message.plan]

    def conversation_summaries(self) -> list[dict[str, Any]]:
        """Newest conversation first; as many steps as conversations, whatever the number of messages."""
        now = self.now()
        threads = sorted(self._conversations.values(), key=lambda c: c.last.created_at, reverse=True)
        return [thread.summary(now) for thread in threads]

    def conversation(self, channel: str, peer: str) -> list[Message]:
        now = self.now()
        found = [m for m in self.messages.values() if m.peer == peer and m.channel == channel]
        for message in found:
            message.catch_up(now)
        return found

    def _join_conversation(self, message: Message) -> None:
        key = (message.channel, message.peer)
        thread = self._conversations.get(key)
        if thread is None:
            thread = self._conversations[key] = _Conversation(message.channel, message.peer)
        thread.count += 1
        thread.last = message
        failure = _failure_time(message)
        if failure is not None:
            thread.failures = [*(thread.failures or ()), failure]

    def _leave_conversation(self, message: Message) -> None:
        key = (message.channel, message.peer)
        thread = self._conversations[key]
        thread.count -= 1
        if thread.count == 0:
            del self._conversations[key]
            return
        failure = _failure_time(message)
        if failure is not None and thread.failures:
            thread.failures.remove(failure)

    # -- workflows ------------------------------------------------------------------------------
    def add_workflow(self, workflow: Workflow) -> None:
        self._add("workflows", self.workflows, workflow.workflow_uuid, workflow)

    def save_workflow(self, workflow: Workflow) -> None:
        pass

    def get_workflow(self, workflow_uuid: str) -> Workflow | None:
        return self.workflows.get(workflow_uuid)

    def find_workflows(self, status: str | None = None, limit: int | None = None) -> list[Workflow]:
        found = [w for w in reversed(self.workflows.values()) if status is None or w.status == status]
        return found[:limit] if limit is not None else found

    def unfinished_workflows(self) -> list[Workflow]:
        return [workflow for workflow in self.workflows.values() if workflow.status == "in_progress"]

    # -- webhook deliveries ---------------------------------------------------------------------
    def add_delivery(self, delivery: Delivery) -> None:
        self._add("deliveries", self.deliveries, delivery.id, delivery)

    def save_delivery(self, delivery: Delivery) -> None:
        pass

    def get_delivery(self, delivery_id: str) -> Delivery | None:
        return self.deliveries.get(delivery_id)

    def find_deliveries(self, subject_uuid: str | None = None, kind: str | None = None,
                        limit: int | None = None) -> list[Delivery]:
        found: list[Delivery] = []
        if limit == 0:
            return found
        for delivery in reversed(self.deliveries.values()):
            if ((subject_uuid is None or delivery.subject_uuid == subject_uuid)
                    and (kind is None or delivery.kind == kind)):
                found.append(delivery)
                if limit is not None and len(found) >= limit:
                    break
        return found

    def pending_deliveries(self) -> list[Delivery]:
        return [delivery for delivery in self.deliveries.values() if delivery.state in PENDING_DELIVERY]

    # -- the account's settings -----------------------------------------------------------------
    def save_setting(self, key: str, value: Any) -> None:
        self._settings[key] = value

    def settings(self) -> dict[str, Any]:
        return dict(self._settings)

    # -- all ------------------------------------------------------------------------------------
    def reset(self) -> None:
        self.messages.clear()
        self.workflows.clear()
        self.deliveries.clear()
        self._conversations.clear()
        self._settings.pop("rules", None)
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
            record = records.pop(key)
            self.pruned[name] += 1
            if name == "messages":
                self._leave_conversation(record)
            self._forget(name, key)

    def _forget(self, kind: str, key: str) -> None:
        """A record was pruned; a persistent store forgets it too."""
