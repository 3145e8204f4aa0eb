"""mockserver.contract against tables of valid and invalid instances of every schema."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any, NamedTuple

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from mockserver.contract import Contract, InvalidParameter

DROP = object()
UUID = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"
UUID2 = "bbbbbbbb-bbbb-cccc-dddd-0123456789ab"
TIMESTAMP = "2020-01-01T14:00:00.000Z"


def patch(base: Any, **changes: Any) -> Any:
    """A deep copy of `base` with dotted paths (written with __) set, or removed when the value is DROP."""
    result = copy.deepcopy(base)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = result
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
        if value is DROP:
            del node[last]
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return result


SMS = {
    "to": {"type": "sms", "number": "447700900000"},
    "from": {"type": "sms", "number": "447700900001"},
    "message": {"content": {"type": "text", "text": "Hello"}},
}
MESSENGER = {
    "to": {"type": "messenger", "id": "0123456789012345"},
    "from": {"type": "messenger", "id": "543210987654321"},
    "message": {"content": {"type": "text", "text": "Hello"}},
}
VIBER = {
    "to": {"type": "viber_service_msg", "number": "447700900000"},
    "from": {"type": "viber_service_msg", "id": "nexmo-viber-id"},
    "message": {"content": {"type": "text", "text": "Hello"}},
}
URL = "https://example.com/cat.jpg"
IMAGE = {"type": "image", "image": {"url": URL}}
FAILOVER = {"expiry_time": 600, "condition_status": "read"}
SMS_FAILOVER = {"expiry_time": 600, "condition_status": "delivered"}

# Reference section 3: the message object with both channel blocks.
REFERENCE_MESSAGE_OBJECT = {
    "content": {"type": "text", "text": "Hello"},
    "messenger": {"category": "message_tag", "tag": "ticket_update"},
    "viber_service_msg": {"category": "transaction", "ttl": 600},
}
# Reference section 4.
REFERENCE_WORKFLOW = {
    "template": "failover",
    "workflow": [
        {
            "from": {"type": "messenger", "id": "PAGE_ID"},
            "to": {"type": "messenger", "id": "PSID"},
            "message": {"content": {"type": "text", "text": "Hi"}},
            "failover": {"expiry_time": 600, "condition_status": "read"},
        },
        {
            "from": {"type": "sms", "number": "447700900001"},
            "to": {"type": "sms", "number": "447700900000"},
            "message": {"content": {"type": "text", "text": "Hi by SMS"}},
        },
    ],
}
# Reference section 6.
REFERENCE_STATUS = {
    "message_uuid": UUID,
    "to": {"type": "messenger", "id": "0123456789012345"},
    "from": {"type": "messenger", "id": "0123456789012345"},
    "timestamp": TIMESTAMP,
    "status": "delivered",
    "usage": {"currency": "EUR", "price": "0.0333"},
}
REFERENCE_INBOUND = {
    "message_uuid": UUID,
    "to": {"type": "messenger", "id": "0000000000000000"},
    "from": {"type": "messenger", "id": "1111111111111111"},
    "timestamp": TIMESTAMP,
    "message": {"content": {"type": "text", "text": "Hello from Facebook Messenger!"}},
}
LOCATION = {
    "type": "location",
    "location": {"lat": "51.5228349", "long": "-0.0854414", "url": "https://maps.example.com/?q=51.52,-0.08"},
}
# Reference section 7 (with real UUIDs and an href in place of the placeholders).
REFERENCE_REPORT = {
    "workflow_uuid": UUID,
    "template": "failover",
    "status": "completed",
    "timestamp": TIMESTAMP,
    "usage": {"price": "0.02", "currency": "EUR"},
    "_links": {
        "messages": [
            {
                "message_uuid": UUID2,
                "href": f"/messages/{UUID2}",
                "channel": "viber_service_msg",
                "usage": {"currency": "EUR", "price": "0.0333"},
                "status": "delivered",
            }
        ]
    },
}


def workflow(*items: dict[str, Any]) -> dict[str, Any]:
    return {"template": "failover", "workflow": list(items)}


def item(message: dict[str, Any], failover: dict[str, Any] | None = None) -> dict[str, Any]:
    return message if failover is None else {**message, "failover": failover}


class Case(NamedTuple):
    id: str
    schema: str
    instance: Any
    names: set[str]  # the exact set of offending names; empty when valid
    reasons: dict[str, str] | None = None  # name -> reason, for the cases where the wording matters


def valid(id: str, schema: str, instance: Any) -> Case:
    return Case(id, schema, instance, set())


# fmt: off
MESSAGE_CASES = [
    valid("sms text", "message", SMS),
    valid("messenger text", "message", MESSENGER),
    valid("viber text", "message", VIBER),
    valid("viber to by id, as the Node README does", "message", patch(VIBER, to__number=DROP, to__id="abc")),
    valid("viber image", "message", patch(VIBER, message__content=IMAGE)),
    *(
        valid(f"messenger {kind}", "message", patch(MESSENGER, message__content={"type": kind, kind: {"url": URL}}))
        for kind in ("image", "audio", "video", "file")
    ),
    valid("messenger text of 640", "message", patch(MESSENGER, message__content__text="x" * 640)),
    valid("sms text of 1000", "message", patch(SMS, message__content__text="é" * 1000)),
    valid("viber text of 1000", "message", patch(VIBER, message__content__text="x" * 1000)),
    valid("url of 2000", "message", patch(MESSENGER, message__content={"type": "file", "file": {
        "url": "https://example.com/" + "u" * 1980}})),
    valid("id of 50 and a number of 15 digits", "message", patch(VIBER, to__number="1" * 15, from__id="i" * 50)),
    valid("client_ref of 40", "message", patch(SMS, client_ref="r" * 40)),
    valid("reference message object", "message", patch(MESSENGER, message=REFERENCE_MESSAGE_OBJECT)),
    valid("both blocks on sms", "message", patch(SMS, message=REFERENCE_MESSAGE_OBJECT)),
    valid("messenger response", "message", patch(MESSENGER, message__messenger={"category": "response"})),
    valid("messenger update", "message", patch(MESSENGER, message__messenger={"category": "update"})),
    valid("messenger empty block", "message", patch(MESSENGER, message__messenger={})),
    valid("viber ttl 30", "message", patch(VIBER, message__viber_service_msg={"category": "promotion", "ttl": 30})),
    valid("viber ttl 86400", "message", patch(VIBER, message__viber_service_msg={"ttl": 86400})),
    Case("empty object", "message", {}, {"to", "from", "message"}, {"to": "is required"}),
    Case("array body", "message", [SMS], {""}, {"": "must be an object"}),
    Case("string body", "message", "hello", {""}),
    Case("null body", "message", None, {""}),
    Case("number body", "message", 5, {""}),
    Case("unknown top-level", "message", patch(SMS, foo=1), {"foo"}, {"foo": "is not allowed"}),
    Case("to not an object", "message", patch(SMS, to="447700900000"), {"to"}, {"to": "must be an object"}),
    Case("to.type missing", "message", patch(SMS, to__type=DROP), {"to.type"}),
    Case(
        "unknown channel",
        "message",
        patch(SMS, to__type="telegram"),
        {"to.type"},
        {"to.type": "must be one of: sms, messenger, viber_service_msg, whatsapp, mms"},
    ),
    Case("typo channel from the curl snippet", "message", patch(VIBER, to__type="viber_service_message"), {"to.type"}),
    Case(
        "sms to by id",
        "message",
        patch(SMS, to__number=DROP, to__id="x"),
        {"to.id", "to.number"},
        {"to.id": "is not allowed for sms; use number", "to.number": "is required"},
    ),
    Case("sms from without number", "message", patch(SMS, from__number=DROP), {"from.number"}),
    Case("messenger to by number", "message", patch(MESSENGER, to__id=DROP, to__number="1"), {"to.id", "to.number"}),
    Case("messenger from by number", "message", patch(MESSENGER, from__number="1"), {"from.number"}),
    Case("viber from by number", "message", patch(VIBER, from__id=DROP, from__number="1"), {"from.id", "from.number"}),
    Case(
        "viber to with both",
        "message",
        patch(VIBER, to__id="x"),
        {"to.number"},
        {"to.number": "is not allowed together with id"},
    ),
    Case("viber to with neither", "message", patch(VIBER, to__number=DROP), {"to.number"}),
    Case("id of 51", "message", patch(MESSENGER, to__id="i" * 51), {"to.id"},
         {"to.id": "must be at most 50 characters"}),
    Case("empty number", "message", patch(SMS, to__number=""), {"to.number"}, {"to.number": "must not be empty"}),
    Case("number not a string", "message", patch(SMS, to__number=447700900000), {"to.number"}),
    Case("unknown address field", "message", patch(MESSENGER, to__name={"first_name": "A"}), {"to.name"}),
    Case(
        "from.type differs",
        "message",
        patch(SMS, **{"from": MESSENGER["from"]}),
        {"from.type"},
        {"from.type": "must be the same as to.type (sms)"},
    ),
    Case("from.type differs on viber", "message", patch(VIBER, **{"from": SMS["from"]}), {"from.type"}),
    Case("message without content", "message", patch(SMS, message={}), {"message.content"}),
    Case("message not an object", "message", patch(SMS, message="Hello"), {"message"}),
    Case("unknown message field", "message", patch(SMS, message__foo=1), {"message.foo"}),
    Case("content without type", "message", patch(SMS, message__content__type=DROP), {"message.content.type"}),
    Case(
        "outbound location",
        "message",
        patch(MESSENGER, message__content=LOCATION),
        {"message.content.type", "message.content.location"},
        {"message.content.type": "must be one of: text, image, audio, video, file, template"},
    ),
    Case(
        "custom content",
        "message",
        patch(MESSENGER, message__content={"type": "custom"}),
        {"message.content.type"},
        {"message.content.type": "custom is not supported by the mock (the beta listed it as highly experimental, "
         "without a schema)"},
    ),
    Case("text missing", "message", patch(SMS, message__content__text=DROP), {"message.content.text"}),
    Case("empty text", "message", patch(SMS, message__content__text=""), {"message.content.text"}),
    Case("text not a string", "message", patch(SMS, message__content__text=["a"]), {"message.content.text"}),
    Case(
        "sms text of 1001",
        "message",
        patch(SMS, message__content__text="x" * 1001),
        {"message.content.text"},
        {"message.content.text": "must be at most 1000 characters"},
    ),
    Case("viber text of 1001", "message", patch(VIBER, message__content__text="x" * 1001), {"message.content.text"}),
    Case(
        "messenger text of 641",
        "message",
        patch(MESSENGER, message__content__text="x" * 641),
        {"message.content.text"},
        {"message.content.text": "must be at most 640 characters for messenger"},
    ),
    Case(
        "sms image",
        "message",
        patch(SMS, message__content=IMAGE),
        {"message.content.type"},
        {"message.content.type": "must be text for sms"},
    ),
    Case(
        "viber audio",
        "message",
        patch(VIBER, message__content={"type": "audio", "audio": {"url": URL}}),
        {"message.content.type"},
        {"message.content.type": "must be text or image for viber_service_msg"},
    ),
    Case("image without url", "message", patch(MESSENGER, message__content__type="image", message__content__text=DROP,
                                                message__content__image={}), {"message.content.image.url"}),
    Case("image without its field", "message", patch(MESSENGER, message__content={"type": "image"}),
         {"message.content.image"}),
    Case("url of 2001", "message", patch(MESSENGER, message__content=patch(IMAGE, image__url=URL + "u" * 2001)),
         {"message.content.image.url"}),
    Case("empty url", "message", patch(MESSENGER, message__content=patch(IMAGE, image__url="")),
         {"message.content.image.url"}),
    Case("unknown media field", "message", patch(MESSENGER, message__content=patch(IMAGE, image__caption="c")),
         {"message.content.image.caption"}),
    Case(
        "image with text",
        "message",
        patch(MESSENGER, message__content=patch(IMAGE, text="caption")),
        {"message.content.text"},
        {"message.content.text": "does not match content.type"},
    ),
    Case("text with video", "message", patch(MESSENGER, message__content__video={"url": URL}),
         {"message.content.video"}),
    Case(
        "bad messenger category",
        "message",
        patch(MESSENGER, message__messenger={"category": "promo"}),
        {"message.messenger.category"},
        {"message.messenger.category": "must be one of: response, update, message_tag"},
    ),
    Case(
        "message_tag without tag",
        "message",
        patch(MESSENGER, message__messenger={"category": "message_tag"}),
        {"message.messenger.tag"},
        {"message.messenger.tag": "is required when category is message_tag"},
    ),
    Case("tag not a string", "message", patch(MESSENGER, message__messenger={"category": "message_tag", "tag": 1}),
         {"message.messenger.tag"}),
    Case("unknown messenger option", "message", patch(MESSENGER, message__messenger__ttl=60),
         {"message.messenger.ttl"}),
    Case("bad viber category", "message", patch(VIBER, message__viber_service_msg={"category": "update"}),
         {"message.viber_service_msg.category"}),
    Case(
        "viber ttl 29",
        "message",
        patch(VIBER, message__viber_service_msg={"ttl": 29}),
        {"message.viber_service_msg.ttl"},
        {"message.viber_service_msg.ttl": "must be at least 30"},
    ),
    Case(
        "viber ttl 86401",
        "message",
        patch(VIBER, message__viber_service_msg={"ttl": 86401}),
        {"message.viber_service_msg.ttl"},
        {"message.viber_service_msg.ttl": "must be at most 86400"},
    ),
    Case(
        "viber ttl as a string",
        "message",
        patch(VIBER, message__viber_service_msg={"ttl": "600"}),
        {"message.viber_service_msg.ttl"},
        {"message.viber_service_msg.ttl": "must be an integer"},
    ),
    Case("viber ttl fractional", "message", patch(VIBER, message__viber_service_msg={"ttl": 600.5}),
         {"message.viber_service_msg.ttl"}),
    Case("viber block not an object", "message", patch(VIBER, message__viber_service_msg="transaction"),
         {"message.viber_service_msg"}),
    Case("client_ref of 41", "message", patch(SMS, client_ref="r" * 41), {"client_ref"},
         {"client_ref": "must be at most 40 characters"}),
    Case("empty client_ref", "message", patch(SMS, client_ref=""), {"client_ref"}),
    Case("client_ref not a string", "message", patch(SMS, client_ref=7), {"client_ref"}),
    Case(
        "everything wrong at once",
        "message",
        {"to": {"type": "sms", "id": "x"}, "from": {"type": "messenger", "id": "y"}, "message": {
            "content": {"type": "image", "text": "Hello"}, "messenger": {"category": "message_tag"}}, "foo": 1},
        {"foo", "from.type", "message.content.image", "message.content.text", "message.content.type",
         "message.messenger.tag", "to.id", "to.number"},
    ),
]

WORKFLOW_CASES = [
    valid("reference workflow", "workflow", REFERENCE_WORKFLOW),
    valid("three channels", "workflow", workflow(item(MESSENGER, FAILOVER), item(VIBER, FAILOVER), SMS)),
    valid("sms fails over on delivered", "workflow", workflow(item(SMS, SMS_FAILOVER), MESSENGER)),
    valid("expiry 15", "workflow", workflow(item(MESSENGER, patch(FAILOVER, expiry_time=15)), SMS)),
    valid("expiry 86400", "workflow", workflow(item(MESSENGER, patch(FAILOVER, expiry_time=86400)), SMS)),
    valid("items with client_ref", "workflow", workflow(item(patch(SMS, client_ref="a"), SMS_FAILOVER), SMS)),
    Case("empty object", "workflow", {}, {"template", "workflow"}),
    Case("array body", "workflow", [], {""}),
    Case("template missing", "workflow", patch(REFERENCE_WORKFLOW, template=DROP), {"template"}),
    Case("other template", "workflow", patch(REFERENCE_WORKFLOW, template="broadcast"), {"template"},
         {"template": "must be 'failover'"}),
    Case("unknown top-level", "workflow", patch(REFERENCE_WORKFLOW, name="x"), {"name"}),
    Case("workflow not an array", "workflow", patch(REFERENCE_WORKFLOW, workflow=SMS), {"workflow"},
         {"workflow": "must be an array"}),
    Case("empty workflow", "workflow", workflow(), {"workflow"}, {"workflow": "must have at least 2 items"}),
    Case("one item without failover", "workflow", workflow(SMS), {"workflow"}),
    Case("one item with failover", "workflow", workflow(item(SMS, SMS_FAILOVER)), {"workflow", "workflow.0.failover"}),
    Case(
        "first item without failover",
        "workflow",
        workflow(MESSENGER, SMS),
        {"workflow.0.failover"},
        {"workflow.0.failover": "is required on every item but the last"},
    ),
    Case(
        "last item with failover",
        "workflow",
        workflow(item(MESSENGER, FAILOVER), item(SMS, SMS_FAILOVER)),
        {"workflow.1.failover"},
        {"workflow.1.failover": "is not allowed on the last item (it has nothing to fail over to)"},
    ),
    Case("middle item without failover", "workflow", workflow(item(MESSENGER, FAILOVER), VIBER, SMS),
         {"workflow.1.failover"}),
    Case(
        "trailing null from the Node quickstart",
        "workflow",
        patch(REFERENCE_WORKFLOW, workflow=[*REFERENCE_WORKFLOW["workflow"], None]),
        {"workflow.1.failover", "workflow.2"},
    ),
    Case(
        "sms fails over on read",
        "workflow",
        workflow(item(SMS, FAILOVER), MESSENGER),
        {"workflow.0.failover.condition_status"},
        {"workflow.0.failover.condition_status": "must be delivered for sms (SMS has no read receipts)"},
    ),
    Case("expiry 14", "workflow", workflow(item(MESSENGER, patch(FAILOVER, expiry_time=14)), SMS),
         {"workflow.0.failover.expiry_time"}, {"workflow.0.failover.expiry_time": "must be at least 15"}),
    Case("expiry 86401", "workflow", workflow(item(MESSENGER, patch(FAILOVER, expiry_time=86401)), SMS),
         {"workflow.0.failover.expiry_time"}),
    Case("expiry as a string", "workflow", workflow(item(MESSENGER, patch(FAILOVER, expiry_time="600")), SMS),
         {"workflow.0.failover.expiry_time"}),
    Case("condition submitted", "workflow",
         workflow(item(MESSENGER, patch(FAILOVER, condition_status="submitted")), SMS),
         {"workflow.0.failover.condition_status"},
         {"workflow.0.failover.condition_status": "must be one of: delivered, read"}),
    Case("failover without its fields", "workflow", workflow(item(MESSENGER, {}), SMS),
         {"workflow.0.failover.expiry_time", "workflow.0.failover.condition_status"}),
    Case("unknown failover field", "workflow", workflow(item(MESSENGER, patch(FAILOVER, retries=2)), SMS),
         {"workflow.0.failover.retries"}),
    Case("unknown item field", "workflow", workflow(item(MESSENGER, FAILOVER), patch(SMS, foo=1)),
         {"workflow.1.foo"}),
    Case("item rules are message rules", "workflow",
         workflow(item(patch(MESSENGER, message__content__text="x" * 641), FAILOVER), patch(SMS, to__id="x")),
         {"workflow.0.message.content.text", "workflow.1.to.id"}),
]

STATUS_CASES = [
    valid("reference status", "status-webhook", REFERENCE_STATUS),
    valid("submitted, no usage", "status-webhook", patch(REFERENCE_STATUS, status="submitted", usage=DROP)),
    valid("read on messenger", "status-webhook", patch(REFERENCE_STATUS, status="read")),
    valid("sms delivered", "status-webhook", patch(REFERENCE_STATUS, to=SMS["to"], **{"from": SMS["from"]})),
    valid("rejected with the spec's error", "status-webhook",
          patch(REFERENCE_STATUS, status="rejected",
                error={"code": 1300, "reason": "Not part of the provider network"})),
    valid("client_ref", "status-webhook", patch(REFERENCE_STATUS, client_ref="my-ref")),
    valid("workflow link", "status-webhook",
          patch(REFERENCE_STATUS, _links={"workflow": {"workflow_uuid": UUID2, "href": f"/workflows/{UUID2}"}})),
    valid("dispatch link", "status-webhook",
          patch(REFERENCE_STATUS, _links={"workflow": {"dispatch_uuid": UUID2, "href": f"/workflows/{UUID2}"}})),
    Case("empty", "status-webhook", {}, {"message_uuid", "to", "from", "timestamp", "status"}),
    Case("unknown status", "status-webhook", patch(REFERENCE_STATUS, status="failed"), {"status"}),
    Case("uppercase uuid", "status-webhook", patch(REFERENCE_STATUS, message_uuid=UUID.upper()), {"message_uuid"}),
    Case("timestamp without milliseconds", "status-webhook", patch(REFERENCE_STATUS, timestamp="2020-01-01T14:00:00Z"),
         {"timestamp"}),
    Case("timestamp with an offset", "status-webhook",
         patch(REFERENCE_STATUS, timestamp="2020-01-01T14:00:00.000+00:00"), {"timestamp"}),
    Case("error on delivered", "status-webhook", patch(REFERENCE_STATUS, error={"code": 1300, "reason": "x"}),
         {"error"}, {"error": "is only sent with status rejected or undeliverable"}),
    Case("undeliverable without error", "status-webhook", patch(REFERENCE_STATUS, status="undeliverable"),
         {"error"}, {"error": "is required when status is rejected or undeliverable"}),
    Case("unknown error code", "status-webhook",
         patch(REFERENCE_STATUS, status="rejected", error={"code": 999, "reason": "x"}), {"error.code"}),
    Case("error without reason", "status-webhook", patch(REFERENCE_STATUS, status="rejected", error={"code": 1300}),
         {"error.reason"}),
    Case("read on sms", "status-webhook",
         patch(REFERENCE_STATUS, status="read", to=SMS["to"], **{"from": SMS["from"]}), {"to.type"}),
    Case("usd", "status-webhook", patch(REFERENCE_STATUS, usage__currency="USD"), {"usage.currency"},
         {"usage.currency": "must be 'EUR'"}),
    Case("numeric price", "status-webhook", patch(REFERENCE_STATUS, usage__price=0.0333), {"usage.price"}),
    Case("both workflow uuids", "status-webhook", patch(REFERENCE_STATUS, _links={"workflow": {
        "workflow_uuid": UUID2, "dispatch_uuid": UUID2, "href": f"/workflows/{UUID2}"}}), {"_links.workflow"}),
    Case("no workflow uuid", "status-webhook", patch(REFERENCE_STATUS, _links={"workflow": {"href": "/workflows/x"}}),
         {"_links.workflow"}, {"_links.workflow": "must have workflow_uuid or dispatch_uuid"}),
]

INBOUND_CASES = [
    valid("reference inbound", "inbound-webhook", REFERENCE_INBOUND),
    valid("image", "inbound-webhook", patch(REFERENCE_INBOUND, message__content=IMAGE)),
    valid("location", "inbound-webhook", patch(REFERENCE_INBOUND, message__content=LOCATION)),
    valid("v0.1 location", "inbound-webhook",
          patch(REFERENCE_INBOUND,
                message__content=patch(LOCATION, location__name="Office", location__address="1 St"))),
    valid("sms inbound (v0.1, 2021)", "inbound-webhook", patch(REFERENCE_INBOUND, to=SMS["to"])),
    Case("unknown channel inbound", "inbound-webhook", patch(REFERENCE_INBOUND, to={"type": "telegram", "number": "1"}),
         {"to.type"}),
    Case("missing message", "inbound-webhook", patch(REFERENCE_INBOUND, message=DROP), {"message"}),
    Case("numeric latitude", "inbound-webhook",
         patch(REFERENCE_INBOUND, message__content=patch(LOCATION, location__lat=51.52)),
         {"message.content.location.lat"}),
    Case("lat and lng", "inbound-webhook",
         patch(REFERENCE_INBOUND, message__content=patch(LOCATION, location__long=DROP, location__lng="1")),
         {"message.content.location.long", "message.content.location.lng"}),
    Case("image with text", "inbound-webhook", patch(REFERENCE_INBOUND, message__content=patch(IMAGE, text="x")),
         {"message.content"}, {"message.content": "must carry only the field named by its type"}),
    Case("text type with an image", "inbound-webhook",
         patch(REFERENCE_INBOUND, message__content={"type": "text", "image": {"url": "https://e.com/a.png"}}),
         {"message.content.text"}),
]

REPORT_CASES = [
    valid("reference report", "workflow-report", REFERENCE_REPORT),
    valid("dispatch report", "workflow-report", patch(REFERENCE_REPORT, workflow_uuid=DROP, dispatch_uuid=UUID)),
    valid("error report without usage", "workflow-report", patch(REFERENCE_REPORT, status="error", usage=DROP)),
    Case("both uuids", "workflow-report", patch(REFERENCE_REPORT, dispatch_uuid=UUID), {"dispatch_uuid"}),
    Case("no uuid", "workflow-report", patch(REFERENCE_REPORT, workflow_uuid=DROP), {"workflow_uuid"}),
    Case("failed status", "workflow-report", patch(REFERENCE_REPORT, status="failed"), {"status"},
         {"status": "must be one of: completed, error"}),
    Case("the spec's misspelt channel", "workflow-report",
         patch(REFERENCE_REPORT, _links__messages__0__channel="viber_sevice_msg"), {"_links.messages.0.channel"}),
    Case("no messages", "workflow-report", patch(REFERENCE_REPORT, _links__messages=[]), {"_links.messages"}),
    Case("message link without status", "workflow-report", patch(REFERENCE_REPORT, _links__messages__0__status=DROP),
         {"_links.messages.0.status"}),
]

INJECT_CASES = [
    valid("nothing given", "control/inbound-request", {}),
    valid("text", "control/inbound-request", {"from": {"type": "messenger", "id": "123"}, "to": {"id": "456"},
                                               "content": {"type": "text", "text": "hi"}}),
    valid("image without type", "control/inbound-request", {"content": {"image": {"url": "https://e.com/a.png"}}}),
    valid("type only", "control/inbound-request", {"content": {"type": "video"}}),
    valid("location", "control/inbound-request", {"content": LOCATION}),
    valid("location at the edges", "control/inbound-request",
          {"content": {"location": {"lat": "-90", "long": "180.0"}}}),
    Case("sms image", "control/inbound-request", {"channel": "sms", "content": {"type": "image"}}, {"content.type"},
         {"content.type": "must be one of text for sms"}),
    Case("unknown field", "control/inbound-request", {"text": "hi"}, {"text"}),
    Case("type and another field", "control/inbound-request",
         {"content": {"type": "text", "image": {"url": "https://e.com/a.png"}}}, {"content.image"}),
    Case("two fields without type", "control/inbound-request", {"content": {"text": "a", "image": {}}}, {"content"}),
    Case("unknown content type", "control/inbound-request", {"content": {"type": "sticker"}}, {"content.type"}),
    Case("latitude 91", "control/inbound-request", {"content": {"location": {"lat": "91", "long": "0"}}},
         {"content.location.lat"}),
    Case("longitude 180.5", "control/inbound-request", {"content": {"location": {"lat": "0", "long": "180.5"}}},
         {"content.location.long"}),
    Case("location without long", "control/inbound-request", {"content": {"location": {"lat": "0"}}},
         {"content.location.long"}),
    Case("ftp url", "control/inbound-request", {"content": {"file": {"url": "ftp://e.com/a.zip"}}},
         {"content.file.url"}, {"content.file.url": "must be an http or https URL"}),
    Case("text of 2001", "control/inbound-request", {"content": {"text": "x" * 2001}}, {"content.text"}),
]

RULE_CASES = [
    valid("outcome only", "control/rule", {"outcome": "delivered"}),
    valid("full rule", "control/rule", {"id": "absent-1", "match": {"channel": "sms", "to": "447700900901",
          "to_pattern": "^4477", "text_contains": "hi"}, "outcome": "undeliverable", "error_code": 1180}),
    valid("rejected", "control/rule", {"outcome": "rejected", "error_code": 1370}),
    valid("slow", "control/rule", {"outcome": "slow", "delay_factor": 0.5, "description": "half the delays"}),
    *(valid(outcome, "control/rule", {"outcome": outcome}) for outcome in ("read", "stuck_submitted", "never_read")),
    Case("no outcome", "control/rule", {"match": {"channel": "sms"}}, {"outcome"}),
    Case("unknown outcome", "control/rule", {"outcome": "lost"}, {"outcome"}),
    Case("rejected without code", "control/rule", {"outcome": "rejected"}, {"error_code"},
         {"error_code": "is required when outcome is rejected or undeliverable"}),
    Case("undeliverable without code", "control/rule", {"outcome": "undeliverable"}, {"error_code"}),
    Case("code on delivered", "control/rule", {"outcome": "delivered", "error_code": 1000}, {"error_code"}),
    Case("unknown code", "control/rule", {"outcome": "rejected", "error_code": 1001}, {"error_code"}),
    Case("delay factor 0", "control/rule", {"outcome": "slow", "delay_factor": 0}, {"delay_factor"},
         {"delay_factor": "must be greater than 0"}),
    Case("unknown match channel", "control/rule", {"outcome": "read", "match": {"channel": "telegram"}},
         {"match.channel"}),
    Case("unknown match field", "control/rule", {"outcome": "read", "match": {"from": "x"}}, {"match.from"}),
    Case("id with a slash", "control/rule", {"outcome": "read", "id": "a/b"}, {"id"}),
    Case("id with a newline", "control/rule", {"outcome": "read", "id": "ab\n"}, {"id"}),
]

CLOCK_CASES = [
    valid("seconds", "control/clock-advance", {"seconds": 600}),
    valid("zero", "control/clock-advance", {"seconds": 0}),
    valid("fractional", "control/clock-advance", {"seconds": 0.25}),
    valid("to, with Z", "control/clock-advance", {"to": "2020-01-01T14:10:00.000Z"}),
    valid("to, with an offset", "control/clock-advance", {"to": "2020-01-01T15:10:00+01:00"}),
    Case("neither", "control/clock-advance", {}, {""}, {"": "must have seconds or to"}),
    Case("both", "control/clock-advance", {"seconds": 1, "to": "2020-01-01T14:10:00Z"}, {""},
         {"": "must have only one of seconds, to"}),
    Case("negative", "control/clock-advance", {"seconds": -1}, {"seconds"}, {"seconds": "must be at least 0"}),
    Case("string seconds", "control/clock-advance", {"seconds": "5"}, {"seconds"}),
    Case("boolean seconds", "control/clock-advance", {"seconds": True}, {"seconds"}),
    Case("huge", "control/clock-advance", {"seconds": 10**100}, {"seconds"}),
    Case("to not a date-time", "control/clock-advance", {"to": "tomorrow"}, {"to"}),
    Case("to is a date", "control/clock-advance", {"to": "2020-01-01"}, {"to"}),
    Case("to with a trailing newline", "control/clock-advance", {"to": "2020-01-01T14:10:00Z\n"}, {"to"}),
    Case("unknown key", "control/clock-advance", {"minutes": 1}, {"minutes"}),
]

CONFIG_CASES = [
    valid("nothing", "control/config-update", {}),
    valid("everything", "control/config-update", {"status_url": "http://localhost:3000/status",
          "inbound_url": "https://example.com/in", "time_scale": 0.01, "signature_secret": "s3cr3t",
          "profiles": {"sms": {"delays": {"delivered": 2}, "jitter": 0}}, "demo_mode": True, "clock": "manual"}),
    valid("clearing", "control/config-update", {"status_url": None, "inbound_url": None, "signature_secret": None}),
    Case("url without a scheme", "control/config-update", {"status_url": "localhost:3000"}, {"status_url"},
         {"status_url": "must be an http or https URL"}),
    Case("url not a string", "control/config-update", {"inbound_url": 80}, {"inbound_url"},
         {"inbound_url": "must be a string or null"}),
    Case("time scale 0", "control/config-update", {"time_scale": 0}, {"time_scale"}),
    Case("time scale string", "control/config-update", {"time_scale": "1"}, {"time_scale"}),
    Case("demo mode string", "control/config-update", {"demo_mode": "yes"}, {"demo_mode"}),
    Case("profiles list", "control/config-update", {"profiles": []}, {"profiles"}),
    Case("empty secret", "control/config-update", {"signature_secret": ""}, {"signature_secret"}),
    Case("unknown key", "control/config-update", {"port": 1}, {"port"}),
]

BAD_URLS = ["javascript:alert(1)", "ftp://x/y.jpg", "not a url", "https://exa mple.com/x.jpg", "http://",
            "//example.com/x.jpg", "https://example.com/x.jpg\n", "https://bücher.example/x.jpg"]
GOOD_URLS = ["http://127.0.0.1:8080/x.jpg", "https://user@cdn.example.com:8443/a/b.jpg?size=2&x=%20#top",
             "https://xn--bcher-kva.example/x.jpg"]
URL_REASON = "must be an http or https URL"
V1_SMS = {"channel": "sms", "message_type": "text", "to": "447700900000", "from": "447700900001", "text": "Hi"}
V1_IMAGE = {"channel": "messenger", "message_type": "image", "to": "1234", "from": "5678", "image": {"url": URL}}
V1_VIBER = {"channel": "viber_service", "message_type": "text", "to": "447700900000", "from": "viber-id", "text": "Hi",
            "viber_service": {"action": {"url": URL, "text": "Open"}}}
E164_REASON = "must be a phone number in E.164 format without + or 00, e.g. 447700900000 (digits only, at most 15)"

URL_CASES = [
    *(Case(f"image url {url!r}", "message", patch(MESSENGER, message__content=patch(IMAGE, image__url=url)),
           {"message.content.image.url"}) for url in BAD_URLS),
    *(Case(f"{kind} url javascript:", "message", patch(MESSENGER, message__content={"type": kind, kind: {
        "url": "javascript:alert(1)"}}), {f"message.content.{kind}.url"}, {f"message.content.{kind}.url": URL_REASON})
      for kind in ("image", "audio", "video", "file")),
    Case("viber image url ftp:", "message", patch(VIBER, message__content=patch(IMAGE, image__url="ftp://x/y.jpg")),
         {"message.content.image.url"}, {"message.content.image.url": URL_REASON}),
    Case("url not a string", "message", patch(MESSENGER, message__content=patch(IMAGE, image__url=5)),
         {"message.content.image.url"}, {"message.content.image.url": "must be a string"}),
    *(valid(f"image url {url}", "message", patch(MESSENGER, message__content=patch(IMAGE, image__url=url)))
      for url in GOOD_URLS),
    Case("workflow item url", "workflow",
         workflow(item(patch(MESSENGER, message__content=patch(IMAGE, image__url="not a url")), FAILOVER), SMS),
         {"workflow.0.message.content.image.url"}, {"workflow.0.message.content.image.url": URL_REASON}),
    Case("last workflow item url", "workflow",
         workflow(item(SMS, SMS_FAILOVER), patch(MESSENGER, message__content=patch(IMAGE, image__url="ftp://x"))),
         {"workflow.1.message.content.image.url"}),
    *(Case(f"v1 image url {url!r}", "v1/message", patch(V1_IMAGE, image__url=url), {"image.url"},
           {"image.url": URL_REASON}) for url in BAD_URLS[:4]),
    Case("v1 failover image url", "v1/message", patch(V1_SMS, failover=[patch(V1_IMAGE, image__url="javascript:x")]),
         {"failover.0.image.url"}, {"failover.0.image.url": URL_REASON}),
    Case("v1 viber action url", "v1/message", patch(V1_VIBER, viber_service__action__url="javascript:x"),
         {"viber_service.action.url"}, {"viber_service.action.url": URL_REASON}),
    Case("v1 webhook_url", "v1/message", patch(V1_SMS, webhook_url="ftp://x/hook"), {"webhook_url"}),
    valid("v1 image and action urls", "v1/message", {**V1_IMAGE, "failover": [V1_VIBER]}),
]

NUMBER_CASES = [
    valid("sms to with +", "message", patch(SMS, to__number="+447700900900")),
    valid("sms to with 00", "message", patch(SMS, to__number="00447700900900")),
    valid("sms to of 15 digits", "message", patch(SMS, to__number="1" * 15)),
    valid("sms from an alphanumeric sender id", "message", patch(SMS, from__number="MyBrand")),
    valid("viber to with +", "message", patch(VIBER, to__number="+447700900000")),
    *(Case(f"sms to {number!r}", "message", patch(SMS, to__number=number), {"to.number"}, {"to.number": E164_REASON})
      for number in ["hello", "07700900000", "1" * 16, "44 7700 900000", "+", "++447700900000", "4477009000x0",
                     "٤٤٧٧٠٠٩٠٠٠٠٠"]),
    Case("sms to with a line break", "message", patch(SMS, to__number="447700900000\n"), {"to.number"},
         {"to.number": "must not contain a line break"}),
    Case("viber to not digits", "message", patch(VIBER, to__number="hello"), {"to.number"},
         {"to.number": E164_REASON}),
    Case("workflow item to not digits", "workflow", workflow(item(SMS, SMS_FAILOVER), patch(SMS, to__number="x")),
         {"workflow.1.to.number"}, {"workflow.1.to.number": E164_REASON}),
    Case("v1 sms to with a line break", "v1/message", patch(V1_SMS, to="447700900000\n"), {"to"},
         {"to": "must not contain a line break"}),
    Case("v1 sms to not digits", "v1/message", patch(V1_SMS, to="hello"), {"to"}),
]

CASES = [
    *MESSAGE_CASES, *URL_CASES, *NUMBER_CASES, *WORKFLOW_CASES, *STATUS_CASES, *INBOUND_CASES, *REPORT_CASES,
    *INJECT_CASES, *RULE_CASES, *CLOCK_CASES, *CONFIG_CASES,
]
# fmt: on


@pytest.fixture(scope="module")
def contract() -> Contract:
    return Contract()


@pytest.fixture(scope="module")
def engines(contract: Contract) -> tuple[Registry, jsonschema_rs.Registry]:
    documents = list(contract.schema_documents().values())
    python = Registry().with_resources(
        (doc["$id"], Resource.from_contents(doc, default_specification=DRAFT202012)) for doc in documents
    )
    return python, jsonschema_rs.Registry([(doc["$id"], doc) for doc in documents])


def test_case_ids_are_unique() -> None:
    ids = [(case.schema, case.id) for case in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.schema}: {case.id}")
def test_problems_name_exactly_the_offending_fields(contract: Contract, case: Case) -> None:
    problems = contract.problems(case.schema, case.instance)
    assert {problem.name for problem in problems} == case.names
    for name, reason in (case.reasons or {}).items():
        assert reason in {problem.reason for problem in problems if problem.name == name}
    assert contract.is_valid(case.schema, case.instance) is not case.names


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.schema}: {case.id}")
def test_both_engines_agree(contract: Contract, engines: tuple[Registry, Any], case: Case) -> None:
    python, rust = engines
    ref = {"$ref": contract.schema_documents()[case.schema]["$id"]}
    slow = Draft202012Validator(ref, registry=python).is_valid(case.instance)
    fast = jsonschema_rs.Draft202012Validator(ref, registry=rust, validate_formats=False).is_valid(case.instance)
    assert fast is slow


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.schema}: {case.id}")
def test_the_fast_path_answers_as_the_reference(contract: Contract, case: Case) -> None:
    """jsonschema-rs's errors, worded, give python-jsonschema's answer: names, reasons and order."""
    assert contract.problems(case.schema, case.instance) == contract.reference_problems(case.schema, case.instance)


def test_the_fast_path_answers_every_invalid_case_of_the_table(contract: Contract) -> None:
    """So the test above compares two paths: none of these falls back to the reference."""
    fast = contract._keywords
    fallen_back = [(case.schema, case.id) for case in CASES
                   if case.names and contract._get(case.schema).fast_problems(case.instance, fast) is None]
    assert fallen_back == []


@functools.cache
def _schema_words(contract: Contract) -> tuple[list[str], list[Any]]:
    """The property names and the const/enum values of every schema file: what mutations should be made of."""
    names: set[str] = set()
    values: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            names.update(node.get("properties", {}))
            values.extend([node["const"]] if "const" in node else node.get("enum", []))
            for key, value in node.items():
                if key not in ("const", "enum", "examples"):
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(contract.schema_documents())
    return sorted(names), values


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in children:
        found += _paths(value, (*path, key))
    return found


@functools.cache
def _bases(contract: Contract) -> dict[str, list[Any]]:
    """Schema name -> its table cases' instances and its examples."""
    bases: dict[str, list[Any]] = {}
    for case in CASES:
        bases.setdefault(case.schema, []).append(case.instance)
    for name, document in contract.schema_documents().items():
        if document.get("examples"):
            bases.setdefault(name, []).extend(document["examples"])
    return bases


