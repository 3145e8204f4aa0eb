"""Changes a client asks of a message it already has: WhatsApp's read receipt, RCS's revoke (PATCH on /v1)."""

from __future__ import annotations

from .clock import Clock
from .commands import UpdateMessage
from .engine import Engine
from .models import Message, StatusEntry

# Which messages take which update: (channel, direction) by status.
UPDATABLE = {"read": ("whatsapp", "inbound"), "revoked": ("rcs", "outbound")}
# The real service's final status of a revoked message is not in the sources: the mock rejects it (unverified).
REVOKED_ERROR = {"code": 1330, "reason": "Revoked by the sender before delivery"}
PAST_REVOKING = frozenset({"delivered", "read", "rejected", "undeliverable"})


class UpdateRefused(Exception):
    """`kind`: "not_found" (no such message) or "not_allowed" (not for this message, or too late)."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def update_message(engine: Engine, clock: Clock, command: UpdateMessage) -> Message:
    message = engine.store.get_message(command.message_uuid)
    if message is None:
        raise UpdateRefused("not_found", f"No message {command.message_uuid}")
    channel, direction = UPDATABLE[command.status]
    if (message.channel, message.direction) != (channel, direction):
        raise UpdateRefused("not_allowed", f"Status {command.status} is only for {direction} {channel} messages; "
                                           f"this is an {message.direction} {message.channel} message")
    if command.status == "read":
        _mark_read(engine, clock, message)
    else:
        _revoke(engine, clock, message)
    return message


def _mark_read(engine: Engine, clock: Clock, message: Message) -> None:
    """The business read the user's message: kept in its history (no webhook: the user's app shows it)."""
    if not message.reached("read"):
        message.history.append(StatusEntry("read", clock.now()))
        engine.store.save_message(message)


def _revoke(engine: Engine, clock: Clock, message: Message) -> None:
    if any(entry.status in PAST_REVOKING for entry in message.history):
        raise UpdateRefused("not_allowed", f"The message is already {message.status}: only a message not yet "
                                           "delivered can be revoked")
    message.plan = [StatusEntry("rejected", clock.now(), dict(REVOKED_ERROR))]
    engine.store.save_message(message)
    if message.timed:
        engine.reschedule(message)
