"""The Engine on its own: what an accepted message will go through, and when each status is published."""

from __future__ import annotations

from mockserver.simulation.events import EventType

from .sim_support import START, Sim, rule, send


def statuses(message) -> list[str]:
    return [entry.status for entry in message.history] + [entry.status for entry in message.plan or ()]


def test_default_rule_plans_the_full_lifecycle_per_channel():
    sim = Sim()
    sms = sim.engine.send(send(channel="sms"))
    messenger = sim.engine.send(send(channel="messenger", to="psid-1"))
    assert statuses(sms) == ["accepted", "submitted", "delivered"]  # sms reports no read
    assert statuses(messenger) == ["accepted", "submitted", "delivered", "read"]
    times = [entry.timestamp for entry in messenger.plan]
    assert START < times[0] < times[1] < times[2]
    assert all(round(t, 3) == t for t in times)


def test_rules_decide_the_plan():
    sim = Sim(rules=[rule("1", "rejected", error_code=1050), rule("2", "undeliverable", error_code=1020),
                     rule("3", "stuck_submitted"), rule("4", "delivered"), rule("5", "read")])
    plans = {to: statuses(sim.engine.send(send(channel="viber_service_msg", to=to))) for to in "12345"}
    assert plans == {
        "1": ["accepted", "rejected"],
        "2": ["accepted", "submitted", "undeliverable"],
        "3": ["accepted", "submitted"],
        "4": ["accepted", "submitted", "delivered"],
        "5": ["accepted", "submitted", "delivered", "read"],
    }
    rejected = sim.store.find_messages(to="1")[0]
    assert rejected.plan[0].error["code"] == 1050
    assert sim.store.find_messages(to="2")[0].plan[-1].error["code"] == 1020


def test_a_text_rule_matches_on_the_text():
    sim = Sim(rules=[{"match": {"text_contains": "FAIL"}, "outcome": "rejected", "error_code": 1000}])
    assert statuses(sim.engine.send(send(text="please FAIL"))) == ["accepted", "rejected"]
    assert statuses(sim.engine.send(send(text="fine"))) == ["accepted", "submitted", "delivered"]


async def test_watched_message_walks_on_timers_and_publishes_each_status_in_order():
    sim = Sim(watched=True)
    message = sim.engine.send(send(channel="messenger", to="psid-1"))
    assert message.timed
    planned = list(message.plan)
    assert sim.clock.pending == 1  # one timer at a time
    await sim.advance(3600)
    published = [(event.detail.status, event.detail.timestamp) for event in sim.of_type(EventType.MESSAGE_STATUS)]
    assert published == [(entry.status, entry.timestamp) for entry in planned]
    assert [entry.status for entry in message.history] == ["accepted", "submitted", "delivered", "read"]
    assert message.plan is None
    assert [event.type for event in sim.events] == [EventType.MESSAGE_ACCEPTED] + [EventType.MESSAGE_STATUS] * 3


async def test_a_status_is_published_at_its_planned_instant():
    sim = Sim()
    message = sim.engine.send(send())
    submitted_at = message.plan[0].timestamp
    await sim.clock.advance_to(submitted_at - 0.001)
    assert sim.of_type(EventType.MESSAGE_STATUS) == []
    await sim.clock.advance_to(submitted_at)
    assert [event.detail.status for event in sim.of_type(EventType.MESSAGE_STATUS)] == ["submitted"]


async def test_unwatched_message_sets_no_timer_and_takes_its_steps_when_read():
    sim = Sim(watched=False)
    message = sim.engine.send(send())
    assert not message.timed
    assert sim.clock.pending == 0
    assert sim.engine.unwatched() == (1, message.plan[0].timestamp)
    await sim.advance(3600)
    assert sim.of_type(EventType.MESSAGE_STATUS) == []
    assert sim.store.get_message(message.message_uuid).status == "delivered"  # caught up when read
    assert sim.engine.unwatched() == (0, None)  # nothing left to take


def test_unwatched_reports_the_count_and_earliest_step():
    sim = Sim(watched=False)
    first = sim.engine.send(send(to="1"))
    sim.engine.send(send(to="2"))
    count, earliest = sim.engine.unwatched()
    assert count == 2
    assert earliest == min(first.plan[0].timestamp, sim.store.find_messages(to="2")[0].plan[0].timestamp)


async def test_watch_all_times_unwatched_messages_and_publishes_message_timed():
    sim = Sim(watched=False)
    message = sim.engine.send(send(channel="messenger", to="psid-1"))
    submitted_at = message.plan[0].timestamp
    await sim.clock.advance_to(submitted_at)  # submitted is due, taken by nobody yet
    sim.watched = True
    sim.engine.watch_all()
    assert message.timed
    timed = sim.of_type(EventType.MESSAGE_TIMED)
    assert [event.subject.message_uuid for event in timed] == [message.message_uuid]
    assert [entry.status for entry in message.history] == ["accepted", "submitted"]  # caught up first
    assert sim.clock.pending == 1
    await sim.advance(3600)
    assert [event.detail.status for event in sim.of_type(EventType.MESSAGE_STATUS)] == ["delivered", "read"]


def test_watch_all_leaves_timed_messages_alone():
    sim = Sim(watched=True)
    sim.engine.send(send())
    sim.engine.watch_all()
    assert sim.of_type(EventType.MESSAGE_TIMED) == []
    assert sim.clock.pending == 1


async def test_a_pruned_message_timer_does_nothing():
    sim = Sim(history_limit=1)
    first = sim.engine.send(send(to="1"))
    sim.engine.send(send(to="2"))  # prunes the first
    assert sim.store.get_message(first.message_uuid) is None
    await sim.advance(3600)
    subjects = {event.subject.message_uuid for event in sim.of_type(EventType.MESSAGE_STATUS)}
    assert first.message_uuid not in subjects
    assert len(sim.of_type(EventType.MESSAGE_STATUS)) == 2  # the second's submitted and delivered
    assert first.history[-1].status == "accepted"


async def test_reset_store_then_timers_do_nothing():
    sim = Sim()
    sim.engine.send(send())
    sim.store.reset()
    await sim.advance(3600)
    assert sim.of_type(EventType.MESSAGE_STATUS) == []


def test_same_seed_same_plan():
    a, b = Sim(), Sim()
    plan_a = [e.timestamp for e in a.engine.send(send()).plan]
    plan_b = [e.timestamp for e in b.engine.send(send()).plan]
    assert plan_a == plan_b
    a.engine.reset()
    assert [e.timestamp - START for e in a.engine.send(send()).plan] == [t - START for t in plan_a]