@st.composite
def _mutants(draw: st.DrawFn, contract: Contract) -> tuple[str, Any]:
    """A table case or a schema's example, with one to three values replaced, keys added or keys removed."""
    bases = _bases(contract)
    schema = draw(st.sampled_from(sorted(bases)))
    instance = copy.deepcopy(draw(st.sampled_from(bases[schema])))
    names, values = _schema_words(contract)
    keys = st.sampled_from(names) | st.text(max_size=3)
    scalars = (st.sampled_from(values) | st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
               | st.text(max_size=4) | st.sampled_from(["", "x" * 41, "x" * 1001, UUID, TIMESTAMP, TIMESTAMP + "\n",
                                                        "https://e.com/a", "https://e.com/\n", "0.5", "\n"]))
    json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                               | st.dictionaries(keys, inner, max_size=3), max_leaves=6)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(instance)))
        parent = instance
        for key in path[:-1]:
            parent = parent[key]
        target = parent[path[-1]] if path else instance
        move = draw(st.sampled_from(["replace", "drop", "add"]))
        if move == "add" and isinstance(target, dict):
            target[draw(keys)] = draw(json_values)
        elif move == "drop" and path and isinstance(parent, dict):
            del parent[path[-1]]
        elif path:
            parent[path[-1]] = draw(json_values)
        else:
            instance = draw(json_values)
    return schema, instance


