"""Inbound Messenger messages injected through the control API, faked where left out, sent to the inbound URL."""

from __future__ import annotations

import pytest

from .support import advance, messenger, post

CONTENTS = [
    {"type": "text", "text": "Hello from Facebook Messenger!"},
    {"type": "image"},
    {"type": "audio"},
    {"type": "video"},
    {"type": "file"},
    {"type": "location"},
]


@pytest.mark.parametrize("content", CONTENTS, ids=[c["type"] for c in CONTENTS])
async def test_each_content_type_reaches_the_inbound_url(make_mock, receiver, contract, content):
    client = await make_mock(inbound_url=receiver.url("/inbound"))
    response = await client.post("/_mock/inbound", json={"content": content})
    assert response.status == 202
    uuid = (await response.json())["message_uuid"]
    await advance(client, 0)
    [payload] = receiver.bodies("/inbound")
    assert contract.problems("inbound-webhook", payload) == []
    assert payload["message_uuid"] == uuid
    assert payload["to"]["type"] == payload["from"]["type"] == "messenger"
    sent = payload["message"]["content"]
    assert sent["type"] == content["type"]
    if content["type"] == "text":
        assert sent["text"] == content["text"]
    elif content["type"] == "location":
        location = sent["location"]
        assert isinstance(location["lat"], str) and isinstance(location["long"], str)
        assert -90 <= float(location["lat"]) <= 90 and -180 <= float(location["long"]) <= 180
        assert location["url"].startswith("https://")
    else:
        assert sent[content["type"]]["url"].startswith("https://")


async def test_content_without_type_takes_the_type_of_its_field(make_mock, receiver, contract):
    client = await make_mock(inbound_url=receiver.url("/inbound"))
    await client.post("/_mock/inbound", json={"content": {"image": {"url": "https://example.com/cat.png"}}})
    await advance(client, 0)
    [payload] = receiver.bodies("/inbound")
    assert payload["message"]["content"] == {"type": "image", "image": {"url": "https://example.com/cat.png"}}
    assert contract.problems("inbound-webhook", payload) == []


async def test_given_fields_are_kept(make_mock, receiver):
    client = await make_mock(inbound_url=receiver.url("/inbound"))
    await client.post("/_mock/inbound", json={
        "from": {"type": "messenger", "id": "1111111111111111"}, "to": {"type": "messenger", "id": "0000000000000000"},
        "content": {"type": "location", "location": {"lat": "51.5228349", "long": "-0.0854414"}}})
    await advance(client, 0)
    [payload] = receiver.bodies("/inbound")
    assert payload["from"]["id"] == "1111111111111111" and payload["to"]["id"] == "0000000000000000"
    assert payload["message"]["content"]["location"]["lat"] == "51.5228349"


async def test_same_seed_same_fake_data(make_mock):
    runs = []
    for _ in range(2):
        client = await make_mock(seed=7)
        bodies = []
        for content in ({}, {"content": {"type": "image"}}):
            uuid = (await (await client.post("/_mock/inbound", json=content)).json())["message_uuid"]
            message = await (await client.get(f"/_mock/messages/{uuid}")).json()
            bodies.append((message["from"], message["to"], message["message"]))
        runs.append(bodies)
        await client.close()
    assert runs[0] == runs[1]
    assert runs[0][0][2]["content"]["text"]


async def test_inbound_is_listed_as_received_message(mock):
    uuid = (await (await mock.post("/_mock/inbound", json={})).json())["message_uuid"]
    listed = (await (await mock.get("/_mock/messages", params={"direction": "inbound"})).json())["messages"]
    assert [m["message_uuid"] for m in listed] == [uuid]
    assert listed[0]["status"] == "received" and listed[0]["channel"] == "messenger"


async def test_inbound_retries_like_status_webhooks(make_mock, receiver):
    receiver.script["/inbound"] = [503]
    client = await make_mock(inbound_url=receiver.url("/inbound"))
    uuid = (await (await client.post("/_mock/inbound", json={})).json())["message_uuid"]
    await advance(client, 10)
    assert len(receiver.bodies("/inbound")) == 2
    [delivery] = (await (await client.get("/_mock/webhooks", params={"message_uuid": uuid})).json())["deliveries"]
    assert delivery["kind"] == "inbound" and delivery["state"] == "delivered"
    assert [a["status_code"] for a in delivery["attempts"]] == [503, 200]


@pytest.mark.parametrize(("body", "names"), [
    ({"content": {"type": "sticker"}}, ["content.type"]),
    ({"channel": "telegram"}, ["channel"]),
    ({"surprise": 1}, ["surprise"]),
    ({"content": {"type": "location", "location": {"lat": 51.5, "long": "0"}}}, ["content.location.lat"]),
])
async def test_invalid_inbound_request_gets_problem_details(mock, body, names):
    response = await mock.post("/_mock/inbound", json=body)
    assert response.status == 400
    assert sorted({p["name"] for p in (await response.json())["invalid_parameters"]}) == names


async def test_conversations_group_outbound_and_inbound_per_user(mock):
    user, page = "2222333344445555", "9876543210"
    _, sent = await post(mock, "/beta/messages", messenger(to=user, page=page))
    await advance(mock, 20)
    reply = (await (await mock.post("/_mock/inbound", json={
        "from": {"type": "messenger", "id": user}, "to": {"type": "messenger", "id": page},
        "content": {"type": "text", "text": "thanks!"}})).json())["message_uuid"]
    conversations = (await (await mock.get("/_mock/conversations")).json())["conversations"]
    assert [(c["channel"], c["peer"], c["count"]) for c in conversations] == [("messenger", user, 2)]
    thread = (await (await mock.get(f"/_mock/conversations/messenger/{user}")).json())["messages"]
    assert [(m["message_uuid"], m["direction"]) for m in thread] == [
        (sent["message_uuid"], "outbound"), (reply, "inbound")]


async def test_demo_mode_users_reply_by_themselves(make_mock, receiver):
    client = await make_mock(demo_mode=True, inbound_url=receiver.url("/inbound"), seed=3)
    for n in range(6):
        await post(client, "/beta/messages", messenger(to=f"10000000000000{n:02d}"))
    await advance(client, 120)
    replies = receiver.bodies("/inbound")
    assert 0 < len(replies) < 6
    for reply in replies:
        assert reply["from"]["id"].startswith("10000000000000") and reply["message"]["content"]["text"]


async def test_no_replies_without_demo_mode(make_mock, receiver):
    client = await make_mock(inbound_url=receiver.url("/inbound"))
    for n in range(6):
        await post(client, "/beta/messages", messenger(to=f"10000000000000{n:02d}"))
    await advance(client, 120)
    assert receiver.bodies("/inbound") == []
