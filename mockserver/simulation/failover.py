"""Failover workflows: send item 1, move to the next item when it fails or expires, finish when one succeeds."""

from __future__ import annotations

from ..ids import new_uuid
from .clock import PRIORITY_DECISION, Clock, round_ms
from .commands import StartWorkflow
from .engine import Engine
from .events import EventBus, EventType
from .models import FAILED_STATUSES, Workflow, WorkflowItem
from .store import Store

# A status that satisfies each condition ("read" implies it was delivered).
SATISFIES = {"delivered": frozenset({"delivered", "read"}), "read": frozenset({"read"})}
DELIVERED = SATISFIES["delivered"]


class FailoverRunner:
    """Each sent item's fate is read off its message's plan when it is sent: the instant its condition is met,
    it fails, or it expires, whichever comes first. One timer per item acts then, whether or not anyone
    watches the message's statuses (so its message needs no timers of its own)."""

    def __init__(self, clock: Clock, store: Store, bus: EventBus, engine: Engine) -> None:
        self.clock = clock
        self.store = store
        self.bus = bus
        self.engine = engine

    def start(self, command: StartWorkflow) -> Workflow:
        # Positional, in the order of their fields: keywords cost twice as much, once per workflow and item.
        items = [WorkflowItem(i, send, failover) for i, (send, failover) in enumerate(command.steps)]
        workflow = Workflow(new_uuid(), command.kind, command.template, items, self.clock.now(), command.generation)
        self.store.add_workflow(workflow)
        self.bus.publish(EventType.WORKFLOW_ACCEPTED, workflow)
        self._send(workflow, 0)
        return workflow

    def resume(self, workflow: Workflow) -> None:
        """Re-arm a restored workflow's decision about its current item."""
        if workflow.status == "in_progress" and workflow.items[workflow.current].state == "sent":
            self._arm_decision(workflow, workflow.current)

    def _send(self, workflow: Workflow, index: int) -> None:
        workflow.current = index
        item = workflow.items[index]
        message = self.engine.send(item.command, workflow_uuid=workflow.workflow_uuid, workflow_kind=workflow.kind,
                                   item=(index + 1, len(workflow.items)))
        item.message_uuid = message.message_uuid
        item.sent_at = message.created_at
        item.state = "sent"
        self._arm_decision(workflow, index)
        self.store.save_workflow(workflow)
        self.bus.publish(EventType.WORKFLOW_UPDATED, workflow)

    def _arm_decision(self, workflow: Workflow, index: int) -> None:
        """Decide when the item is sent (kept with it: its message may be pruned before a restart re-arms it)."""
        item = workflow.items[index]
        if item.decision is None:
            item.decision = self._decision(item)
        if item.decision is not None:
            at, state = item.decision
            self.clock.call_at(at, self._decide, workflow.workflow_uuid, index, state, priority=PRIORITY_DECISION)

    def _decision(self, item: WorkflowItem) -> tuple[float, str] | None:
        """(when, the item's end state): its first status that meets its condition or fails, unless it expires
        first (met exactly at expiry counts as met); None if it never ends (stuck, and no expiry)."""
        message = self.store.get_message(item.message_uuid) if item.message_uuid else None
        needed = SATISFIES[item.failover.condition_status] if item.failover else DELIVERED
        decision = None
        for entry in (message.history + (message.plan or [])) if message else ():
            if entry.status in needed:
                decision = (entry.timestamp, "condition_met" if item.failover else "delivered")
                break
            if entry.status in FAILED_STATUSES:
                decision = (entry.timestamp, "failed")
                break
        if item.failover and item.failover.expiry_time is not None:
            expires = round_ms(item.sent_at + item.failover.expiry_time)
            if decision is None or decision[0] > expires:
                decision = (expires, "expired")
        return decision

    def _decide(self, workflow_uuid: str, index: int, state: str) -> None:
        workflow = self.store.get_workflow(workflow_uuid)
        if workflow is None:
            return  # pruned or reset meanwhile
        item = workflow.items[index]
        if not (workflow.status == "in_progress" and workflow.current == index and item.state == "sent"):
            return
        item.state = state
        item.ended_at = self.clock.now()
        if state in ("condition_met", "delivered"):
            self._finish(workflow, "completed")
        elif workflow.current + 1 < len(workflow.items):
            self._send(workflow, workflow.current + 1)
        else:
            self._finish(workflow, "error")

    def _finish(self, workflow: Workflow, status: str) -> None:
        workflow.status = status
        workflow.ended_at = self.clock.now()
        for item in workflow.items:
            if item.state == "pending":
                item.state = "skipped"
        self.store.save_workflow(workflow)
        self.bus.publish(EventType.WORKFLOW_FINISHED, workflow)