@settings(max_examples=1000, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_fast_path_answers_as_the_reference_for_mutated_bodies(contract: Contract, data: st.DataObject) -> None:
    schema, instance = data.draw(_mutants(contract))
    assert contract.problems(schema, instance) == contract.reference_problems(schema, instance)


def test_the_built_in_magic_rules_are_rules(contract: Contract) -> None:
    path = Path(__file__).parent.parent / "mockserver" / "simulation" / "magic_rules.json"
    for rule in json.loads(path.read_text(encoding="utf-8")):
        assert contract.problems("control/rule", rule) == [], rule["id"]


def test_problems_are_ordered_by_path_with_numeric_indexes(contract: Contract) -> None:
    items = [item(MESSENGER, FAILOVER)] * 10 + [patch(SMS, to__number=447700900000)]
    items[2] = patch(items[2], foo=1)
    names = [problem.name for problem in contract.problems("workflow", workflow(*items))]
    assert names == ["workflow.2.foo", "workflow.10.to.number"]


def test_problems_are_deduplicated(contract: Contract) -> None:
    problems = contract.problems("message", patch(SMS, to__type=DROP, to__number=DROP))
    assert problems == [InvalidParameter("to.type", "is required")]


def test_deep_nesting_gives_one_problem_instead_of_a_crash(contract: Contract) -> None:
    nested: list[Any] = []
    for _ in range(10_000):
        nested = [nested]
    for instance in (nested, patch(SMS, message__content__text=nested)):
        assert contract.problems("message", instance) == [InvalidParameter("", "is nested too deeply")]
        assert contract.is_valid("message", instance) is False


def test_keys_json_cannot_hold_are_judged_by_the_explaining_engine(contract: Contract) -> None:
    assert contract.problems("message", {**SMS, 1: "x"}) == [InvalidParameter("1", "is not allowed")]
    assert contract.is_valid("message", {**SMS, 1: "x"}) is False


def test_large_instances_are_answered(contract: Contract) -> None:
    body = workflow(*(item(MESSENGER, FAILOVER) for _ in range(2000)), SMS)
    assert contract.is_valid("workflow", body)
    assert contract.problems("workflow", patch(body, workflow__1999__to="x")) == [
        InvalidParameter("workflow.1999.to", "must be an object")
    ]


def test_unknown_schema_name_is_a_key_error(contract: Contract) -> None:
    with pytest.raises(KeyError, match="no schema named 'messages'"):
        contract.problems("messages", SMS)


def test_schema_documents_are_copies(contract: Contract) -> None:
    contract.schema_documents()["message"]["required"].append("oops")
    assert contract.schema_documents()["message"]["required"] == ["to", "from", "message"]


def _write(directory: Path, name: str, body: dict[str, Any]) -> None:
    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://mockserver.local/schemas/{name}.json",
        **body,
    }
    (directory / f"{name}.json").write_text(json.dumps(document), encoding="utf-8")


