"""POST /v1/messages on every channel and message type: accepted, refused naming the field, and the status and
inbound webhooks of each channel valid against schemas/v1."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.client import MockClient

from .support import AS_SENDER, advance, post, running_mock
from .v1_bodies import BODIES, BUSINESS, CARD, NUMBER

V1_ERRORS = "https://developer.nexmo.com/api-errors/messages-olympus"
# The statuses each channel reports, and the one whose webhook carries usage.
LIFECYCLES = {"sms": (["submitted", "delivered"], "submitted"), "mms": (["submitted", "delivered"], "submitted"),
              "rcs": (["submitted", "delivered", "read"], "delivered"),
              "whatsapp": (["submitted", "delivered", "read"], "delivered"),
              "messenger": (["submitted", "delivered", "read"], "delivered"),
              "viber_service": (["submitted", "delivered", "read"], "delivered")}


async def open_window(client, user: str = NUMBER, business: str = BUSINESS) -> None:
    status, _ = await post(client, "/_mock/inbound", {"channel": "whatsapp", "from": {"number": user},
                                                      "to": {"number": business}}, AS_SENDER)
    assert status == 202


def statuses(receiver, message_uuid: str) -> list[dict[str, Any]]:
    return [body for body in receiver.bodies() if body.get("message_uuid") == message_uuid]


@pytest.mark.parametrize("name", sorted(BODIES))
async def test_every_message_type_is_accepted_and_reports_its_channel_lifecycle(make_mock, receiver, contract, name):
    body = BODIES[name]
    assert contract.problems("v1/message", body) == []
    client = await make_mock(status_url=receiver.url())
    await open_window(client)
    status, answer = await post(client, "/v1/messages", body | {"client_ref": "ref-1"})
    assert status == 202, answer
    await advance(client, 120)
    bodies = statuses(receiver, answer["message_uuid"])
    expected, charged_at = LIFECYCLES[body["channel"]]
    assert [b["status"] for b in bodies] == expected
    for webhook in bodies:
        assert contract.problems("v1/status-webhook", webhook) == [], webhook
        assert (webhook["channel"], webhook["to"], webhook["from"]) == (body["channel"], body["to"], body["from"])
        assert webhook["client_ref"] == "ref-1"
        assert ("usage" in webhook) == (webhook["status"] == charged_at)
    stored = await (await client.get(f"/_mock/messages/{answer['message_uuid']}")).json()
    assert stored["message"]["content"][body["message_type"]] == body[body["message_type"]]


async def test_sms_status_names_the_network_and_counts_the_parts(make_mock, receiver, contract):
    client = await make_mock(status_url=receiver.url())
    _, answer = await post(client, "/v1/messages", BODIES["sms text"] | {"text": "x" * 200})
    await advance(client, 60)
    submitted, delivered = statuses(receiver, answer["message_uuid"])
    for webhook in (submitted, delivered):
        assert webhook["destination"] == {"network_code": "23410"}
        assert webhook["sms"] == {"count_total": "2"}


async def test_whatsapp_status_carries_conversation_and_pricing(make_mock, receiver, contract):
    client = await make_mock(status_url=receiver.url())
    _, answer = await post(client, "/v1/messages", BODIES["whatsapp template"])
    await advance(client, 60)
    submitted, delivered, read = statuses(receiver, answer["message_uuid"])
    assert delivered["usage"] == {"currency": "EUR", "price": "0.0147"}
    assert delivered["whatsapp"]["pricing"] == {"type": "regular", "pricing_model": "CBP", "category": "utility"}
    assert delivered["whatsapp"]["conversation"]["origin"] == {"type": "utility"}
    assert submitted["whatsapp"] == delivered["whatsapp"]
    assert "whatsapp" not in read


@pytest.mark.parametrize("number", ["447700900901", "447700900911"])
@pytest.mark.parametrize("name", ["mms image", "rcs text", "whatsapp template", "viber text"])
async def test_magic_recipients_work_on_every_channel(make_mock, receiver, contract, name, number):
    client = await make_mock(status_url=receiver.url())
    _, answer = await post(client, "/v1/messages", BODIES[name] | {"to": number})
    await advance(client, 60)
    final = statuses(receiver, answer["message_uuid"])[-1]
    assert final["status"] == ("rejected" if number.endswith("901") else "undeliverable")
    assert final["error"]["type"].startswith(f"{V1_ERRORS}#")
    assert set(final["error"]) == {"type", "title", "detail", "instance"}
    assert contract.problems("v1/status-webhook", final) == []


async def test_failover_crosses_channels_whatsapp_then_sms(make_mock, receiver, contract):
    client = await make_mock(status_url=receiver.url())
    body = BODIES["whatsapp text"] | {"failover": [BODIES["sms text"]]}  # no window open: 1340, then SMS
    _, answer = await post(client, "/v1/messages", body)
    assert set(answer) == {"message_uuid", "workflow_id"}
    await advance(client, 120)
    bodies = [b for b in receiver.bodies() if b.get("workflow", {}).get("workflow_id") == answer["workflow_id"]]
    assert [(b["channel"], b["status"]) for b in bodies] == [("whatsapp", "rejected"), ("sms", "submitted"),
                                                             ("sms", "delivered")]
    assert bodies[0]["error"]["title"] == 1340
    assert [b["workflow"]["item_number"] for b in bodies] == ["1", "2", "2"]
    assert all(contract.problems("v1/status-webhook", b) == [] for b in bodies)


def _without(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != key}


REFUSED = [
    ("rcs text limit", BODIES["rcs text"] | {"text": "x" * 3073}, "1150", "text"),
    ("rcs ttl range", BODIES["rcs image"] | {"ttl": 10}, "1150", "ttl"),
    ("rcs sender is an agent id", BODIES["rcs image"] | {"from": "Vonage Agent"}, "1120", "from"),
    ("rcs card title", BODIES["rcs card"] | {"card": CARD | {"title": "t" * 201}}, "1150", "card.title"),
    ("rcs carousel needs 2 cards", BODIES["rcs carousel"] | {"carousel": {"cards": [CARD]}}, "1150", "carousel.cards"),
    ("rcs carousel needs card_width", BODIES["rcs carousel"] | {"rcs": {}}, "1110", "rcs.card_width"),
    ("rcs suggestion text", BODIES["rcs text"] | {"suggestions": [{"type": "reply", "text": "x" * 26,
                                                                   "postback_data": "p"}]}, "1150",
     "suggestions.0.text"),
    ("rcs 12 suggestions", BODIES["rcs text"] | {"suggestions": [{"type": "reply", "text": "a", "postback_data": "p"}]
                                                * 12}, "1150", "suggestions"),
    ("rcs dial needs a number", BODIES["rcs text"] | {"suggestions": [{"type": "dial", "text": "a",
                                                                       "postback_data": "p"}]}, "1150",
     "suggestions.0.phone_number"),
    ("whatsapp text limit", BODIES["whatsapp text"] | {"text": "x" * 4097}, "1150", "text"),
    ("whatsapp caption limit", BODIES["whatsapp image"] | {"image": {"url": "https://e.com/a.jpg",
                                                                     "caption": "c" * 3001}}, "1150", "image.caption"),
    ("whatsapp template needs a name", BODIES["whatsapp template"] | {"template": {"parameters": []}}, "1150",
     "template.name"),
    ("whatsapp policy", BODIES["whatsapp template"] | {"whatsapp": {"policy": "fallback"}}, "1110",
     "whatsapp.policy"),
    ("whatsapp sticker url or id", BODIES["whatsapp sticker id"] | {"sticker": {"id": "1", "url": "https://e.com"}},
     "1150", "sticker"),
    ("whatsapp block only on templates", BODIES["whatsapp text"] | {"whatsapp": {"locale": "en_GB"}}, "1110",
     "whatsapp"),
    ("whatsapp has no vcard", BODIES["whatsapp text"] | {"message_type": "vcard"}, "1140", "message_type"),
    ("whatsapp context needs a uuid", BODIES["whatsapp reaction"] | {"context": {}}, "1150", "context.message_uuid"),
    ("mms caption range", BODIES["mms image"] | {"image": {"url": "https://e.com/a.jpg", "caption": ""}}, "1150",
     "image.caption"),
    ("mms ttl from 300", BODIES["mms image"] | {"ttl": 299}, "1150", "ttl"),
    ("mms content item type", BODIES["mms content"] | {"content": [{"type": "sticker", "url": "https://e.com/a"}]},
     "1150", "content.0.type"),
    ("mms has no template", BODIES["mms text"] | {"message_type": "template"}, "1140", "message_type"),
    ("mms recipient E.164", BODIES["mms text"] | {"to": "+14155550100"}, "110", "to"),
    ("sms has no image", BODIES["sms text"] | {"message_type": "image"}, "1140", "message_type"),
    ("sms encoding", BODIES["sms text"] | {"sms": {"encoding_type": "utf8"}}, "1110", "sms.encoding_type"),
    ("viber video needs thumb_url", BODIES["viber video"] | {"video": {"url": "https://e.com/v.mp4"}}, "1150",
     "video.thumb_url"),
    ("viber video needs file_size", BODIES["viber video"] | {"viber_service": {"duration": "12"}}, "1110",
     "viber_service.file_size"),
    ("viber file name", BODIES["viber file"] | {"file": {"url": "https://e.com/f", "name": "n" * 26}}, "1150",
     "file.name"),
    ("viber action text", BODIES["viber text"] | {"viber_service": {"action": {"url": "https://e.com",
                                                                               "text": "t" * 31}}}, "1110",
     "viber_service.action.text"),
    ("messenger has no sticker", BODIES["messenger text"] | {"message_type": "sticker"}, "1140", "message_type"),
    ("content of another type", BODIES["whatsapp text"] | {"image": {"url": "https://e.com/a.jpg"}}, "1150", "image"),
    ("field of another channel", BODIES["sms text"] | {"suggestions": []}, "1150", "suggestions"),
    ("missing content", _without(BODIES["rcs card"], "card"), "1150", "card"),
    ("webhook_version", BODIES["sms text"] | {"webhook_version": "v2"}, "1150", "webhook_version"),
    ("webhook_url", BODIES["sms text"] | {"webhook_url": "ftp://example.com"}, "1150", "webhook_url"),
]


@pytest.mark.parametrize(("body", "code", "name"), [case[1:] for case in REFUSED], ids=[c[0] for c in REFUSED])
async def test_invalid_messages_are_refused_naming_the_field(mock, body, code, name):
    status, problem = await post(mock, "/v1/messages", body)
    assert status == 422, problem
    assert problem["type"] == f"{V1_ERRORS}#{code}"
    assert name in [p["name"] for p in problem["invalid_parameters"]], problem
    assert (await (await mock.get("/_mock/messages")).json())["messages"] == []


async def test_webhook_url_and_version_are_accepted_on_every_channel(mock):
    for name in ("sms text", "mms image", "rcs text", "whatsapp template", "messenger text", "viber text"):
        body = BODIES[name] | {"webhook_url": "https://example.com/status", "webhook_version": "v0.1"}
        status, answer = await post(mock, "/v1/messages", body)
        assert status == 202, (name, answer)


INBOUND = [
    ("sms", {"text": "STOP please"}, "text"),
    ("mms", {"type": "image"}, "image"),
    ("mms", {"type": "vcard"}, "vcard"),
    ("whatsapp", {"type": "text"}, "text"),
    ("whatsapp", {"type": "location", "location": {"lat": "51.5", "long": "-0.08"}}, "location"),
    ("whatsapp", {"type": "sticker"}, "sticker"),
    ("whatsapp", {"type": "reply"}, "reply"),
    ("whatsapp", {"type": "reaction"}, "reaction"),
    ("whatsapp", {"type": "audio"}, "audio"),
    ("messenger", {"type": "file"}, "file"),
    ("viber_service", {"type": "video"}, "video"),
    ("rcs", {"type": "reply"}, "reply"),
    ("rcs", {"type": "location"}, "location"),
]


@pytest.mark.parametrize(("channel", "content", "message_type"), INBOUND, ids=[f"{c}-{t}" for c, _, t in INBOUND])
async def test_inbound_on_every_channel_takes_the_v1_shape(make_mock, receiver, contract, channel, content,
                                                          message_type):
    client = await make_mock(inbound_url=receiver.url("/inbound"))
    context = {"message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab", "message_from": BUSINESS}
    status, answer = await post(client, "/_mock/inbound", {"channel": channel, "content": content,
                                                           "context": context, "webhook_version": "v1"})
    assert status == 202, answer
    await advance(client, 1)
    [body] = receiver.bodies("/inbound")
    assert contract.problems("v1/inbound-webhook", body) == [], body
    assert (body["channel"], body["message_type"], body["message_uuid"]) == (channel, message_type,
                                                                            answer["message_uuid"])
    assert body["context"] == context
    assert ("profile" in body) == (channel == "whatsapp")
    if channel == "sms":
        assert body["sms"] == {"num_messages": "1", "keyword": "STOP"}


async def test_inbound_defaults_messenger_to_the_2018_shape_and_others_to_v1(make_mock, receiver, contract):
    client = await make_mock(inbound_url=receiver.url("/inbound"))
    await post(client, "/_mock/inbound", {})
    await post(client, "/_mock/inbound", {"channel": "whatsapp", "from": {"number": "447700900123"},
                                          "profile": {"name": "Alex"}, "content": {"text": "Hi"}})
    await advance(client, 1)
    beta, v1 = receiver.bodies("/inbound")
    assert contract.problems("inbound-webhook", beta) == []
    assert beta["from"]["type"] == "messenger"
    assert (v1["from"], v1["to"], v1["profile"], v1["text"]) == ("447700900123", BUSINESS, {"name": "Alex"}, "Hi")


@pytest.mark.parametrize(("body", "name"), [
    ({"channel": "sms", "content": {"type": "image"}}, "content.type"),
    ({"channel": "viber_service", "content": {"location": {"lat": "1", "long": "2"}}}, "content.location"),
    ({"channel": "sms", "profile": {"name": "A"}}, "profile"),
    ({"channel": "whatsapp", "from": {"number": "+44"}}, "from.number"),
])
async def test_inbound_refuses_content_its_channel_does_not_have(mock, body, name):
    status, problem = await post(mock, "/_mock/inbound", body)
    assert status == 400, problem
    assert name in [p["name"] for p in problem["invalid_parameters"]]


async def test_demo_mode_whatsapp_users_reply_in_the_v1_shape_and_open_the_window(make_mock, receiver, contract):
    client = await make_mock(demo_mode=True, inbound_url=receiver.url("/inbound"), status_url=receiver.url(), seed=3)
    users = [f"4477009005{n:02d}" for n in range(8)]
    for user in users:
        await post(client, "/v1/messages", BODIES["whatsapp template"] | {"to": user})
    await advance(client, 120)
    replies = receiver.bodies("/inbound")
    assert 0 < len(replies) < len(users)
    for reply in replies:
        assert contract.problems("v1/inbound-webhook", reply) == [], reply
        assert (reply["channel"], reply["to"]) == ("whatsapp", BUSINESS) and reply["from"] in users
    _, answer = await post(client, "/v1/messages", BODIES["whatsapp text"] | {"to": replies[0]["from"]})
    await advance(client, 60)
    assert statuses(receiver, answer["message_uuid"])[-1]["status"] != "rejected"  # the reply opened the window


def test_mock_client_injects_inbound_on_any_channel():
    with running_mock("--clock", "manual") as live:
        client = MockClient(live.base_url)
        whatsapp = client.inbound(channel="whatsapp", from_=NUMBER, to=BUSINESS, text="Hi")
        viber = client.inbound(channel="viber_service", from_=NUMBER, to="16273", text="Hi")
        messenger = client.inbound(from_="1234567890123456", text="Hi")
        stored = {uuid: client.message(uuid) for uuid in (whatsapp, viber, messenger)}
    assert (stored[whatsapp]["from"], stored[whatsapp]["to"]) == ({"type": "whatsapp", "number": NUMBER},
                                                                  {"type": "whatsapp", "number": BUSINESS})
    assert stored[viber]["to"] == {"type": "viber_service_msg", "id": "16273"}
    assert stored[messenger]["from"] == {"type": "messenger", "id": "1234567890123456"}
