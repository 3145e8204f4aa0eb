"""The official clients of today's Messages API, unchanged, on every /v1 channel: the vonage Python SDK 4.x sends
every message model of `vonage_messages.models` (over TLS with the mock's CA) and calls
`mark_whatsapp_message_read` and `revoke_rcs_message`; @vonage/server-sdk 3.30 sends one message of each channel
and updates a message, with `apiHost` pointed at the mock (tests/clients/node/send_v1.js)."""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import Any

import vonage_messages.models as models
from pydantic import BaseModel
from vonage import Auth, HttpClientOptions, Vonage

from .support import advance
from .test_real_clients import API_KEY, API_SECRET, APPLICATION_ID, app_keys, control, node_clients, tls_mock
from .v1_bodies import BODIES, BUSINESS, NUMBER

__all__ = ["app_keys", "node_clients", "tls_mock"]  # fixtures shared with test_real_clients

# Each model of the SDK, and the body of tests/v1_bodies.py it is built from.
MODEL_BODIES = {
    "Sms": "sms text", "MmsImage": "mms image", "MmsVcard": "mms vcard", "MmsAudio": "mms audio",
    "MmsVideo": "mms video", "MmsFile": "mms file", "MmsText": "mms text", "MmsContent": "mms content",
    "RcsText": "rcs text", "RcsImage": "rcs image", "RcsVideo": "rcs video", "RcsFile": "rcs file",
    "RcsCardMessage": "rcs card", "RcsCarouselMessage": "rcs carousel", "RcsCustom": "rcs custom",
    "WhatsappText": "whatsapp text", "WhatsappImage": "whatsapp image", "WhatsappAudio": "whatsapp audio",
    "WhatsappVideo": "whatsapp video", "WhatsappFile": "whatsapp file", "WhatsappTemplate": "whatsapp template",
    "WhatsappSticker": "whatsapp sticker id", "WhatsappCustom": "whatsapp reaction",
    "MessengerText": "messenger text", "MessengerImage": "messenger image", "MessengerAudio": "messenger audio",
    "MessengerVideo": "messenger video", "MessengerFile": "messenger file",
    "ViberText": "viber text", "ViberImage": "viber image", "ViberVideo": "viber video", "ViberFile": "viber file",
}


def message_models() -> dict[str, type[BaseModel]]:
    return {name: cls for name, cls in vars(models).items()
            if inspect.isclass(cls) and issubclass(cls, BaseModel) and "message_type" in cls.model_fields}


def build(name: str) -> BaseModel:
    """The SDK's model from our body: its own validation runs, its own serialisation is what is sent."""
    body = {("from_" if key == "from" else key): value for key, value in BODIES[MODEL_BODIES[name]].items()
            if key not in ("channel", "message_type")}
    return message_models()[name].model_validate(body)


def test_every_message_model_of_the_sdk_is_covered():
    assert set(MODEL_BODIES) == set(message_models())


def send_every_model(host: str, auth: Auth) -> dict[str, str]:
    messages = Vonage(auth, HttpClientOptions(api_host=host)).messages
    return {name: messages.send(build(name)).message_uuid for name in MODEL_BODIES}


async def test_vonage_python_sdk_sends_every_message_model(tls_mock, receiver, contract, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_mock.ca))
    await control(tls_mock, "POST", "/_mock/inbound", {"channel": "whatsapp", "from": {"number": NUMBER},
                                                       "to": {"number": BUSINESS}})  # opens the WhatsApp window
    sent = await asyncio.to_thread(send_every_model, tls_mock.base_url.removeprefix("https://"),
                                   Auth(api_key=API_KEY, api_secret=API_SECRET))
    await control(tls_mock, "POST", "/_mock/clock/advance", {"seconds": 120})
    bodies = receiver.bodies()
    assert all(contract.problems("v1/status-webhook", body) == [] for body in bodies)
    finals = {body["message_uuid"]: body["status"] for body in bodies}
    for name, message_uuid in sent.items():
        expected = "delivered" if name.startswith(("Sms", "Mms")) else "read"
        assert finals[message_uuid] == expected, name


def update_with_vonage(host: str, auth: Auth, inbound_uuid: str, rcs_uuid: str) -> None:
    messages = Vonage(auth, HttpClientOptions(api_host=host)).messages
    messages.mark_whatsapp_message_read(inbound_uuid, models.ReplyingIndicatorText(show=True))
    messages.revoke_rcs_message(rcs_uuid)


async def test_vonage_python_sdk_marks_whatsapp_read_and_revokes_rcs(tls_mock, receiver, app_keys, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_mock.ca))
    inbound = await control(tls_mock, "POST", "/_mock/inbound", {"channel": "whatsapp"})
    host = tls_mock.base_url.removeprefix("https://")
    auth = Auth(application_id=APPLICATION_ID, private_key=app_keys.private_pem)
    rcs = await asyncio.to_thread(lambda: Vonage(auth, HttpClientOptions(api_host=host)).messages.send(
        build("RcsText")).message_uuid)
    await asyncio.to_thread(update_with_vonage, host, auth, inbound["message_uuid"], rcs)
    await control(tls_mock, "POST", "/_mock/clock/advance", {"seconds": 60})
    read = await control(tls_mock, "GET", f"/_mock/messages/{inbound['message_uuid']}")
    assert read["status"] == "read"
    revoked = await control(tls_mock, "GET", f"/_mock/messages/{rcs}")
    assert [entry["status"] for entry in revoked["history"]] == ["accepted", "rejected"]


async def run_send_v1(folder, port: int, keys, inbound_uuid: str) -> dict[str, dict[str, Any]]:
    process = await asyncio.create_subprocess_exec(
        "node", "send_v1.js", str(port), str(keys.private_path), APPLICATION_ID, inbound_uuid, cwd=folder,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return {result["name"]: result for result in map(json.loads, out.decode().splitlines())}


async def test_vonage_node_sdk_sends_one_message_of_each_channel(make_mock, receiver, contract, node_clients,
                                                                 app_keys):
    client = await make_mock(status_url=receiver.url(), clock="manual")
    await client.post("/_mock/inbound", json={"channel": "whatsapp", "from": {"number": NUMBER},
                                              "to": {"number": BUSINESS}})
    inbound = await (await client.post("/_mock/inbound", json={"channel": "whatsapp"})).json()
    results = await run_send_v1(node_clients, client.server.port, app_keys, inbound["message_uuid"])
    sent = {name: result for name, result in results.items() if name not in ("read", "unknown")}
    assert {name: result["error"] for name, result in sent.items()} == dict.fromkeys(sent)
    assert set(sent) == {"sms", "mms", "rcs", "whatsapp", "whatsapp_template", "messenger", "viber_service"}
    await advance(client, 120)
    bodies = receiver.bodies()
    assert all(contract.problems("v1/status-webhook", body) == [] for body in bodies)
    channels = {body["message_uuid"]: body["channel"] for body in bodies}
    assert {channels[result["data"]["messageUUID"]] for result in sent.values()} == {
        "sms", "mms", "rcs", "whatsapp", "messenger", "viber_service"}
    assert results["read"] == {"name": "read", "error": None, "data": True}
    read = await (await client.get(f"/_mock/messages/{inbound['message_uuid']}")).json()
    assert read["status"] == "read"
    assert results["unknown"]["error"]["status"] == 404
