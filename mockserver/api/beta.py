"""/beta and /v0.1: the 2018 request shapes as commands, and their dialect (400 Invalid Parameters)."""

from __future__ import annotations

from typing import Any

from ..backend import Backend
from ..simulation.commands import Failover, SendMessage, StartWorkflow, address_of
from .errors import invalid_parameters
from .parsing import read_json
from .registry import Dialect

DIALECT = Dialect(read=read_json, invalid=invalid_parameters,
                  error_statuses=(400, 401, 402, 403, 404, 408, 413, 415, 429, 500, 503))


def message_command(body: dict[str, Any], generation: str) -> SendMessage:
    to = body["to"]
    # Positional, in the order of SendMessage's fields: keywords cost twice as much, once per message.
    return SendMessage(to["type"], to, body["from"], body["message"], generation, body.get("client_ref"))


def workflow_command(body: dict[str, Any], kind: str, generation: str) -> StartWorkflow:
    steps = tuple((message_command(item, generation), _failover(item.get("failover"))) for item in body["workflow"])
    return StartWorkflow(kind, body["template"], steps, generation)


def _failover(given: dict[str, Any] | None) -> Failover | None:
    return Failover(given["condition_status"], given.get("expiry_time")) if given else None


def message_recipient(body: dict[str, Any]) -> tuple[str, str, str]:
    to = body["to"]
    return to["type"], to["type"], address_of(to)


def workflow_recipient(body: dict[str, Any]) -> tuple[str, str, str]:
    """The first item's: the only one sent at once."""
    return message_recipient(body["workflow"][0])


def send_message(backend: Backend, body: dict[str, Any], generation: str) -> dict[str, str]:
    return {"message_uuid": backend.send_message(message_command(body, generation)).message_uuid}


def start_workflow(backend: Backend, body: dict[str, Any], generation: str) -> dict[str, str]:
    return {"workflow_uuid": backend.start_workflow(workflow_command(body, "workflow", generation)).workflow_uuid}


def start_dispatch(backend: Backend, body: dict[str, Any], generation: str) -> dict[str, str]:
    return {"dispatch_uuid": backend.start_workflow(workflow_command(body, "dispatch", generation)).workflow_uuid}
