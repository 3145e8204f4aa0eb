"""The FailoverRunner on its own: when a workflow moves past an item, and when it ends."""

from __future__ import annotations

from mockserver.simulation.commands import Failover
from mockserver.simulation.events import EventType

from .sim_support import Sim, rule, send, start_workflow

READ = Failover("read", 60)
DELIVERED = Failover("delivered", 60)


def states(workflow) -> list[str]:
    return [item.state for item in workflow.items]


async def test_condition_met_completes_and_skips_the_rest():
    sim = Sim()
    workflow = sim.runner.start(start_workflow((send("psid-1", channel="messenger"), READ), (send("4477"), None)))
    assert workflow.status == "in_progress" and states(workflow) == ["sent", "pending"]
    await sim.advance(3600)
    workflow = sim.store.get_workflow(workflow.workflow_uuid)
    assert workflow.status == "completed"
    assert states(workflow) == ["condition_met", "skipped"]
    first = sim.store.get_message(workflow.items[0].message_uuid)
    assert workflow.items[0].ended_at == first.history[-1].timestamp  # met the moment it was read
    assert len(sim.store.find_messages()) == 1  # the second item was never sent
    assert [e.type for e in sim.events if e.type.startswith("workflow.")] == [
        EventType.WORKFLOW_ACCEPTED, EventType.WORKFLOW_UPDATED, EventType.WORKFLOW_FINISHED]


async def test_failure_moves_to_the_next_item():
    sim = Sim(rules=[rule("1", "rejected", error_code=1050)])
    workflow = sim.runner.start(start_workflow((send("1"), DELIVERED), (send("2"), None)))
    first = sim.store.get_message(workflow.items[0].message_uuid)
    rejected_at = first.plan[0].timestamp
    await sim.clock.advance_to(rejected_at)
    assert states(workflow) == ["failed", "sent"]
    assert workflow.items[1].sent_at == rejected_at
    second = sim.store.get_message(workflow.items[1].message_uuid)
    assert (second.item_number, second.items_number, second.workflow_uuid) == (2, 2, workflow.workflow_uuid)
    await sim.advance(3600)
    assert workflow.status == "completed" and states(workflow) == ["failed", "delivered"]


async def test_expiry_moves_on_at_exactly_the_expiry_time():
    sim = Sim(rules=[rule("1", "stuck_submitted")])
    workflow = sim.runner.start(start_workflow((send("1"), Failover("delivered", 5)), (send("2"), None)))
    sent_at = workflow.items[0].sent_at
    await sim.clock.advance_to(sent_at + 4.999)
    assert states(workflow) == ["sent", "pending"]
    await sim.clock.advance_to(sent_at + 5)
    assert states(workflow) == ["expired", "sent"]
    assert workflow.items[0].ended_at == sent_at + 5


async def test_condition_met_later_than_expiry_still_expires():
    sim = Sim(rules=[rule("psid-1", "read", delay_factor=100)])  # read far past the expiry
    workflow = sim.runner.start(start_workflow((send("psid-1", channel="messenger"), READ), (send("2"), None)))
    await sim.advance(60)
    assert states(workflow) == ["expired", "sent"]


async def test_every_item_failing_ends_in_error():
    sim = Sim(rules=[rule("1", "rejected", error_code=1000), rule("2", "undeliverable", error_code=1020)])
    workflow = sim.runner.start(start_workflow((send("1"), DELIVERED), (send("2"), None)))
    await sim.advance(3600)
    assert workflow.status == "error" and states(workflow) == ["failed", "failed"]
    assert sim.of_type(EventType.WORKFLOW_FINISHED)[-1].subject is workflow


async def test_v1_like_failover_without_expiry_waits_for_a_failure_only():
    sim = Sim(rules=[rule("1", "stuck_submitted"), rule("3", "undeliverable", error_code=1020)])
    stuck = sim.runner.start(start_workflow((send("1"), Failover("delivered")), (send("2"), None),
                                            kind="failover", generation="v1"))
    failing = sim.runner.start(start_workflow((send("3"), Failover("delivered")), (send("4"), None),
                                              kind="failover", generation="v1"))
    assert stuck.items[0].decision is None  # stuck and no expiry: never ends
    await sim.advance(10 * 24 * 3600)
    assert stuck.status == "in_progress" and states(stuck) == ["sent", "pending"]
    assert failing.status == "completed" and states(failing) == ["failed", "delivered"]


async def test_a_decision_on_a_reset_workflow_does_nothing():
    sim = Sim()
    workflow = sim.runner.start(start_workflow((send("1"), DELIVERED), (send("2"), None)))
    assert sim.clock.pending >= 1  # the decision timer (and the message's)
    sim.store.reset()
    await sim.advance(3600)
    assert sim.of_type(EventType.WORKFLOW_FINISHED) == []
    assert workflow.status == "in_progress" and states(workflow) == ["sent", "pending"]
    assert sim.store.find_messages() == []  # the second item was not sent


async def test_a_decision_on_a_pruned_workflow_does_nothing():
    sim = Sim(history_limit=1)
    first = sim.runner.start(start_workflow((send("1"), DELIVERED), (send("2"), None)))
    sim.runner.start(start_workflow((send("3"), DELIVERED), (send("4"), None)))  # prunes the first
    assert sim.store.get_workflow(first.workflow_uuid) is None
    await sim.advance(3600)
    finished = [event.subject.workflow_uuid for event in sim.of_type(EventType.WORKFLOW_FINISHED)]
    assert first.workflow_uuid not in finished
    assert len(finished) == 1
    assert first.status == "in_progress"


async def test_the_decision_is_read_off_the_plan_when_sent_and_kept_on_the_item():
    sim = Sim(watched=False)  # nobody watches the message: the decision still fires on its own timer
    workflow = sim.runner.start(start_workflow((send("1"), DELIVERED), (send("2"), None)))
    message = sim.store.get_message(workflow.items[0].message_uuid)
    delivered_at = next(e.timestamp for e in message.plan if e.status == "delivered")
    assert workflow.items[0].decision == (delivered_at, "condition_met")
    assert sim.clock.pending == 1
    await sim.clock.advance_to(delivered_at)
    assert workflow.status == "completed"
