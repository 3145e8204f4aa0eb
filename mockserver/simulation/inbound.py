"""Inbound messages from simulated end users on every channel: what the caller gives, the rest faked (seeded)."""

from __future__ import annotations

import random
from typing import Any

from faker import Faker

from ..ids import new_uuid
from .channels import sms_parts
from .clock import Clock
from .commands import InjectInbound
from .models import Message, StatusEntry, compact_json

MEDIA_EXTENSIONS = {"image": "jpg", "audio": "mp3", "video": "mp4", "file": "pdf", "vcard": "vcf"}
CONTENT_FIELDS = ("text", "location", "sticker", "reply", "reaction", *MEDIA_EXTENSIONS)
# Where each channel's media of an inbound message is fetched from (plausible hosts, unverified).
MEDIA_HOSTS = {"messenger": "https://scontent.xx.fbcdn.net/v/t1.15752-9",
               "whatsapp": "https://api-eu.vonage.com/v3/media", "mms": "https://api-eu.vonage.com/v3/media",
               "rcs": "https://api-eu.vonage.com/v3/media", "viber_service_msg": "https://dl-media.viber.com/1/share/2"}
# The business side of a faked conversation, when `to` is left out: one per channel.
BUSINESSES = {"sms": "447700900001", "mms": "14155550101", "whatsapp": "447700900001",
              "viber_service_msg": "16273", "rcs": "vonage-agent"}
ID_CHANNELS = frozenset({"messenger"})  # addressed by id on both sides; the others' users have numbers


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

    def address(self, given: dict[str, Any] | None, channel: str, fallback: str) -> dict[str, Any]:
        given = dict(given or {})
        given["type"] = channel
        if channel in ID_CHANNELS or (channel in ("viber_service_msg", "rcs") and "number" not in given):
            given.setdefault("id", fallback)
        else:
            given.setdefault("number", fallback)
        return given

    def _user(self, channel: str) -> str:
        if channel in ID_CHANNELS:
            return self._digits(16)
        return f"4477009{self.rng.randint(0, 89999):05d}"  # Ofcom's drama range, clear of the magic 4477009009xx

    def content(self, given: dict[str, Any] | None, channel: str = "messenger") -> dict[str, Any]:
        content = dict(given or {})
        # Without a type, the one content field given (the schema allows at most one) names it.
        named = [key for key in CONTENT_FIELDS if key in content]
        kind = content.setdefault("type", named[0] if named else "text")
        if kind == "text":
            content.setdefault("text", self.faker.sentence(nb_words=self.rng.randint(3, 12)))
        elif kind == "location":
            content["location"] = self._location(content.get("location") or {})
        elif kind == "sticker":
            content["sticker"] = dict(content.get("sticker") or {"url": self._media_url(channel, "webp")})
        elif kind == "reply":
            content["reply"] = dict(content.get("reply") or {"id": f"button-{self.rng.randint(1, 3)}",
                                                              "title": self.faker.word().capitalize()})
        elif kind == "reaction":
            content["reaction"] = dict(content.get("reaction") or {"action": "react", "emoji": "👍"})
        else:
            media = dict(content.get(kind) or {})
            media.setdefault("url", self._media_url(channel, MEDIA_EXTENSIONS[kind]))
            content[kind] = media
        return content

    def _location(self, given: dict[str, Any]) -> dict[str, Any]:
        lat = given.get("lat") or str(self.faker.latitude())
        long = given.get("long") or str(self.faker.longitude())
        url = given.get("url") or f"https://www.bing.com/maps/default.aspx?v=2&pc=FACEBK&mid=8100&where1={lat}%2C+{long}"
        return {"lat": lat, "long": long, "url": url}

    def _media_url(self, channel: str, extension: str) -> str:
        name = self.faker.file_name(extension=extension)
        return f"{MEDIA_HOSTS.get(channel, MEDIA_HOSTS['messenger'])}/{self._digits(17)}_{name}"

    def _extras(self, command: InjectInbound, content: dict[str, Any]) -> dict[str, Any]:
        """What the channel adds beside the content: a reply's context, the WhatsApp profile, the SMS parts."""
        extras: dict[str, Any] = {}
        if command.context:
            extras["context"] = dict(command.context)
        if command.channel == "whatsapp":
            extras["profile"] = dict(command.profile or {"name": self.faker.name()})
        if command.channel == "sms":
            text = content.get("text") or ""
            extras["sms"] = {"num_messages": str(sms_parts(text)), "keyword": (text.split() or [""])[0].upper()}
        return extras

    def build(self, command: InjectInbound, clock: Clock) -> Message:
        now = clock.now()
        channel = command.channel
        sender = self.address(command.sender, channel, self._user(channel))
        business = self.page_id if channel in ID_CHANNELS else BUSINESSES[channel]
        page = self.address(command.to, channel, business)
        content = self.content(command.content, channel)
        body = {"to": page, "from": sender, "message": {"content": content, **self._extras(command, content)}}
        if command.application_id:
            body["application_id"] = command.application_id
        return Message(message_uuid=new_uuid(), channel=channel, direction="inbound",
                       recipient=page.get("id") or page["number"], peer=sender.get("id") or sender["number"],
                       raw=compact_json(body), created_at=now, api=command.generation,
                       history=[StatusEntry("received", now)])
