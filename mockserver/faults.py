"""Faults at the API edge: what a request must match, and which of the matching requests a fault answers.

A fault is data (its body is schemas/control/fault.json); this module decides whether a request is hit, counts the
hits and draws `probability` and `jitter_ms` from the seeded generator. Windows are instants of the simulated
clock. How a hit is answered (a status, a delay, a dropped connection) is the HTTP layer's: api/edge.py.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .ids import new_uuid
from .simulation.clock import LAST_INSTANT, iso, parse_iso
from .simulation.rules import compile_pattern


@dataclass(slots=True)
class Target:
    """What a request is, as a fault's `match` sees it. `channels` and `to` come from a valid body only: the channel
    as the request names it and as the simulation does (v1's viber_service is viber_service_msg)."""

    path: str
    method: str
    application_id: str | None = None
    channels: tuple[str, ...] = ()
    to: str | None = None


Test = Callable[[Target], bool]
PATH_CACHE_LIMIT = 256  # paths whose candidate faults are remembered (the emulated API has a handful)


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
    tests: tuple[Test, ...] = field(default=(), repr=False)  # the match keys but path, compiled
    reads_body: bool = field(default=False, repr=False)  # it matches on channel, to or to_pattern

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
        fault.tests = tuple(_test(key, value) for key, value in match.items() if key != "path")
        fault.reads_body = any(key in match for key in ("channel", "to", "to_pattern"))
        return fault

    @property
    def retired(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def on_path(self, path: str) -> bool:
        wanted = self.match.get("path")
        if wanted is None:
            return True
        return path.startswith(wanted[:-1]) if wanted.endswith("*") else path == wanted

    def matches(self, target: Target, account: str, now: float) -> bool:
        """Whether a request on one of its paths is one this fault is about (before `after`, `probability` and
        `times`)."""
        if self.account is not None and self.account != account:
            return False
        if self.window is not None and not _within(self.window, now):
            return False
        for test in self.tests:  # noqa: SIM110 - all() over a generator costs twice this, per fault and request
            if not test(target):
                return False
        return True


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


def _test(key: str, value: str) -> Test:
    """One match key (but path) as a test of a request; re.error for a to_pattern RE2 cannot compile."""
    if key == "method":
        method = value.upper()
        return lambda target: target.method == method
    if key == "application_id":
        return lambda target: target.application_id == value
    if key == "channel":
        return lambda target: value in target.channels
    if key == "to":
        return lambda target: target.to == value
    if key == "to_pattern":
        pattern = compile_pattern(value)
        return lambda target: target.to is not None and pattern.search(target.to) is not None
    raise ValueError(f"match.{key}: not a match key")


class PathFaults:
    """The faults of one path, those that name an exact `to` indexed by it: a request to any other recipient does
    not look at them."""

    def __init__(self, faults: tuple[Fault, ...]) -> None:
        self.any = bool(faults)
        self.reads_body = any(fault.reads_body for fault in faults)
        self._order = {fault.id: n for n, fault in enumerate(faults)}
        self._unkeyed = tuple(fault for fault in faults if "to" not in fault.match)
        self._by_to: dict[str, tuple[Fault, ...]] = {}
        for fault in faults:
            if "to" in fault.match:
                self._by_to[fault.match["to"]] = (*self._by_to.get(fault.match["to"], ()), fault)

    def candidates(self, to: str | None) -> tuple[Fault, ...]:
        """Those that may match a request to `to` (None: not known), in the order they were added."""
        keyed = self._by_to.get(to) if to is not None else None
        if not keyed:
            return self._unkeyed
        return tuple(sorted((*self._unkeyed, *keyed), key=lambda fault: self._order[fault.id]))


class FaultBook:
    """Every fault of the mock, in the order they were added: the first that hits a request answers it."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self._faults: dict[str, Fault] = {}
        self._on_path: dict[str, PathFaults] = {}  # path -> on_path(path)

    def __bool__(self) -> bool:
        return bool(self._faults)

    def __iter__(self) -> Iterator[Fault]:
        return iter(list(self._faults.values()))

    def add(self, fault: Fault) -> Fault:
        if fault.id in self._faults:
            raise KeyError(fault.id)
        self._faults[fault.id] = fault
        self._on_path.clear()
        return fault

    def get(self, fault_id: str) -> Fault | None:
        return self._faults.get(fault_id)

    def remove(self, fault_id: str) -> bool:
        self._on_path.clear()
        return self._faults.pop(fault_id, None) is not None

    def clear(self, account: str | None = None) -> None:
        """Remove every fault (None), or those of one account."""
        self._on_path.clear()
        if account is None:
            self._faults.clear()
            self.rng = random.Random(self.seed)
        else:
            self._faults = {key: f for key, f in self._faults.items() if f.account != account}

    def on_path(self, path: str) -> PathFaults:
        """The active faults whose match.path takes `path` (or that have none), in the order they were added."""
        found = self._on_path.get(path)
        if found is None:
            if len(self._on_path) >= PATH_CACHE_LIMIT:
                self._on_path.clear()
            found = self._on_path[path] = PathFaults(
                tuple(f for f in self._faults.values() if not f.retired and f.on_path(path)))
        return found

    def hit(self, candidates: tuple[Fault, ...], target: Target, account: str, now: float) -> Fault | None:
        """The first active fault of `candidates` (from on_path) that answers this request, its hit counted; None
        when every one lets it pass."""
        for fault in candidates:
            if not fault.matches(target, account, now):
                continue
            fault.seen += 1
            if fault.seen <= fault.after:
                continue
            if fault.probability is not None and self.rng.random() >= fault.probability:
                continue
            fault.hits += 1
            if fault.retired:
                self._on_path.clear()  # no request is to look at it again
            return fault
        return None
