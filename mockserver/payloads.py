"""The bodies the mock sends to webhooks, shaped as the real service's (see schemas/*-webhook.json).

Each API generation names its renderers in its registry entry (api/generations.py); nothing here asks which
generation a message came by.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .simulation.channels import CURRENCY, sms_parts
from .simulation.clock import iso
from .simulation.commands import address_of
from .simulation.models import Message, StatusEntry, Workflow
from .simulation.store import Store


@dataclass(frozen=True, slots=True)
class WebhookRenderers:
    """How one API generation shapes its webhooks; no `workflow_report`: it sends none."""

    status: Callable[[Message, StatusEntry], dict[str, Any]]
    inbound: Callable[[Message], dict[str, Any]]
    workflow_report: Callable[[Workflow, Store], dict[str, Any]] | None


def workflow_key(kind: str | None) -> str:
    return "dispatch_uuid" if kind == "dispatch" else "workflow_uuid"


def workflow_link(workflow_uuid: str, kind: str | None) -> dict[str, Any]:
    # The real service wrote /workflows/... even for Dispatch (reference §7).
    return {"workflow": {workflow_key(kind): workflow_uuid, "href": f"/workflows/{workflow_uuid}"}}


def beta_status(message: Message, entry: StatusEntry) -> dict[str, Any]:
    """The /beta and /v0.1 status webhook (schemas/status-webhook.json)."""
    record = message.record
    body: dict[str, Any] = {"message_uuid": message.message_uuid, "to": record["to"], "from": record["from"],
                            "timestamp": iso(entry.timestamp), "status": entry.status}
    if entry.error:
        body["error"] = entry.error
    if entry.usage:
        body["usage"] = entry.usage
    if "client_ref" in record:
        body["client_ref"] = record["client_ref"]
    if message.workflow_uuid:
        body["_links"] = workflow_link(message.workflow_uuid, message.workflow_kind)
    return body


# /v1 names the Viber channel differently; its webhook errors are problem objects under this type.
V1_CHANNEL_NAMES = {"viber_service_msg": "viber_service"}
V1_ERROR_TYPE = "https://developer.nexmo.com/api-errors/messages-olympus"


def v1_status(message: Message, entry: StatusEntry) -> dict[str, Any]:
    """The /v1 status webhook (schemas/v1/status-webhook.json): flat `to`/`from`, `channel`, problem-style error."""
    record = message.record
    body: dict[str, Any] = {"message_uuid": message.message_uuid, "to": address_of(record["to"]),
                            "from": address_of(record["from"]), "timestamp": iso(entry.timestamp),
                            "status": entry.status, "channel": V1_CHANNEL_NAMES.get(message.channel, message.channel)}
    if entry.usage:
        body["usage"] = entry.usage
    if "client_ref" in record:
        body["client_ref"] = record["client_ref"]
    extra = V1_CHANNEL_BLOCKS.get(message.channel)
    if extra is not None:
        extra(body, message, entry, record)
    if entry.error:
        code = entry.error["code"]
        # Stable per message and status: no randomness beyond the message's own uuid.
        instance = uuid.uuid5(uuid.NAMESPACE_URL, f"{message.message_uuid}/{entry.status}").hex
        body["error"] = {"type": f"{V1_ERROR_TYPE}#{code}", "title": code, "detail": entry.error["reason"],
                         "instance": instance}
    if message.workflow_uuid:
        body["workflow"] = {"workflow_id": message.workflow_uuid, "item_number": str(message.item_number),
                            "items_number": str(message.items_number)}
    return body


# Mobile network codes (MCC+MNC) by country calling code, for `destination.network_code` (unverified: the real
# service reports the recipient's actual network; these are each country's largest one).
NETWORK_CODES = (("44", "23410"), ("49", "26201"), ("33", "20801"), ("39", "22201"), ("34", "21407"), ("1", "310260"))
DEFAULT_NETWORK_CODE = "23410"


def network_code(number: str) -> str:
    return next((code for prefix, code in NETWORK_CODES if number.startswith(prefix)), DEFAULT_NETWORK_CODE)


def _sms_block(body: dict[str, Any], message: Message, entry: StatusEntry, record: dict[str, Any]) -> None:
    if entry.status in ("submitted", "delivered"):
        body["destination"] = {"network_code": network_code(message.recipient)}
        body["sms"] = {"count_total": str(sms_parts(record["message"]["content"].get("text") or ""))}


def whatsapp_category(record: dict[str, Any]) -> str:
    """The conversation category (unverified: a template is taken as `utility`, anything else was sent inside
    the customer-care window, so `service`)."""
    return "utility" if record["message"]["content"]["type"] == "template" else "service"


def _whatsapp_block(body: dict[str, Any], message: Message, entry: StatusEntry, record: dict[str, Any]) -> None:
    if entry.status not in ("submitted", "delivered"):
        return
    category = whatsapp_category(record)
    pair = f"{address_of(record['from'])}/{message.recipient}/{category}"
    body["whatsapp"] = {
        "conversation": {"id": uuid.uuid5(uuid.NAMESPACE_URL, pair).hex, "origin": {"type": category}},
        "pricing": {"type": "regular", "pricing_model": "CBP", "category": category},
    }


V1_CHANNEL_BLOCKS: dict[str, Callable[[dict[str, Any], Message, StatusEntry, dict[str, Any]], None]] = {
    "sms": _sms_block, "whatsapp": _whatsapp_block}


def beta_inbound(message: Message) -> dict[str, Any]:
    record = message.record
    return {"message_uuid": message.message_uuid, "to": record["to"], "from": record["from"],
            "timestamp": iso(message.created_at), "message": {"content": record["message"]["content"]}}


def v1_inbound(message: Message) -> dict[str, Any]:
    """The /v1 inbound webhook of the message's channel (schemas/v1/inbound-webhook.json): flat addresses,
    `message_type` and its field; a reply's `context`, WhatsApp's `profile`, SMS's `sms` as the channel has them."""
    record = message.record
    content = record["message"]["content"]
    kind = content["type"]
    body: dict[str, Any] = {"channel": V1_CHANNEL_NAMES.get(message.channel, message.channel),
                            "message_uuid": message.message_uuid, "to": address_of(record["to"]),
                            "from": address_of(record["from"]), "timestamp": iso(message.created_at),
                            "message_type": kind, kind: content[kind]}
    for key in ("context", "profile", "sms"):
        if key in record["message"]:
            body[key] = record["message"][key]
    return body


