"""Message lifecycles on the manual clock: statuses, timestamps, payloads, as received by a real webhook receiver."""

from __future__ import annotations

import pytest

from mockserver.simulation.clock import parse_iso

from .support import advance, messenger, post, sms, viber

EXPECTED = {
    "sms": ["submitted", "delivered"],
    "messenger": ["submitted", "delivered", "read"],
    "viber_service_msg": ["submitted", "delivered", "read"],
}


@pytest.mark.parametrize("body", [sms(), messenger(), viber()], ids=["sms", "messenger", "viber"])
async def test_each_channel_reports_its_statuses_in_order(make_mock, receiver, contract, body):
    client = await make_mock(status_url=receiver.url())
    status, answer = await post(client, "/beta/messages", body)
    assert status == 202
    uuid = answer["message_uuid"]
    start = parse_iso((await (await client.get("/_mock/clock")).json())["now"])

    await advance(client, 0.1)
    assert receiver.bodies() == []  # nothing before the submitted delay
    await advance(client, 60)

    payloads = receiver.bodies()
    channel = body["to"]["type"]
    assert [p["status"] for p in payloads] == EXPECTED[channel]
    for payload in payloads:
        assert contract.problems("status-webhook", payload) == []
        assert payload["message_uuid"] == uuid
        assert payload["to"] == body["to"] and payload["from"] == body["from"]
    times = [parse_iso(p["timestamp"]) for p in payloads]
    assert times == sorted(times)
    assert all(0 < t - start <= 60 for t in times)
    charged_at = "submitted" if channel == "sms" else "delivered"  # as the real service bills
    charged = [p for p in payloads if "usage" in p]
    assert [p["status"] for p in charged] == [charged_at]
    assert charged[0]["usage"]["currency"] == "EUR" and float(charged[0]["usage"]["price"]) > 0


async def test_statuses_arrive_step_by_step_as_the_clock_moves(make_mock, receiver):
    client = await make_mock(status_url=receiver.url(), profiles={"sms": {"jitter": 0}})
    await post(client, "/beta/messages", sms())
    await advance(client, 0.4)
    assert [p["status"] for p in receiver.bodies()] == ["submitted"]
    await advance(client, 2.999)
    assert [p["status"] for p in receiver.bodies()] == ["submitted"]
    await advance(client, 0.001)
    assert [p["status"] for p in receiver.bodies()] == ["submitted", "delivered"]


async def test_timestamps_are_iso_utc_with_milliseconds(make_mock, receiver):
    client = await make_mock(status_url=receiver.url())
    await post(client, "/beta/messages", sms())
    await advance(client, 10)
    for payload in receiver.bodies():
        stamp = payload["timestamp"]
        assert stamp.endswith("Z") and len(stamp) == len("2020-01-01T14:00:00.000Z")


async def test_message_history_is_kept_without_a_webhook_url(mock):
    _, answer = await post(mock, "/beta/messages", messenger())
    await advance(mock, 60)
    detail = await (await mock.get(f"/_mock/messages/{answer['message_uuid']}")).json()
    assert [h["status"] for h in detail["history"]] == ["accepted", "submitted", "delivered", "read"]
    assert detail["status"] == "read"
    assert detail["webhooks"] == []


async def test_same_seed_gives_the_same_timeline(make_mock, receiver):
    timelines = []
    for _ in range(2):
        client = await make_mock(status_url=receiver.url(), seed=42, start_time="2020-01-01T14:00:00.000Z")
        for body in (sms(), messenger(), viber()):
            await post(client, "/beta/messages", body)
        await advance(client, 60)
        timelines.append([(p["to"], p["status"], p["timestamp"]) for p in receiver.bodies()])
        receiver.received.clear()
        await client.close()
    assert timelines[0] == timelines[1]
    assert len(timelines[0]) == 8


async def test_different_seed_gives_different_jitter(make_mock):
    histories = []
    for seed in (1, 2):
        client = await make_mock(seed=seed, clock="manual")
        _, answer = await post(client, "/beta/messages", sms())
        await advance(client, 60)
        detail = await (await client.get(f"/_mock/messages/{answer['message_uuid']}")).json()
        start = parse_iso(detail["history"][0]["timestamp"])
        histories.append([round(parse_iso(h["timestamp"]) - start, 3) for h in detail["history"]])
    assert histories[0] != histories[1]


async def test_real_clock_scaled_finishes_a_timeline_fast(make_mock, receiver):
    client = await make_mock(clock="real", time_scale=0.01, status_url=receiver.url())
    _, answer = await post(client, "/beta/messages", messenger())
    response = await client.get("/_mock/wait", params={"message_uuid": answer["message_uuid"],
                                                       "status": "read", "timeout": "5"})
    assert response.status == 200
    assert (await response.json())["status"] == "read"


async def test_reset_cancels_timers_and_forgets_messages(make_mock, receiver):
    client = await make_mock(status_url=receiver.url())
    await post(client, "/beta/messages", sms())
    assert (await (await client.get("/_mock/clock")).json())["pending_timers"] == 1
    assert (await client.post("/_mock/reset")).status == 204
    await advance(client, 60)
    assert receiver.bodies() == []
    assert (await (await client.get("/_mock/messages")).json())["messages"] == []
    assert (await (await client.get("/_mock/clock")).json())["pending_timers"] == 0
