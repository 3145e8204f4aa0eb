"""PATCH /v1/messages/{message_uuid}: WhatsApp read receipts and RCS revokes, as the SDKs send them."""

from __future__ import annotations

import json

from .support import AS_SENDER, BASIC, advance, post
from .v1_bodies import BODIES

V1_ERRORS = "https://developer.nexmo.com/api-errors/messages-olympus"
UNKNOWN = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"


async def patch(client, message_uuid: str, body: object) -> tuple[int, bytes]:
    response = await client.patch(f"/v1/messages/{message_uuid}", json=body, headers={"Authorization": BASIC})
    return response.status, await response.read()


async def stored(client, message_uuid: str) -> dict:
    return await (await client.get(f"/_mock/messages/{message_uuid}")).json()


async def test_read_marks_an_inbound_whatsapp_message_read(mock):
    _, inbound = await post(mock, "/_mock/inbound", {"channel": "whatsapp"}, AS_SENDER)
    status, body = await patch(mock, inbound["message_uuid"], {"status": "read",
                                                                "replying_indicator": {"show": True, "type": "text"}})
    assert (status, body) == (200, b"")
    message = await stored(mock, inbound["message_uuid"])
    assert [entry["status"] for entry in message["history"]] == ["received", "read"]
    assert (await patch(mock, inbound["message_uuid"], {"status": "read"}))[0] == 200  # again: still read once
    assert [entry["status"] for entry in (await stored(mock, inbound["message_uuid"]))["history"]] == ["received",
                                                                                                       "read"]


async def test_revoke_ends_an_undelivered_rcs_message_rejected(make_mock, receiver, contract):
    client = await make_mock(status_url=receiver.url())
    _, sent = await post(client, "/v1/messages", BODIES["rcs text"])
    await advance(client, 0.5)  # submitted, not yet delivered
    status, _ = await patch(client, sent["message_uuid"], {"status": "revoked"})
    assert status == 200
    await advance(client, 60)
    bodies = [b for b in receiver.bodies() if b["message_uuid"] == sent["message_uuid"]]
    assert [b["status"] for b in bodies] == ["submitted", "rejected"]
    assert bodies[-1]["error"]["title"] == 1330
    assert all(contract.problems("v1/status-webhook", b) == [] for b in bodies)


async def test_revoke_works_on_an_unwatched_message_too(mock):
    _, sent = await post(mock, "/v1/messages", BODIES["rcs card"])
    assert (await patch(mock, sent["message_uuid"], {"status": "revoked"}))[0] == 200
    await advance(mock, 60)
    assert (await stored(mock, sent["message_uuid"]))["status"] == "rejected"


async def test_a_delivered_rcs_message_cannot_be_revoked(mock):
    _, sent = await post(mock, "/v1/messages", BODIES["rcs text"])
    await advance(mock, 60)
    status, body = await patch(mock, sent["message_uuid"], {"status": "revoked"})
    assert status == 422
    assert b"already read" in body


async def test_unknown_uuid_is_404_and_a_status_the_channel_does_not_take_is_422(mock):
    status, body = await patch(mock, UNKNOWN, {"status": "read"})
    assert status == 404, body
    assert json.loads(body)["type"] == "https://developer.vonage.com/api-errors#not-found"
    _, sms = await post(mock, "/v1/messages", BODIES["sms text"])
    for message_uuid, update in ((sms["message_uuid"], {"status": "revoked"}),
                                 (sms["message_uuid"], {"status": "read"})):
        status, body = await patch(mock, message_uuid, update)
        assert status == 422, body
    _, outbound_whatsapp = await post(mock, "/v1/messages", BODIES["whatsapp template"])
    assert (await patch(mock, outbound_whatsapp["message_uuid"], {"status": "read"}))[0] == 422


async def test_invalid_bodies_get_v1_problems(mock):
    for body, name in (({"status": "deleted"}, "status"), ({}, "status"),
                       ({"status": "revoked", "replying_indicator": {"show": True}}, "replying_indicator")):
        response = await mock.patch(f"/v1/messages/{UNKNOWN}", json=body, headers={"Authorization": BASIC})
        problem = await response.json()
        assert response.status == 422, problem
        assert problem["type"].startswith(V1_ERRORS)
        assert name in [p["name"] for p in problem["invalid_parameters"]]


async def test_patch_needs_credentials(mock):
    response = await mock.patch(f"/v1/messages/{UNKNOWN}", json={"status": "read"})
    assert response.status == 401


async def test_openapi_documents_the_patch(mock):
    document = await (await mock.get("/openapi.json")).json()
    operation = document["paths"]["/v1/messages/{message_uuid}"]["patch"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"] == (
        "#/components/schemas/v1_message_update")
    assert {"200", "404", "422"} <= set(operation["responses"])
