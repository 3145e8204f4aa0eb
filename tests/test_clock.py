"""The simulated clock on its own (manual mode, no HTTP)."""

from __future__ import annotations

import time

import pytest

from mockserver.simulation.clock import PRIORITY_DECISION, PRIORITY_STATUS, Clock, resumed_now, round_ms

START = 1_500_000_000.0


def manual() -> Clock:
    return Clock("manual", start=START)


async def test_timers_fire_by_time_then_priority_then_creation():
    clock, fired = manual(), []
    clock.call_at(START + 2, fired.append, "late")
    clock.call_at(START + 1, fired.append, "decision", priority=PRIORITY_DECISION)
    clock.call_at(START + 1, fired.append, "status-first", priority=PRIORITY_STATUS)
    clock.call_at(START + 1, fired.append, "status-second", priority=PRIORITY_STATUS)
    clock.call_at(START + 0.5, fired.append, "early")
    assert await clock.advance_to(START + 10) == START + 10
    assert fired == ["early", "status-first", "status-second", "decision", "late"]


async def test_advance_to_fires_only_what_is_due_and_sets_now_for_each():
    clock, seen = manual(), []
    clock.call_at(START + 1, lambda: seen.append(("a", clock.now())))
    clock.call_at(START + 3, lambda: seen.append(("b", clock.now())))
    assert await clock.advance_to(START + 2) == START + 2
    assert seen == [("a", START + 1)]
    assert clock.pending == 1
    assert await clock.advance_to(START + 3) == START + 3
    assert seen == [("a", START + 1), ("b", START + 3)]
    assert clock.pending == 0


async def test_advance_never_goes_back():
    clock = manual()
    await clock.advance_to(START + 5)
    assert await clock.advance_to(START + 1) == START + 5


async def test_a_timer_set_by_a_firing_timer_fires_in_the_same_advance():
    clock, fired = manual(), []

    def first() -> None:
        fired.append("first")
        clock.call_later(1, fired.append, "chained")

    clock.call_at(START + 1, first)
    await clock.advance_to(START + 3)
    assert fired == ["first", "chained"]


async def test_cancelled_timer_does_not_fire_and_is_not_pending():
    clock, fired = manual(), []
    timer = clock.call_at(START + 1, fired.append, "x")
    clock.call_at(START + 2, fired.append, "y")
    assert clock.pending == 2
    timer.cancel()
    assert clock.pending == 1
    assert clock.next_due() == START + 2
    await clock.advance_to(START + 5)
    assert fired == ["y"]


async def test_clear_drops_every_timer():
    clock, fired = manual(), []
    clock.call_at(START + 1, fired.append, "x")
    clock.clear()
    assert clock.pending == 0 and clock.next_due() is None
    await clock.advance_to(START + 5)
    assert fired == []


def test_next_due_and_pending():
    clock = manual()
    assert clock.next_due() is None and clock.pending == 0
    clock.call_at(START + 4, lambda: None)
    clock.call_at(START + 2, lambda: None)
    assert clock.next_due() == START + 2
    assert clock.pending == 2


def test_timers_sit_on_millisecond_instants():
    clock = manual()
    timer = clock.call_at(START + 0.1 + 0.2, lambda: None)  # 0.30000000000000004
    assert timer.when == round_ms(START + 0.3) == START + 0.3


async def test_sum_of_delays_reaches_a_timer_on_the_same_millisecond():
    clock, fired = manual(), []
    clock.call_at(START + 0.3 + 1.5, fired.append, "x")
    await clock.advance_to(START + 0.1 + 0.2 + 1.5)
    assert fired == ["x"]


@pytest.mark.parametrize("seconds", [0.0, 0.0005, 0.0015, 1.2345, 1.2355, 1_500_000_000.1235, 123.4564999, -2.5, 5e9])
def test_round_ms_is_round_to_three_places(seconds):
    assert round_ms(seconds) == round(seconds, 3)


def test_set_mode_keeps_now_continuous():
    clock = manual()
    clock.set_mode("real")
    assert clock.mode == "real"
    assert START <= clock.now() < START + 1
    clock.set_mode("manual")
    frozen = clock.now()
    time.sleep(0.01)
    assert clock.now() == frozen
    assert START <= frozen < START + 1


def test_set_time_scale_keeps_now_continuous_and_scales():
    clock = Clock("real", time_scale=1.0, start=START)
    before = clock.now()
    clock.set_time_scale(0.001)  # a thousand simulated seconds per real one
    after = clock.now()
    assert before <= after < before + 1  # no jump at the change
    time.sleep(0.02)
    assert clock.now() - after >= 10  # 20 ms real ≥ 20 s simulated, well over 10


def test_on_change_is_called_on_each_change():
    clock, calls = manual(), []
    clock.on_change = lambda: calls.append(clock.now())
    clock.set_mode("manual")
    clock.set_time_scale(2.0)
    assert len(calls) == 2


async def test_on_change_is_called_when_advancing():
    clock, calls = manual(), []
    clock.on_change = lambda: calls.append(clock.now())
    await clock.advance_to(START + 3)
    assert calls and calls[-1] == START + 3


def test_snapshot_of_a_manual_clock_resumes_where_it_stood():
    clock = manual()
    saved = clock.snapshot()
    assert saved["mode"] == "manual" and saved["now"] == START
    saved["wall"] -= 1000  # a long time ago: a manual clock stood still meanwhile
    assert resumed_now(saved) == START


def test_snapshot_of_a_real_clock_resumes_scaled_by_the_time_since():
    clock = Clock("real", time_scale=0.5, start=START)
    saved = clock.snapshot()
    saved["wall"] -= 10  # saved 10 s ago, at double speed
    assert resumed_now(saved) == pytest.approx(saved["now"] + 20, abs=1)


async def test_resume_at_fires_overdue_timers_in_order():
    clock, fired = manual(), []
    clock.call_at(START + 2, fired.append, "b")
    clock.call_at(START + 1, fired.append, "a")
    clock.call_at(START + 9, fired.append, "later")
    clock.resume_at(START + 5)
    assert clock.now() == START + 5
    await _one_loop_turn()
    assert fired == ["a", "b"]


async def _one_loop_turn() -> None:
    import asyncio
    await asyncio.sleep(0)
