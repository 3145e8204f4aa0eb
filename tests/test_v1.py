"""POST /v1/messages: the flat v1 shape, its 422 problems, v1 status webhooks and v1 failover."""

from __future__ import annotations

from typing import Any

import pytest

from .support import BASIC, advance, post

V1_ERRORS = "https://developer.nexmo.com/api-errors/messages-olympus"


def _without_none(body: dict[str, Any]) -> dict[str, Any]:
    """Helpers take `field=None` to leave a default field out."""
    return {key: value for key, value in body.items() if value is not None}


def v1_sms(to: str = "447700900000", **extra: Any) -> dict[str, Any]:
    return _without_none({"channel": "sms", "message_type": "text", "to": to, "from": "447700900001", "text": "Hi",
                          **extra})


def v1_messenger(message_type: str = "text", to: str = "1234567890123456", **extra: Any) -> dict[str, Any]:
    body = {"channel": "messenger", "message_type": message_type, "to": to, "from": "9876543210", **extra}
    if message_type == "text":
        body.setdefault("text", "Hi on Messenger")
    else:
        body.setdefault(message_type, {"url": f"https://example.com/media.{message_type}"})
    return _without_none(body)


def v1_viber(**extra: Any) -> dict[str, Any]:
    return _without_none({"channel": "viber_service", "message_type": "text", "to": "447700900000",
                          "from": "viber-service-id", "text": "Hi on Viber",
                          "viber_service": {"category": "transaction", "ttl": 600}, **extra})


async def send(client, body: dict[str, Any]) -> dict[str, Any]:
    status, answer = await post(client, "/v1/messages", body)
    assert status == 202, answer
    return answer


def statuses(receiver, message_uuid: str) -> list[dict[str, Any]]:
    return [body for body in receiver.bodies() if body.get("message_uuid") == message_uuid]


async def test_sms_gets_v1_status_webhooks_with_flat_addresses(make_mock, receiver, contract):
    client = await make_mock(status_url=receiver.url())
    answer = await send(client, v1_sms(client_ref="order-1234"))
    assert set(answer) == {"message_uuid"}
    await advance(client, 60)
    bodies = statuses(receiver, answer["message_uuid"])
    assert [body["status"] for body in bodies] == ["submitted", "delivered"]
    for body in bodies:
        assert contract.problems("v1/status-webhook", body) == []
        assert (body["to"], body["from"], body["channel"]) == ("447700900000", "447700900001", "sms")
        assert body["client_ref"] == "order-1234"
        assert "workflow" not in body
    assert bodies[0]["usage"] == {"currency": "EUR", "price": "0.0333"}  # SMS is charged at submitted
    assert "usage" not in bodies[1]


@pytest.mark.parametrize("message_type", ["text", "image", "audio", "video", "file"])
async def test_messenger_takes_every_simulated_message_type_and_is_read(make_mock, receiver, contract, message_type):
    client = await make_mock(status_url=receiver.url())
    body = v1_messenger(message_type, messenger={"category": "message_tag", "tag": "ticket_update"})
    answer = await send(client, body)
    await advance(client, 60)
    bodies = statuses(receiver, answer["message_uuid"])
    assert [b["status"] for b in bodies] == ["submitted", "delivered", "read"]
    assert all(contract.problems("v1/status-webhook", b) == [] for b in bodies)
    assert {(b["to"], b["from"], b["channel"]) for b in bodies} == {("1234567890123456", "9876543210", "messenger")}
    stored = await (await client.get(f"/_mock/messages/{answer['message_uuid']}")).json()
    assert stored["api"] == "v1"
    assert stored["message"]["content"]["type"] == message_type
    assert stored["message"]["messenger"] == {"category": "message_tag", "tag": "ticket_update"}


async def test_viber_text_and_captioned_image_report_channel_viber_service(make_mock, receiver, contract):
    client = await make_mock(status_url=receiver.url())
    text = await send(client, v1_viber())
    image = await send(client, v1_viber(message_type="image", text=None) | {
        "image": {"url": "https://example.com/a.jpg", "caption": "A cat"}})
    await advance(client, 60)
    for answer in (text, image):
        bodies = statuses(receiver, answer["message_uuid"])
        assert [b["status"] for b in bodies] == ["submitted", "delivered", "read"]
        assert all(contract.problems("v1/status-webhook", b) == [] for b in bodies)
        assert {(b["to"], b["from"], b["channel"]) for b in bodies} == {
            ("447700900000", "viber-service-id", "viber_service")}
    stored = await (await client.get(f"/_mock/messages/{image['message_uuid']}")).json()
    assert stored["message"]["viber_service_msg"] == {"category": "transaction", "ttl": 600}


@pytest.mark.parametrize("channel", ["telegram", "viber", "WhatsApp", 7])
async def test_unknown_channels_get_unsupported_channel(mock, channel):
    status, problem = await post(mock, "/v1/messages", v1_sms() | {"channel": channel})
    assert status == 422
    assert problem["type"] == f"{V1_ERRORS}#1100"
    assert problem["title"] == "Unsupported channel"
    assert [p["name"] for p in problem["invalid_parameters"]] == ["channel"]
    assert set(problem) == {"type", "title", "detail", "instance", "invalid_parameters"}


