"""Inbound Messenger messages from simulated end users: what the caller gives, the rest faked (seeded)."""

from __future__ import annotations

import random
from typing import Any

from faker import Faker

from ..ids import new_uuid
from .clock import Clock
from .commands import InjectInbound
from .models import Message, StatusEntry, compact_json

MEDIA_EXTENSIONS = {"image": "jpg", "audio": "mp3", "video": "mp4", "file": "pdf"}


class InboundFaker:
    """Fills the missing parts of an inbound message with realistic data; same seed, same data."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.reset()

    def reset(self) -> None:
        self.faker = Faker("en_GB")
        self.faker.seed_instance(self.seed)
        self.rng = random.Random(self.seed)
        self.page_id = self._digits(15)

    def _digits(self, count: int) -> str:
        return str(self.rng.randint(1, 9)) + "".join(str(self.rng.randint(0, 9)) for _ in range(count - 1))

    def address(self, given: dict[str, Any] | None, fallback: str) -> dict[str, Any]:
        given = dict(given or {})
        given.setdefault("type", "messenger")
        given.setdefault("id", fallback)
        return given

    def content(self, given: dict[str, Any] | None) -> dict[str, Any]:
        content = dict(given or {})
        # Without a type, the one content field given (the schema allows at most one) names it.
        named = [key for key in ("text", "location", *MEDIA_EXTENSIONS) if key in content]
        kind = content.setdefault("type", named[0] if named else "text")
        if kind == "text":
            content.setdefault("text", self.faker.sentence(nb_words=self.rng.randint(3, 12)))
        elif kind == "location":
            content["location"] = self._location(content.get("location") or {})
        else:
            media = dict(content.get(kind) or {})
            media.setdefault("url", self._media_url(kind))
            content[kind] = media
        return content

    def _location(self, given: dict[str, Any]) -> dict[str, Any]:
        lat = given.get("lat") or str(self.faker.latitude())
        long = given.get("long") or str(self.faker.longitude())
        url = given.get("url") or f"https://www.bing.com/maps/default.aspx?v=2&pc=FACEBK&mid=8100&where1={lat}%2C+{long}"
        return {"lat": lat, "long": long, "url": url}

    def _media_url(self, kind: str) -> str:
        name = self.faker.file_name(extension=MEDIA_EXTENSIONS[kind])
        return f"https://scontent.xx.fbcdn.net/v/t1.15752-9/{self._digits(17)}_{name}"

    def build(self, command: InjectInbound, clock: Clock) -> Message:
        now = clock.now()
        sender = self.address(command.sender, self._digits(16))
        page = self.address(command.to, self.page_id)
        body = {"to": page, "from": sender, "message": {"content": self.content(command.content)}}
        if command.application_id:
            body["application_id"] = command.application_id
        return Message(message_uuid=new_uuid(), channel="messenger", direction="inbound",
                       recipient=page["id"], peer=sender["id"], raw=compact_json(body), created_at=now,
                       api=command.generation, history=[StatusEntry("received", now)])