def test_any_of_and_one_of_give_the_leaf_errors_of_the_closest_branch(tmp_path: Path) -> None:
    branches = [
        {"type": "object", "required": ["seconds"], "properties": {"seconds": {"type": "number"}}},
        {"type": "object", "required": ["at", "zone"]},
    ]
    _write(tmp_path, "any", {"anyOf": branches})
    _write(tmp_path, "one", {"oneOf": branches})
    _write(tmp_path, "worded", {"anyOf": branches, "x-reason": "must have seconds, or at and zone"})
    contract = Contract(tmp_path)
    for schema in ("any", "one"):
        assert contract.problems(schema, {"seconds": "5"}) == [InvalidParameter("seconds", "must be a number")]
        assert contract.problems(schema, {"at": 1}) == [InvalidParameter("seconds", "is required")]
    assert contract.problems("one", {"seconds": 1, "at": 1, "zone": 2}) == [
        InvalidParameter("", "must match exactly one of the allowed forms")
    ]
    assert contract.problems("worded", {}) == [InvalidParameter("", "must have seconds, or at and zone")]


def test_x_reason_replaces_the_generic_wording_per_keyword(tmp_path: Path) -> None:
    _write(tmp_path, "s", {
        "type": "object",
        "properties": {"code": {"type": "string", "maxLength": 3, "x-reason": {"maxLength": "is a 3-letter code"}}},
    })  # fmt: skip
    contract = Contract(tmp_path)
    assert contract.problems("s", {"code": "EURO"}) == [InvalidParameter("code", "is a 3-letter code")]
    assert contract.problems("s", {"code": 1}) == [InvalidParameter("code", "must be a string")]


def test_a_schema_dir_needs_schemas_with_ids(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Contract(tmp_path)
    (tmp_path / "bad.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.json.*\$id"):
        Contract(tmp_path)
