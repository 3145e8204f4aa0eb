"""Webhook delivery records: one Delivery per payload to send, with every attempt journalled on it.

They are kept compact, because a store holds one per webhook (two or three per message) with all its attempts:
the payload once, deflated against a dictionary of the webhooks' common keys (a 250-byte status payload keeps
about 65), and the journal of attempts packed into one bytes object, their texts shared (sys.intern).
"""

from __future__ import annotations

import struct
import sys
import zlib
from typing import Any, NamedTuple

import orjson

from .simulation.clock import iso

# Keys and values every generation's webhooks repeat; deflate finds them here instead of in each payload. Changing
# it makes packed payloads unreadable, but they live only in memory (the state file keeps payloads as sent).
_DICTIONARY = (b'"error":{"code":"reason":"type":"title":"detail":"instance":"https://developer.nexmo.com/api-errors'
               b'/messages-olympus#"},"_links":{"workflow":{"href":"/beta/workflows/","workflow_uuid":"messages":'
               b'[{"href":"/v1/messages/"}]},"workflow":{"workflow_id":"item_number":"items_number":"},"channel":'
               b'"whatsapp","message_type":"text","image":{"url":"https://","client_ref":"viber_service_msg",'
               b'"messenger","id":"1234567890","destination":{"network_code":"},"sms":{"count_total":"1",'
               b'"message":{"content":{"type":"text","text":"},"status":"read","status":"undeliverable",'
               b'"status":"rejected","status":"delivered","to":{"type":"sms","number":"4477009000"},"from":'
               b'{"type":"sms","number":"4477009000"},"timestamp":"2026-12-03T00:00:00.000Z","status":"submitted",'
               b'"usage":{"currency":"EUR","price":"0.0333"}}{"message_uuid":"')
_WINDOW_BITS, _MEMORY_LEVEL = -10, 1  # a 1 KiB window holds the dictionary; the least memory: ~4 µs a payload


def pack(body: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, _WINDOW_BITS, _MEMORY_LEVEL, zlib.Z_DEFAULT_STRATEGY, _DICTIONARY)
    return packer.compress(body) + packer.flush()


def unpack(packed: bytes) -> bytes:
    return zlib.decompressobj(_WINDOW_BITS, _DICTIONARY).decompress(packed)


class Attempt(NamedTuple):
    """One POST of a delivery, as the journal gives it back."""

    at: float
    latency_ms: float
    status_code: int | None = None  # None: no answer (see error)
    error: str | None = None
    response: str | None = None  # the receiver's answer, up to 1,000 characters

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"at": iso(self.at), "latency_ms": self.latency_ms}
        if self.status_code is not None:
            data["status_code"] = self.status_code
        if self.error is not None:
            data["error"] = self.error
        if self.response is not None:
            data["response"] = self.response
        return data


_CREATED = struct.Struct("<d")
_ATTEMPT = struct.Struct("<dfH")  # at, latency_ms, status_code (0: none): 14 bytes an attempt
_SHARED_TEXT_CHARS = 200  # texts up to this long are interned: receivers repeat their answers


def _shared(text: str | None) -> str | None:
    return sys.intern(text) if text is not None and len(text) <= _SHARED_TEXT_CHARS else text


class Delivery:
    __slots__ = ("_journal", "_notes", "_packed", "id", "kind", "next_attempt_at", "state", "subject_uuid", "url")

    def __init__(self, id: int | str, kind: str, url: str, subject_uuid: str, body: bytes, created_at: float,
                 state: str = "pending", next_attempt_at: float | None = None) -> None:
        self.id = id  # numbered by its dispatcher; a uuid when restored from a state file of an earlier version
        self.kind = kind  # status | inbound | workflow
        self.url = url
        self.subject_uuid = subject_uuid  # the message (or workflow) the payload is about
        self.state = state  # pending | retrying | delivered | gave_up
        self.next_attempt_at = next_attempt_at
        self._packed = pack(body)
        self._journal = _CREATED.pack(created_at)  # then one _ATTEMPT per attempt
        self._notes: tuple[str | None, ...] = ()  # per attempt: its error, or the receiver's answer

    @property
    def body(self) -> bytes:
        return unpack(self._packed)

    @property
    def created_at(self) -> float:
        return _CREATED.unpack_from(self._journal)[0]

    @property
    def attempt_count(self) -> int:
        return len(self._notes)

    @property
    def attempts(self) -> list[Attempt]:
        numbers = _ATTEMPT.iter_unpack(self._journal[_CREATED.size:])
        return [Attempt(at, round(latency, 3), code or None, note if not code else None, note if code else None)
                for (at, latency, code), note in zip(numbers, self._notes, strict=True)]

    def record(self, attempt: Attempt) -> None:
        """Journal one attempt (an error when it got no answer, else the answer's status and text)."""
        self._journal += _ATTEMPT.pack(attempt.at, attempt.latency_ms, attempt.status_code or 0)
        note = attempt.error if attempt.status_code is None else attempt.response
        self._notes = (*self._notes, _shared(note))

    def to_dict(self) -> dict[str, Any]:
        data = {"id": str(self.id), "kind": self.kind, "url": self.url, "subject_uuid": self.subject_uuid,
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
        return {"id": self.id, "kind": self.kind, "url": self.url, "subject_uuid": self.subject_uuid,
                "created_at": self.created_at, "state": self.state, "next_attempt_at": self.next_attempt_at,
                "attempts": [attempt._asdict() for attempt in self.attempts]}

    @classmethod
    def from_record(cls, record: dict[str, Any], body: bytes) -> Delivery:
        delivery = cls(record["id"], record["kind"], record["url"], record["subject_uuid"], body,
                       record["created_at"], record["state"], record["next_attempt_at"])
        for attempt in record["attempts"]:
            delivery.record(Attempt(**attempt))
        return delivery
