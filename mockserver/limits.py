"""One account's throttling and balance: token buckets on its simulated clock, and what it has left to spend.

No HTTP here: the edge (api/edge.py) asks `wait()` and `can_pay()` and answers 429 or 402.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

EDGE_SETTINGS = ("rate_limit", "rate_burst", "rate_limits", "balance")


@dataclass(slots=True)
class TokenBucket:
    """`rate` tokens a second, at most `burst` held; a request takes one."""

    rate: float
    burst: float
    tokens: float
    at: float  # the instant `tokens` was last brought up to date

    @classmethod
    def full(cls, rate: float, burst: int, now: float) -> TokenBucket:
        size = float(burst or max(1, math.ceil(rate)))
        return cls(rate, size, size, now)

    def take(self, now: float) -> float | None:
        """None when a token was taken; else the seconds until one is there."""
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate) if now > self.at else self.tokens
        self.at = max(self.at, now)
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return (1 - self.tokens) / self.rate


class Limits:
    """The rate limit of the account (every request), per channel (requests of that channel), and the balance."""

    def __init__(self, rate_limit: float, rate_burst: int, rate_limits: dict[str, float],
                 balance: float | None) -> None:
        self.rate_limit = rate_limit
        self.rate_burst = rate_burst
        self.rate_limits = dict(rate_limits)
        self.balance: Decimal | None = None if balance is None else Decimal(str(balance))
        self._buckets: dict[str | None, TokenBucket] = {}  # None: the account's own

    @property
    def enabled(self) -> bool:
        return bool(self.rate_limit or self.rate_limits) or self.balance is not None

    def configure(self, changes: dict[str, Any]) -> None:
        """Apply the edge keys of a config change; a changed limit starts with a full bucket."""
        for key in ("rate_limit", "rate_burst", "rate_limits"):
            if key in changes:
                setattr(self, key, changes[key] if key != "rate_limits" else dict(changes[key] or {}))
                self._buckets.clear()
        if "balance" in changes:
            self.balance = None if changes["balance"] is None else Decimal(str(changes["balance"]))

    def wait(self, channels: tuple[str, ...], now: float) -> float | None:
        """Take a token from the account's bucket and from the channel's, if limited; None when both had one, else
        the seconds until the one that had none will have it."""
        if self.rate_limit:
            wait = self._bucket(None, self.rate_limit, now).take(now)
            if wait is not None:
                return wait
        for channel in channels:
            rate = self.rate_limits.get(channel)
            if rate:
                return self._bucket(channel, rate, now).take(now)
        return None

    def _bucket(self, key: str | None, rate: float, now: float) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket.full(rate, self.rate_burst, now)
        return bucket

    def can_pay(self, price: str) -> bool:
        return self.balance is None or self.balance >= Decimal(price)

    def charge(self, price: str) -> bool:
        """Take a message's price off a limited balance; whether it was limited."""
        if self.balance is None:
            return False
        self.balance -= Decimal(price)
        return True

    def view(self) -> dict[str, Any]:
        return {"rate_limit": self.rate_limit, "rate_burst": self.rate_burst, "rate_limits": dict(self.rate_limits),
                "balance": None if self.balance is None else float(self.balance)}
