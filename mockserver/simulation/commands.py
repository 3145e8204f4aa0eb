"""Typed commands into the simulation, built by api/ from a validated body of any API generation.

The simulation reads these fields, never a request's JSON layout. `record()` is the message as the mock keeps and
shows it (to, from, message, client_ref): the control API, the page and the beta-shaped webhooks read that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def address_of(address: dict[str, Any]) -> str:
    """The number or id an address object holds."""
    return address.get("number") or address.get("id") or ""


ROUTING_FIELDS = ("application_id", "webhook_url", "webhook_version")


@dataclass(slots=True)  # read-only by convention: frozen would double the cost of making one, once per message
class SendMessage:
    channel: str  # the simulation's channel: sms | mms | rcs | whatsapp | messenger | viber_service_msg
    to: dict[str, Any]  # address objects: {"type": channel, "number" | "id": ...}
    sender: dict[str, Any]
    message: dict[str, Any]  # {"content": {"type": ..., <type>: ...}, <channel option block>: ...}
    generation: str  # the API generation it came in by: its webhooks take that generation's shape
    client_ref: str | None = None
    application_id: str | None = None  # the JWT's application: its webhooks go to that application's URLs
    webhook_url: str | None = None  # /v1's per-message status URL and shape, ahead of the application's
    webhook_version: str | None = None

    @property
    def recipient(self) -> str:
        return address_of(self.to)

    @property
    def text(self) -> str | None:
        return self.message["content"].get("text")

    def record(self) -> dict[str, Any]:
        record = {"to": self.to, "from": self.sender, "message": self.message}
        if self.client_ref is not None:
            record["client_ref"] = self.client_ref
        # ROUTING_FIELDS, only when set (most messages carry none, and records stay small); spelt out, not a loop
        # of getattr(): this runs once per message.
        if self.application_id is not None:
            record["application_id"] = self.application_id
        if self.webhook_url is not None:
            record["webhook_url"] = self.webhook_url
        if self.webhook_version is not None:
            record["webhook_version"] = self.webhook_version
        return record

    def to_record(self) -> dict[str, Any]:
        """JSON-ready; `from_record` rebuilds it (a workflow keeps its items' commands in the state file)."""
        return {"channel": self.channel, "generation": self.generation, **self.record()}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> SendMessage:
        return cls(channel=record["channel"], to=record["to"], sender=record["from"], message=record["message"],
                   generation=record["generation"], client_ref=record.get("client_ref"),
                   **{name: record.get(name) for name in ROUTING_FIELDS})


@dataclass(frozen=True, slots=True)
class Failover:
    """When a workflow moves past an item: unless its message reaches `condition_status` within `expiry_time`
    seconds (None: no expiry, as on /v1, where only a failure moves on)."""

    condition_status: str
    expiry_time: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"condition_status": self.condition_status}
        if self.expiry_time is not None:
            data["expiry_time"] = self.expiry_time
        return data


@dataclass(frozen=True, slots=True)
class StartWorkflow:
    kind: str  # "workflow" (/beta/workflows), "dispatch" (/v0.1/dispatch) or "failover" (/v1/messages)
    template: str
    steps: tuple[tuple[SendMessage, Failover | None], ...]  # every step but the last has a Failover
    generation: str


@dataclass(frozen=True, slots=True)
class InjectInbound:
    """An end user's message to the mock: what the caller gave; the rest is faked."""

    sender: dict[str, Any] | None
    to: dict[str, Any] | None
    content: dict[str, Any] | None
    generation: str
    channel: str = "messenger"  # the simulation's channel (viber_service_msg for Viber)
    context: dict[str, Any] | None = None  # a reply: {message_uuid, message_from?}
    profile: dict[str, Any] | None = None  # WhatsApp: the user's {name}
    application_id: str | None = None


@dataclass(frozen=True, slots=True)
class UpdateMessage:
    """PATCH /v1/messages/{uuid}: mark an inbound WhatsApp message read, or revoke an outbound RCS message."""

    message_uuid: str
    status: str  # "read" | "revoked"
    replying_indicator: dict[str, Any] | None = None