def message_usage(message: Message) -> dict[str, str] | None:
    for entry in message.history:
        if entry.usage:
            return entry.usage
    return None


def beta_workflow_report(workflow: Workflow, store: Store) -> dict[str, Any]:
    """The final report sent when a workflow ends (reference §7)."""
    links = []
    total = Decimal(0)
    for item in workflow.items:
        message = store.get_message(item.message_uuid) if item.message_uuid else None
        if message is None:
            continue
        link: dict[str, Any] = {"message_uuid": message.message_uuid,
                                "href": f"/messages/{message.message_uuid}",
                                "channel": message.channel, "status": message.status}
        usage = message_usage(message)
        if usage:
            link["usage"] = usage
            total += Decimal(usage["price"])
        links.append(link)
    return {workflow_key(workflow.kind): workflow.workflow_uuid, "template": workflow.template,
            "status": workflow.status, "timestamp": iso(workflow.ended_at or workflow.created_at),
            "usage": {"price": str(total), "currency": CURRENCY}, "_links": {"messages": links}}


BETA_WEBHOOKS = WebhookRenderers(status=beta_status, inbound=beta_inbound, workflow_report=beta_workflow_report)
V1_WEBHOOKS = WebhookRenderers(status=v1_status, inbound=v1_inbound, workflow_report=None)  # v1: no report
