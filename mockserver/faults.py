"""Faults at the API edge: what a request must match, and which of the matching requests a fault answers.

A fault is data (its body is schemas/control/fault.json); this module decides whether a request is hit, counts the
hits and draws `probability` and `jitter_ms` from the seeded generator. Windows are instants of the simulated
clock. How a hit is answered (a status, a delay, a dropped connection) is the HTTP layer's: api/edge.py.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .ids import new_uuid
from .simulation.clock import LAST_INSTANT, iso, parse_iso
from .simulation.rules import compile_pattern


@dataclass(frozen=True, slots=True)
class Target:
    """What a request is, as a fault's `match` sees it. `channels` and `to` come from a valid body only: the channel
    as the request names it and as the simulation does (v1's viber_service is viber_service_msg)."""

    path: str
    method: str
    application_id: str | None = None
    channels: tuple[str, ...] = ()
    to: str | None = None


@dataclass(slots=True)
class Fault:
    id: str
    match: dict[str, str]
    status: int | None = None
    retry_after: float | None = None
    body: Any = None
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    drop: str | None = None
    probability: float | None = None
    times: int | None = None
    after: int = 0
    window: tuple[float, float | None] | None = None  # (start, end) on the simulated clock; end None: open
    account: str | None = None  # None: every account
    hits: int = 0
    seen: int = 0  # matching requests, the ones let through by `after` included
    pattern: Any = field(default=None, repr=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any], account: str | None, now: float) -> Fault:
        """A fault from a valid body of POST /_mock/faults (or a saved one); a ValueError for a start or a pattern
        the schema could not judge."""
        match = dict(data.get("match") or {})
        fault = cls(id=data.get("id") or new_uuid(), match=match, status=data.get("status"),
                    retry_after=data.get("retry_after"), body=data.get("body"),
                    latency_ms=float(data.get("latency_ms", 0)), jitter_ms=float(data.get("jitter_ms", 0)),
                    drop=data.get("drop"), probability=data.get("probability"), times=data.get("times"),
                    after=int(data.get("after", 0)), account=account, hits=int(data.get("hits", 0)),
                    seen=int(data.get("seen", 0)))
        if "window" in data:
            fault.window = _window(data["window"], now)
        if "to_pattern" in match:
            fault.pattern = compile_pattern(match["to_pattern"])
        return fault

    @property
    def retired(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def matches(self, target: Target, account: str, now: float) -> bool:
        """Whether the request is one this fault is about (before `after`, `probability` and `times`)."""
        if self.account is not None and self.account != account:
            return False
        if self.window is not None and not _within(self.window, now):
            return False
        return all(_matches_key(key, value, target, self.pattern) for key, value in self.match.items())

    def delay(self, rng: random.Random) -> float:
        """Seconds to wait before answering: latency_ms ± jitter_ms (seeded)."""
        spread = self.jitter_ms
        jitter = rng.uniform(-spread, spread) if spread else 0.0
        return max(0.0, self.latency_ms + jitter) / 1000

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "match": self.match}
        for key in ("status", "retry_after", "body", "drop", "probability", "times"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        if self.latency_ms:
            data["latency_ms"] = self.latency_ms
        if self.jitter_ms:
            data["jitter_ms"] = self.jitter_ms
        if self.after:
            data["after"] = self.after
        if self.window is not None:
            start, end = self.window
            data["window"] = {"start": iso(start), **({"duration": end - start} if end is not None else {})}
        data.update(account=self.account, hits=self.hits, seen=self.seen, active=not self.retired)
        return data


def _window(given: dict[str, Any], now: float) -> tuple[float, float | None]:
    """(start, end) as instants; none past the clock's last one (a clock driven there must still show them)."""
    start = given.get("start", 0)
    begins = min(now + start, LAST_INSTANT) if isinstance(start, int | float) else parse_iso(start)
    duration = given.get("duration")
    return begins, min(begins + duration, LAST_INSTANT) if duration is not None else None


def _within(window: tuple[float, float | None], now: float) -> bool:
    start, end = window
    return start <= now and (end is None or now < end)


def _matches_key(key: str, value: str, target: Target, pattern: Any) -> bool:
    if key == "path":
        return target.path.startswith(value[:-1]) if value.endswith("*") else target.path == value
    if key == "method":
        return target.method == value.upper()
    if key == "application_id":
        return target.application_id == value
    if key == "channel":
        return value in target.channels
    if key == "to":
        return target.to == value
    if key == "to_pattern":
        return target.to is not None and pattern.search(target.to) is not None
    return False


class FaultBook:
    """Every fault of the mock, in the order they were added: the first that hits a request answers it."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self._faults: dict[str, Fault] = {}

    def __bool__(self) -> bool:
        return bool(self._faults)

    def __iter__(self) -> Iterator[Fault]:
        return iter(list(self._faults.values()))

    def add(self, fault: Fault) -> Fault:
        if fault.id in self._faults:
            raise KeyError(fault.id)
        self._faults[fault.id] = fault
        return fault

    def get(self, fault_id: str) -> Fault | None:
        return self._faults.get(fault_id)

    def remove(self, fault_id: str) -> bool:
        return self._faults.pop(fault_id, None) is not None

    def clear(self, account: str | None = None) -> None:
        """Remove every fault (None), or those of one account."""
        if account is None:
            self._faults.clear()
            self.rng = random.Random(self.seed)
        else:
            self._faults = {key: f for key, f in self._faults.items() if f.account != account}

    def hit(self, target: Target, account: str, now: float) -> Fault | None:
        """The first active fault that answers this request, its hit counted; None when every fault lets it pass."""
        for fault in self._faults.values():
            if fault.retired or not fault.matches(target, account, now):
                continue
            fault.seen += 1
            if fault.seen <= fault.after:
                continue
            if fault.probability is not None and self.rng.random() >= fault.probability:
                continue
            fault.hits += 1
            return fault
        return None
