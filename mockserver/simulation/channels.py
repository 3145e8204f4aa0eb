"""Per-channel profiles: delays to each status (with seeded jitter), prices, and what each channel reports."""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from typing import Any

from .clock import round_ms

# Seconds after acceptance (submitted) or after the previous status (delivered, read). Unverified against
# the real service: these are plausible 2018 figures; change them with the `profiles` setting. `charged_at` is the
# status whose webhook carries `usage` (today's docs: SMS and MMS are charged at submitted, the rest at delivered).
DEFAULT_PROFILES: dict[str, dict[str, Any]] = {
    "sms": {
        "delays": {"submitted": 0.4, "delivered": 3.0},
        "jitter": 0.3,
        "price": "0.0333",
        "charged_at": "submitted",
        "reply_delay": 20.0,
    },
    "mms": {
        "delays": {"submitted": 0.6, "delivered": 6.0},
        "jitter": 0.3,
        "price": "0.0200",
        "charged_at": "submitted",
        "reply_delay": 30.0,
    },
    "rcs": {
        "delays": {"submitted": 0.3, "delivered": 1.2, "read": 6.0},
        "jitter": 0.3,
        "price": "0.0150",
        "charged_at": "delivered",
        "reply_delay": 12.0,
    },
    "whatsapp": {
        "delays": {"submitted": 0.3, "delivered": 1.0, "read": 5.0},
        "jitter": 0.3,
        "price": "0.0147",
        "charged_at": "delivered",
        "reply_delay": 10.0,
    },
    "messenger": {
        "delays": {"submitted": 0.3, "delivered": 1.5, "read": 8.0},
        "jitter": 0.3,
        "price": "0.0100",
        "charged_at": "delivered",
        "reply_delay": 12.0,
    },
    "viber_service_msg": {
        "delays": {"submitted": 0.4, "delivered": 2.0, "read": 10.0},
        "jitter": 0.3,
        "price": "0.0333",
        "charged_at": "delivered",
        "reply_delay": 15.0,
    },
}
CURRENCY = "EUR"
GSM_LIMITS, UNICODE_LIMITS = (160, 153), (70, 67)  # characters in one part, and in each part of a longer message


def sms_parts(text: str) -> int:
    """How many parts an SMS of `text` takes: GSM-7 unless a character needs UCS-2 (an approximation: any
    non-ASCII character counts as UCS-2)."""
    single, each = GSM_LIMITS if text.isascii() else UNICODE_LIMITS
    return 1 if len(text) <= single else -(-len(text) // each)


@dataclass(frozen=True, slots=True)
class Profile:
    channel: str
    delays: dict[str, float]
    jitter: float
    price: str
    charged_at: str  # "submitted" or "delivered"
    reply_delay: float
    usage: dict[str, str]  # on every charged_at status of the channel: one shared dict, read only

    @property
    def reports_read(self) -> bool:
        return "read" in self.delays

    def delay(self, status: str, rng: random.Random, factor: float = 1.0) -> float:
        """The delay before `status`, jittered by ±jitter and rounded to the millisecond."""
        base = self.delays[status] * factor
        spread = base * self.jitter
        return round_ms(base + (-spread + (spread + spread) * rng.random()))  # rng.uniform(-spread, spread), inline


def merge_profiles(overrides: dict[str, Any]) -> dict[str, Profile]:
    """The defaults with `overrides` (channel -> partial profile) merged in, key by key."""
    merged = copy.deepcopy(DEFAULT_PROFILES)
    for channel, override in (overrides or {}).items():
        if channel not in merged:
            raise ValueError(f"profiles: unknown channel {channel!r}")
        for key, value in override.items():
            if isinstance(value, dict):
                merged[channel].setdefault(key, {}).update(value)
            else:
                merged[channel][key] = value
    return {channel: Profile(channel=channel, delays=dict(p["delays"]), jitter=float(p["jitter"]),
                             price=str(p["price"]), charged_at=str(p["charged_at"]),
                             reply_delay=float(p["reply_delay"]),
                             usage={"currency": CURRENCY, "price": str(p["price"])})
            for channel, p in merged.items()}
