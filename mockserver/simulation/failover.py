"""Failover workflows: send item 1, watch it on the clock, move to the next item when it fails or expires."""

from __future__ import annotations

from typing import Any

from ..ids import new_uuid
from ..store import MemoryStore
from .clock import PRIORITY_EXPIRY, Clock, Timer
from .engine import Engine
from .events import Event, EventBus
from .models import FAILED_STATUSES, Workflow, WorkflowItem

# A status that satisfies each condition ("read" implies it was delivered).
SATISFIES = {"delivered": frozenset({"delivered", "read"}), "read": frozenset({"read"})}
DELIVERED = SATISFIES["delivered"]


class FailoverRunner:
    def __init__(self, clock: Clock, store: MemoryStore, bus: EventBus, engine: Engine) -> None:
        self.clock = clock
        self.store = store
        self.bus = bus
        self.engine = engine
        self._expiries: dict[str, Timer] = {}
        bus.subscribe(self._on_event, ("message.status",))

    def reset(self) -> None:
        self._expiries.clear()

    def start(self, request: dict[str, Any], kind: str, api: str) -> Workflow:
        items = [WorkflowItem(index=i, channel=item["to"]["type"], request=item, failover=item.get("failover"))
                 for i, item in enumerate(request["workflow"])]
        workflow = Workflow(workflow_uuid=new_uuid(), kind=kind, template=request["template"],
                            items=items, created_at=self.clock.now(), api=api)
        self.store.add_workflow(workflow)
        self.bus.publish(Event("workflow.accepted", workflow))
        self._send(workflow, 0)
        return workflow

    def resume(self, workflow: Workflow) -> None:
        """Re-arm a restored workflow's expiry: `expiry_time` after its current item was sent."""
        if workflow.status == "in_progress" and workflow.items[workflow.current].state == "sent":
            self._arm_expiry(workflow, workflow.current)

    def _arm_expiry(self, workflow: Workflow, index: int) -> None:
        """`expiry_time` after the item was sent, if it has one (/v1 failover has no expiry)."""
        item = workflow.items[index]
        if item.failover and "expiry_time" in item.failover:
            self._expiries[workflow.workflow_uuid] = self.clock.call_at(
                item.sent_at + item.failover["expiry_time"], self._expire, workflow, index, priority=PRIORITY_EXPIRY)

    def _send(self, workflow: Workflow, index: int) -> None:
        workflow.current = index
        item = workflow.items[index]
        request = {key: value for key, value in item.request.items() if key != "failover"}
        message = self.engine.send(request, api=workflow.api, workflow_uuid=workflow.workflow_uuid,
                                   workflow_kind=workflow.kind)
        item.message_uuid = message.message_uuid
        item.sent_at = message.created_at
        item.state = "sent"
        self._arm_expiry(workflow, index)
        self.bus.publish(Event("workflow.updated", workflow))

    def _on_event(self, event: Event) -> None:
        if event.type != "message.status" or event.subject.workflow_uuid is None:
            return
        workflow = self.store.get_workflow(event.subject.workflow_uuid)
        if workflow is None or workflow.status != "in_progress":
            return
        item = workflow.items[workflow.current]
        if item.message_uuid != event.subject.message_uuid:
            return  # a late status of an earlier item: reported, but it changes nothing
        status = event.detail.status
        needed = SATISFIES[item.failover["condition_status"]] if item.failover else DELIVERED
        if status in needed:
            self._close_item(workflow, item, "condition_met" if item.failover else "delivered")
            self._finish(workflow, "completed")
        elif status in FAILED_STATUSES:
            self._close_item(workflow, item, "failed")
            self._next_or_finish(workflow)

    def _expire(self, workflow: Workflow, index: int) -> None:
        item = workflow.items[index]
        if workflow.status == "in_progress" and workflow.current == index and item.state == "sent":
            self._close_item(workflow, item, "expired")
            self._next_or_finish(workflow)

    def _close_item(self, workflow: Workflow, item: WorkflowItem, state: str) -> None:
        item.state = state
        item.ended_at = self.clock.now()
        timer = self._expiries.pop(workflow.workflow_uuid, None)
        if timer:
            timer.cancel()

    def _next_or_finish(self, workflow: Workflow) -> None:
        if workflow.current + 1 < len(workflow.items):
            self._send(workflow, workflow.current + 1)
        else:
            self._finish(workflow, "error")

    def _finish(self, workflow: Workflow, status: str) -> None:
        workflow.status = status
        workflow.ended_at = self.clock.now()
        for item in workflow.items:
            if item.state == "pending":
                item.state = "skipped"
        self.bus.publish(Event("workflow.finished", workflow))
