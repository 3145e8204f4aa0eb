"""The WhatsApp customer-care window: a business may send free-form messages to a user only within 24 hours of
that user's last message to it; templates always pass (reference section 5)."""

from __future__ import annotations

from collections.abc import Iterable

from .commands import SendMessage, address_of
from .models import Message
from .rules import Rule

WINDOW_SECONDS = 24 * 3600.0
OUTSIDE_WINDOW = Rule(id="whatsapp-window", outcome="rejected", error_code=1340, source="builtin",
                      description="WhatsApp: not a template, and the user has not written within the window")


class CareWindows:
    """When each user last wrote to each business number, from the inbound WhatsApp messages."""

    def __init__(self, seconds: float = WINDOW_SECONDS) -> None:
        self.seconds = seconds
        self._last: dict[tuple[str, str], float] = {}

    def reset(self) -> None:
        self._last.clear()

    def opened_by(self, message: Message) -> None:
        """An inbound WhatsApp message (from the user, to the business) opens its pair's window."""
        key = (message.recipient, message.peer)
        self._last[key] = max(self._last.get(key, message.created_at), message.created_at)

    def restore(self, messages: Iterable[Message]) -> None:
        for message in messages:
            self.opened_by(message)

    def allows(self, command: SendMessage, now: float) -> bool:
        if command.message["content"]["type"] == "template":
            return True
        opened = self._last.get((address_of(command.sender), command.recipient))
        return opened is not None and now - opened <= self.seconds
