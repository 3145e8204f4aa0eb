"""The records the simulation keeps: messages with their status history, failover workflows, their items."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import orjson

from .clock import iso
from .commands import Failover, SendMessage

FINAL_STATUSES = frozenset({"read", "rejected", "undeliverable"})
FAILED_STATUSES = frozenset({"rejected", "undeliverable"})
MESSAGE_STATUSES = ("accepted", "submitted", "delivered", "read", "rejected", "undeliverable", "received")
WORKFLOW_STATUSES = ("in_progress", "completed", "error")

def compact_json(value: Any) -> bytes:
    """JSON bytes of exactly their size, to keep: orjson's own result holds on to a 4 KiB buffer."""
    return bytes(memoryview(orjson.dumps(value)))


@dataclass(slots=True)
class StatusEntry:
    status: str
    timestamp: float
    error: dict[str, Any] | None = None
    usage: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.status, "timestamp": iso(self.timestamp)}
        if self.error:
            data["error"] = self.error
        if self.usage:
            data["usage"] = self.usage
        return data

    def to_record(self) -> list[Any]:
        return [self.status, self.timestamp, self.error, self.usage]

    @classmethod
    def from_record(cls, record: list[Any]) -> StatusEntry:
        return cls(*record)


@dataclass(slots=True)
class Message:
    """One message, outbound (sent by the user's app) or inbound (sent by a simulated end user).

    Its record (to, from, message, client_ref: SendMessage.record) is kept as compact JSON bytes: a stored message
    costs far less memory that way.
    """

    message_uuid: str
    channel: str
    direction: str
    recipient: str  # to.number or to.id
    peer: str  # the end user's number or id: `to` outbound, `from` inbound (the conversation key)
    raw: bytes
    created_at: float
    api: str = "beta"  # the API generation whose webhook shapes it gets
    workflow_uuid: str | None = None
    workflow_kind: str | None = None
    item_number: int | None = None  # in a workflow: its item's place (1-based) among items_number
    items_number: int | None = None
    history: list[StatusEntry] = field(default_factory=list)
    plan: list[StatusEntry] | None = None  # the statuses still to come, in order
    timed: bool = False  # its plan walks on clock timers; otherwise it takes its due steps when read

    def catch_up(self, now: float) -> None:
        """Take the planned steps due by `now`, if no timer does (see Engine.follow)."""
        plan = self.plan
        if plan and not self.timed:
            while plan and plan[0].timestamp <= now:
                self.history.append(plan.pop(0))
            if not plan:
                self.plan = None

    @property
    def record(self) -> dict[str, Any]:
        return orjson.loads(self.raw)

    @property
    def status(self) -> str:
        return self.history[-1].status

    def reached(self, status: str) -> bool:
        return any(entry.status == status for entry in self.history)

    def to_dict(self) -> dict[str, Any]:
        record = self.record
        data = {
            "message_uuid": self.message_uuid,
            "direction": self.direction,
            "channel": self.channel,
            "api": self.api,
            "to": record["to"],
            "from": record["from"],
            "message": record["message"],
            "status": self.status,
            "created_at": iso(self.created_at),
            "history": [entry.to_dict() for entry in self.history],
            "workflow_uuid": self.workflow_uuid,
        }
        if "client_ref" in record:
            data["client_ref"] = record["client_ref"]
        if "application_id" in record:
            data["application_id"] = record["application_id"]
        return data

    def to_record(self) -> dict[str, Any]:
        """Every field but `raw`, JSON-ready; `from_record(record, raw)` rebuilds the message exactly."""
        record = {name: getattr(self, name) for name in _MESSAGE_SCALARS}
        record["history"] = [entry.to_record() for entry in self.history]
        record["plan"] = None if self.plan is None else [entry.to_record() for entry in self.plan]
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any], raw: bytes) -> Message:
        plan = record["plan"]
        return cls(**{"timed": True, **record, "raw": raw,  # records from before `timed` were all timed
                      "history": [StatusEntry.from_record(e) for e in record["history"]],
                      "plan": None if plan is None else [StatusEntry.from_record(e) for e in plan]})


_MESSAGE_SCALARS = tuple(f.name for f in fields(Message) if f.name not in ("raw", "history", "plan"))


@dataclass(slots=True)
class WorkflowItem:
    index: int
    command: SendMessage
    failover: Failover | None
    state: str = "pending"
    message_uuid: str | None = None
    sent_at: float | None = None
    ended_at: float | None = None
    decision: tuple[float, str] | None = None  # when sent: (when it ends, its end state), read off its plan

    @property
    def channel(self) -> str:
        return self.command.channel

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"index": self.index, "channel": self.channel, "state": self.state,
                                "failover": self.failover.to_dict() if self.failover else None,
                                "sent_at": iso(self.sent_at) if self.sent_at is not None else None,
                                "ended_at": iso(self.ended_at) if self.ended_at is not None else None}
        if self.message_uuid:
            data["message_uuid"] = self.message_uuid
        return data

    def to_record(self) -> dict[str, Any]:
        return {"index": self.index, "command": self.command.to_record(),
                "failover": self.failover.to_dict() if self.failover else None, "state": self.state,
                "message_uuid": self.message_uuid, "sent_at": self.sent_at, "ended_at": self.ended_at,
                "decision": self.decision}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> WorkflowItem:
        failover, decision = record["failover"], record["decision"]
        return cls(**{**record, "command": SendMessage.from_record(record["command"]),
                      "failover": Failover(**failover) if failover else None,
                      "decision": tuple(decision) if decision else None})


@dataclass(slots=True)
class Workflow:
    workflow_uuid: str
    kind: str  # "workflow" (/beta/workflows), "dispatch" (/v0.1/dispatch) or "failover" (/v1/messages)
    template: str
    items: list[WorkflowItem]
    created_at: float
    api: str = "beta"
    status: str = "in_progress"
    ended_at: float | None = None
    current: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"workflow_uuid": self.workflow_uuid, "kind": self.kind, "template": self.template,
                "status": self.status, "created_at": iso(self.created_at),
                "ended_at": iso(self.ended_at) if self.ended_at is not None else None,
                "items": [item.to_dict() for item in self.items]}

    def to_record(self) -> dict[str, Any]:
        """Every field, JSON-ready; `from_record` rebuilds the workflow exactly."""
        record = {name: getattr(self, name) for name in _WORKFLOW_SCALARS}
        record["items"] = [item.to_record() for item in self.items]
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Workflow:
        return cls(**{**record, "items": [WorkflowItem.from_record(item) for item in record["items"]]})


_WORKFLOW_SCALARS = tuple(f.name for f in fields(Workflow) if f.name != "items")