INVALID = [
    ("sms takes only text", v1_sms(message_type="image"), "1140", "message_type"),
    ("viber video needs its duration", v1_viber(message_type="video", text=None)
     | {"video": {"url": "https://example.com/v.mp4", "thumb_url": "https://example.com/v.jpg"}},
     "1110", "viber_service.duration"),
    ("empty sender", v1_sms() | {"from": ""}, "1120", "from"),
    ("sms recipient is E.164 without +", v1_sms(to="+447700900000"), "110", "to"),
    ("client_ref is at most 100", v1_sms(client_ref="x" * 101), "1060", "client_ref"),
    ("message_tag needs a tag", v1_messenger(messenger={"category": "message_tag"}), "1110", "messenger.tag"),
    ("viber ttl from 30", v1_viber(viber_service={"ttl": 10}), "1110", "viber_service.ttl"),
    ("messenger text at most 640", v1_messenger(text="x" * 641), "1150", "text"),
    ("text needs text", v1_sms(text=None), "1150", "text"),
    ("unknown field", v1_sms(colour="red"), "1150", "colour"),
    ("captions only on viber", v1_messenger("image", image={"url": "u", "caption": "c"}), "1150", "image.caption"),
    ("failover message channel", v1_sms(failover=[v1_sms() | {"channel": "telegram"}]), "1100", "failover.0.channel"),
    ("failover not nested", v1_sms(failover=[v1_sms(failover=[v1_sms()])]), "1150", "failover.0.failover"),
]


@pytest.mark.parametrize(("body", "code", "name"), [case[1:] for case in INVALID], ids=[c[0] for c in INVALID])
async def test_invalid_requests_get_the_v1_problem_of_their_kind(mock, body, code, name):
    status, problem = await post(mock, "/v1/messages", body)
    assert status == 422, problem
    assert problem["type"] == f"{V1_ERRORS}#{code}"
    assert name in [p["name"] for p in problem["invalid_parameters"]]
    assert (await (await mock.get("/_mock/messages")).json())["messages"] == []


async def test_malformed_json_is_422_and_other_errors_keep_their_status(mock):
    response = await mock.post("/v1/messages", data=b"{nope", headers={"Authorization": BASIC,
                                                                          "Content-Type": "application/json"})
    assert response.status == 422
    assert (await response.json())["type"] == "https://developer.nexmo.com/api-errors#invalid-json"
    response = await mock.post("/v1/messages", data=b"x", headers={"Authorization": BASIC,
                                                                      "Content-Type": "text/plain"})
    assert response.status == 415
    response = await mock.post("/v1/messages", json=v1_sms())
    assert response.status == 401


async def test_failover_moves_on_when_a_message_is_rejected(make_mock, receiver, contract):
    client = await make_mock(status_url=receiver.url())
    answer = await send(client, v1_messenger(to="magic-barred", failover=[v1_viber(), v1_sms()]))
    assert set(answer) == {"message_uuid", "workflow_id"}
    await advance(client, 120)
    workflow = await (await client.get(f"/_mock/workflows/{answer['workflow_id']}")).json()
    assert workflow["status"] == "completed"
    assert [item["state"] for item in workflow["items"]] == ["failed", "condition_met", "skipped"]
    assert workflow["items"][0]["message_uuid"] == answer["message_uuid"]
    bodies = receiver.bodies()
    assert all(contract.problems("v1/status-webhook", body) == [] for body in bodies)  # no final report
    [rejected] = statuses(receiver, answer["message_uuid"])
    assert rejected["status"] == "rejected"
    assert rejected["error"]["type"] == f"{V1_ERRORS}#1050"
    assert (rejected["error"]["title"], rejected["error"]["detail"]) == (1050, "Number barred")
    second = workflow["items"][1]["message_uuid"]
    assert [b["status"] for b in statuses(receiver, second)] == ["submitted", "delivered", "read"]
    assert {(b["channel"], b["workflow"]["item_number"]) for b in bodies} == {
        ("messenger", "1"), ("viber_service", "2")}
    assert {(b["workflow"]["workflow_id"], b["workflow"]["items_number"]) for b in bodies} == {
        (answer["workflow_id"], "3")}


async def test_failover_also_moves_on_when_undeliverable(make_mock, receiver):
    client = await make_mock(status_url=receiver.url())
    answer = await send(client, v1_sms(to="447700900913", failover=[v1_sms()]))
    await advance(client, 120)
    workflow = await (await client.get(f"/_mock/workflows/{answer['workflow_id']}")).json()
    assert [item["state"] for item in workflow["items"]] == ["failed", "delivered"]
    assert [b["status"] for b in statuses(receiver, answer["message_uuid"])] == ["submitted", "undeliverable"]


async def test_failover_never_expires_a_message_that_is_slow_but_delivered(make_mock, receiver):
    client = await make_mock(status_url=receiver.url())
    answer = await send(client, v1_sms(to="447700900950", failover=[v1_viber()]))  # slow: ~100 s to deliver
    await advance(client, 3600)
    workflow = await (await client.get(f"/_mock/workflows/{answer['workflow_id']}")).json()
    assert [item["state"] for item in workflow["items"]] == ["condition_met", "skipped"]
    assert {body["channel"] for body in receiver.bodies()} == {"sms"}


async def test_openapi_documents_the_v1_endpoint(mock):
    document = await (await mock.get("/openapi.json")).json()
    operation = document["paths"]["/v1/messages"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"] == (
        "#/components/schemas/v1_message")
    assert {"202", "401", "422"} <= set(operation["responses"])
    assert "v1_status_webhook" in document["components"]["schemas"]
