"""Simulated time: one clock and one timer heap drive every delay in the mock.

Two modes: `real` (simulated time runs at 1/time_scale the speed of the monotonic clock) and `manual`
(time moves only when `advance` is called; everything due fires in timestamp order).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

# Timers due at the same instant fire by priority, then by creation order. Status changes come before a
# failover's decision taken at that instant, so whatever the decision reports already shows them.
PRIORITY_STATUS = 0
PRIORITY_DECISION = 1


class Timer:
    __slots__ = ("args", "callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.when = when
        self.callback = callback
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


# The instants a four-digit ISO 8601 year can show; `iso` saturates there rather than fail on far timers.
FIRST_INSTANT, LAST_INSTANT = -62135596800.0, 253402300799.0  # 0001-01-01T00:00:00.000Z, 9999-12-31T23:59:59.000Z


def round_ms(seconds: float) -> float:
    """Exactly round(seconds, 3), without its detour through decimal strings (a fifth of the time)."""
    if not 0.0 < seconds < 4e9:  # past 2096 the scaled value's error could reach a millisecond's half
        return round(seconds, 3)
    scaled = seconds * 1000.0  # off from the exact product by under 0.0005
    whole = math.floor(scaled + 0.5)
    if abs(scaled - whole) > 0.499:  # so near a tie that the error could decide it: ask round()
        return round(seconds, 3)
    return whole / 1000.0


# A timer's place in the heap packed in one int: its millisecond, then its priority, then its creation
# order. The heap compares ~30 times per timer, and ints compare far faster than (float, int, int) tuples.
_SEQ_BITS = 64
_PRIORITY_BITS = 8
_BEYOND_FINITE = 1 << 1100  # the millisecond of an infinite time: past any finite float's


def _heap_key(when: float, priority: int, seq: int) -> int:
    scaled = when * 1000.0
    ms = round(scaled) if math.isfinite(scaled) else (-_BEYOND_FINITE if scaled < 0 else _BEYOND_FINITE)
    return (((ms << _PRIORITY_BITS) + priority) << _SEQ_BITS) + seq


def iso(timestamp: float) -> str:
    """ISO 8601 UTC with milliseconds and Z, as the real service writes its timestamps."""
    moment = datetime.fromtimestamp(min(max(round(timestamp, 3), FIRST_INSTANT), LAST_INSTANT), UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Clock:
    """Simulated epoch seconds plus one heap of timers; callbacks run on the event loop, in order."""

    def __init__(self, mode: str = "real", time_scale: float = 1.0, start: float | None = None) -> None:
        self.mode = mode
        self.time_scale = time_scale
        self._heap: list[int] = []  # heap keys (see _heap_key), the earliest first
        self._timers: dict[int, Timer] = {}  # heap key -> its timer
        self._seq = itertools.count()
        self._origin_sim = round(time.time() if start is None else start, 3)
        self._origin_mono = time.monotonic()
        self._manual_now = self._origin_sim
        self._wakeup: asyncio.TimerHandle | None = None
        self._settle: Callable[[], Awaitable[None]] | None = None
        self._advancing = asyncio.Lock()
        self.on_change: Callable[[], None] | None = None  # the mapping from wall to simulated time changed

    # -- reading time ---------------------------------------------------------------------------
    def now(self) -> float:
        if self.mode == "manual":
            return self._manual_now
        return self._origin_sim + (time.monotonic() - self._origin_mono) / self.time_scale

    def now_iso(self) -> str:
        return iso(self.now())

    @property
    def pending(self) -> int:
        return sum(1 for timer in self._timers.values() if not timer.cancelled)

    def next_due(self) -> float | None:
        self._drop_cancelled_head()
        return self._timers[self._heap[0]].when if self._heap else None

    # -- changing how time runs -----------------------------------------------------------------
    def set_time_scale(self, scale: float) -> None:
        """Keep `now` continuous across the change."""
        current = self.now()
        self._origin_sim, self._origin_mono = current, time.monotonic()
        self.time_scale = scale
        self._changed()
        self._arm()

    def set_mode(self, mode: str) -> None:
        current = self.now()
        self.mode = mode
        self._manual_now = current
        self._origin_sim, self._origin_mono = current, time.monotonic()
        self._changed()
        self._arm()

    def resume_at(self, now: float) -> None:
        """Continue from a saved simulated time; timers already due then fire on the next loop turn, in order."""
        self._manual_now = self._origin_sim = now
        self._origin_mono = time.monotonic()
        asyncio.get_running_loop().call_soon(self._fire_overdue)

    def _fire_overdue(self) -> None:
        self._fire_due(self.now())
        self._arm()

    def snapshot(self) -> dict[str, Any]:
        """What a store keeps of the clock: `_resumed_now` of it continues from there."""
        return {"mode": self.mode, "now": self.now(), "wall": time.time(), "time_scale": self.time_scale}

    def _changed(self) -> None:
        if self.on_change:
            self.on_change()

    def on_settle(self, settle: Callable[[], Awaitable[None]]) -> None:
        """`advance` awaits this after each instant, so work the timers started (webhooks) is done first."""
        self._settle = settle

    # -- timers ---------------------------------------------------------------------------------
    def call_at(self, when: float, callback: Callable[..., Any], *args: Any,
                priority: int = PRIORITY_STATUS) -> Timer:
        when = round_ms(when)  # millisecond instants: equal sums of delays compare equal
        timer = Timer(when, callback, args)
        key = _heap_key(when, priority, next(self._seq))
        self._timers[key] = timer
        heapq.heappush(self._heap, key)
        if self._heap[0] == key:
            self._arm()
        return timer

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any,
                   priority: int = PRIORITY_STATUS) -> Timer:
        return self.call_at(self.now() + delay, callback, *args, priority=priority)

    def clear(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._heap.clear()
        self._timers.clear()
        if self._wakeup:
            self._wakeup.cancel()
            self._wakeup = None

    async def advance_to(self, target: float) -> float:
        """Move time forward to `target`, firing everything due in order; returns the new now."""
        target = round_ms(target)  # timers sit on millisecond instants: now + 1.8 must reach start + 0.3 + 1.5
        async with self._advancing:
            await self._settled()
            while (due := self.next_due()) is not None and due <= target:
                self._jump_to(due)
                self._fire_due(due)
                await self._settled()
            self._jump_to(target)
            self._arm()
            return self.now()

    def _jump_to(self, moment: float) -> None:
        """Move now forward to `moment` (never back); in real mode by shifting the origin."""
        if self.mode == "manual":
            self._manual_now = max(self._manual_now, moment)
        elif moment > self.now():
            self._origin_sim += moment - self.now()
        self._changed()

    async def _settled(self) -> None:
        if self._settle:
            await self._settle()

    def _drop_cancelled_head(self) -> None:
        while self._heap and self._timers[self._heap[0]].cancelled:
            del self._timers[heapq.heappop(self._heap)]

    def _fire_due(self, up_to: float) -> None:
        heap, timers = self._heap, self._timers
        while heap and timers[heap[0]].when <= up_to:
            timer = timers.pop(heapq.heappop(heap))
            if not timer.cancelled:
                timer.cancelled = True
                timer.callback(*timer.args)

    def _arm(self) -> None:
        """Real mode: one loop callback for the earliest timer, never a task per timer."""
        if self._wakeup:
            self._wakeup.cancel()
            self._wakeup = None
        if self.mode != "real":
            return
        due = self.next_due()
        if due is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        delay = max(0.0, (due - self.now()) * self.time_scale)
        self._wakeup = loop.call_later(delay, self._on_wakeup)

    def _on_wakeup(self) -> None:
        self._wakeup = None
        self._fire_due(self.now())
        self._arm()


def resumed_now(saved: dict[str, Any]) -> float:
    """Where a clock saved by `snapshot` stands now: a running clock kept running meanwhile (scaled), a manual one
    stood still."""
    if saved["mode"] != "real":
        return saved["now"]
    return max(saved["now"], saved["now"] + (time.time() - saved["wall"]) / saved["time_scale"])
