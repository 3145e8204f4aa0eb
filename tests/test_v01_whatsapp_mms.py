"""/v0.1/messages with WhatsApp and MMS, in the nested shape of the 2021 v0.1 spec, and their v0.1 webhooks."""

from __future__ import annotations

from typing import Any

import pytest

from .support import advance, post

USER, BUSINESS = "447700900000", "447700900001"


def nested(channel: str, content: dict[str, Any], **message: Any) -> dict[str, Any]:
    return {"to": {"type": channel, "number": USER}, "from": {"type": channel, "number": BUSINESS},
            "message": {"content": content, **message}}


TEMPLATE = nested("whatsapp", {"type": "template", "template": {
    "name": "whatsapp:hsm:technology:nexmo:verify", "parameters": [{"default": "Vonage"}, {"default": "64873"}]}},
    whatsapp={"policy": "deterministic", "locale": "en-GB"})
MMS = nested("mms", {"type": "image", "image": {"url": "https://example.com/cat.jpg", "caption": "A cat"}})


async def statuses(client, receiver, body: dict[str, Any]) -> list[dict[str, Any]]:
    status, answer = await post(client, "/v0.1/messages", body)
    assert status == 202, answer
    await advance(client, 60)
    return [b for b in receiver.bodies() if b["message_uuid"] == answer["message_uuid"]]


async def test_whatsapp_template_walks_to_read_in_the_v01_shape(make_mock, receiver, contract):
    client = await make_mock(status_url=receiver.url())
    bodies = await statuses(client, receiver, TEMPLATE)
    assert [b["status"] for b in bodies] == ["submitted", "delivered", "read"]
    for body in bodies:
        assert contract.problems("status-webhook", body) == [], body
        assert body["to"] == {"type": "whatsapp", "number": USER}
    assert "usage" in bodies[1]  # WhatsApp is charged at delivered


async def test_whatsapp_text_needs_the_window_in_v01_too(make_mock, receiver, contract):
    client = await make_mock(status_url=receiver.url())
    text = nested("whatsapp", {"type": "text", "text": "Hi"})
    [rejected] = await statuses(client, receiver, text)
    assert rejected["error"] == {"code": 1340, "reason": "Outside of the allowed window"}
    assert contract.problems("status-webhook", rejected) == []
    await post(client, "/_mock/inbound", {"channel": "whatsapp", "from": {"number": USER},
                                          "to": {"number": BUSINESS}})
    image = nested("whatsapp", {"type": "image", "image": {"url": "https://example.com/a.jpg", "caption": "Hi"}})
    assert (await statuses(client, receiver, image))[-1]["status"] == "read"


async def test_mms_image_is_charged_at_submitted_and_ends_delivered(make_mock, receiver, contract):
    client = await make_mock(status_url=receiver.url())
    bodies = await statuses(client, receiver, MMS)
    assert [(b["status"], "usage" in b) for b in bodies] == [("submitted", True), ("delivered", False)]
    assert all(contract.problems("status-webhook", b) == [] for b in bodies)


@pytest.mark.parametrize(("body", "name"), [
    (nested("mms", {"type": "text", "text": "Hi"}), "message.content.type"),
    (nested("sms", TEMPLATE["message"]["content"]), "message.content.type"),
    (nested("sms", {"type": "text", "text": "Hi"}, whatsapp={"locale": "en-GB"}), "message.whatsapp"),
    ({**MMS, "to": {"type": "mms", "id": "abc"}}, "to.id"),
    ({"to": {"type": "messenger", "id": "1"}, "from": {"type": "messenger", "id": "2"},
      "message": {"content": {"type": "image", "image": {"url": "https://e.com/a.jpg", "caption": "c"}}}},
     "message.content.image.caption"),
    (nested("whatsapp", {"type": "template", "template": {"parameters": []}}), "message.content.template.name"),
    (nested("whatsapp", {"type": "text", "text": "x" * 4097}), "message.content.text"),
])
async def test_v01_refuses_what_the_2021_spec_does_not_allow(mock, body, name):
    status, problem = await post(mock, "/v0.1/messages", body)
    assert status == 400, problem
    assert name in [p["name"] for p in problem["invalid_parameters"]], problem


async def test_inbound_whatsapp_in_the_v01_shape(make_mock, receiver, contract):
    client = await make_mock(inbound_url=receiver.url("/inbound"))
    await post(client, "/_mock/inbound", {"channel": "whatsapp", "webhook_version": "v0.1",
                                          "from": {"number": USER}, "content": {"text": "Hi"}})
    await advance(client, 1)
    [body] = receiver.bodies("/inbound")
    assert contract.problems("inbound-webhook", body) == [], body
    assert body["from"] == {"type": "whatsapp", "number": USER}
    assert body["message"] == {"content": {"type": "text", "text": "Hi"}}
