"""Webhook delivery records: one Delivery per payload to send, with every Attempt journalled on it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

import orjson

from .simulation.clock import iso


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
