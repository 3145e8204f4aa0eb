"""Messages nobody watches take their steps when read: nothing anyone can observe differs from timed messages."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from mockserver.simulation.clock import parse_iso

from .support import advance, messenger, post, sms
from .support import workflow as flow

START = "2026-01-01T00:00:00.000Z"


async def _histories(client, uuids):
    return [(await (await client.get(f"/_mock/messages/{uuid}")).json())["history"] for uuid in uuids]


async def _send_mix(client):
    bodies = [sms(), messenger(), sms(to="447700900910"), messenger(to="magic-slow"), sms(to="447700900900")]
    return [(await post(client, "/beta/messages", body))[1]["message_uuid"] for body in bodies]


async def test_history_read_later_equals_the_history_walked_on_timers(make_mock, receiver):
    unwatched = await make_mock(start_time=START)
    watched = await make_mock(start_time=START, status_url=receiver.url())
    lazy_ids, timed_ids = await _send_mix(unwatched), await _send_mix(watched)
    for seconds in (0.2, 1, 3, 30, 600):  # reads between steps see exactly the steps due by then
        await advance(unwatched, seconds)
        await advance(watched, seconds)
        lazy, timed = await _histories(unwatched, lazy_ids), await _histories(watched, timed_ids)
        assert lazy == timed
    assert [h[-1]["status"] for h in lazy] == ["delivered", "read", "undeliverable", "read", "rejected"]


async def _start_workflows(client):
    bodies = [flow(messenger(), sms()),  # read in time: completed on item 1
              flow(messenger(to="magic-never-read"), sms()),  # expires, completed on SMS
              flow(messenger(to="magic-absent"), sms(to="447700900910")),  # fails, then fails: error
              flow(sms(to="447700900930"), messenger(), condition="delivered", expiry=30)]  # stuck: expires
    return [(await post(client, "/beta/workflows", body))[1]["workflow_uuid"] for body in bodies]


async def _workflow_views(client, uuids):
    views = []
    for uuid in uuids:
        workflow = await (await client.get(f"/_mock/workflows/{uuid}")).json()
        messages = [item["message_uuid"] for item in workflow["items"] if "message_uuid" in item]
        views.append((workflow["status"], [(i["state"], i["sent_at"], i["ended_at"]) for i in workflow["items"]],
                      await _histories(client, messages)))
    return views


async def test_workflows_end_the_same_whether_or_not_anyone_watches(make_mock, receiver):
    unwatched = await make_mock(start_time=START)
    watched = await make_mock(start_time=START, status_url=receiver.url())
    lazy_ids, timed_ids = await _start_workflows(unwatched), await _start_workflows(watched)
    for seconds in (0.3, 2, 10, 30, 600, 60):
        await advance(unwatched, seconds)
        await advance(watched, seconds)
        assert await _workflow_views(unwatched, lazy_ids) == await _workflow_views(watched, timed_ids)
    statuses = [view[0] for view in await _workflow_views(unwatched, lazy_ids)]
    assert statuses == ["completed", "completed", "error", "completed"]


async def test_status_filters_and_conversations_see_due_steps(mock):
    await post(mock, "/beta/messages", sms())
    await advance(mock, 600)
    found = await (await mock.get("/_mock/messages", params={"status": "delivered"})).json()
    assert len(found["messages"]) == 1
    threads = await (await mock.get("/_mock/conversations")).json()
    assert json.dumps(threads).count('"delivered"') >= 1


async def test_next_due_and_pending_count_include_unwatched_steps(mock):
    _, body = await post(mock, "/beta/messages", sms())
    clock = await (await mock.get("/_mock/clock")).json()
    history = (await (await mock.get(f"/_mock/messages/{body['message_uuid']}")).json())["history"]
    assert clock["pending_timers"] == 1 and len(history) == 1
    await advance(mock, parse_iso(clock["next_due"]) - parse_iso(clock["now"]))  # exactly to the submitted step
    history = (await (await mock.get(f"/_mock/messages/{body['message_uuid']}")).json())["history"]
    assert [entry["status"] for entry in history] == ["accepted", "submitted"]
    await advance(mock, 600)
    clock = await (await mock.get("/_mock/clock")).json()
    assert clock["pending_timers"] == 0 and clock["next_due"] is None


async def test_a_status_url_set_midway_gets_only_the_statuses_still_to_come(mock, receiver):
    _, body = await post(mock, "/beta/messages", sms())
    await advance(mock, 0.5)  # submitted is due by now, delivered is not
    response = await mock.put("/_mock/config", json={"status_url": receiver.url()})
    assert response.status == 200
    await advance(mock, 600)
    statuses = [(b["message_uuid"], b["status"]) for b in receiver.bodies()]
    assert statuses == [(body["message_uuid"], "delivered")]


async def test_a_waiter_on_an_unwatched_message_wakes_when_the_clock_reaches_the_status(mock):
    _, body = await post(mock, "/beta/messages", messenger())
    waiting = asyncio.create_task(mock.get("/_mock/wait", params={"message_uuid": body["message_uuid"],
                                                                   "status": "read", "timeout": "5"}))
    await asyncio.sleep(0.05)  # the waiter is registered (wall time: the mock's clock stands still)
    assert not waiting.done()
    await advance(mock, 600)
    response = await asyncio.wait_for(waiting, 5)
    assert response.status == 200 and (await response.json())["status"] == "read"


async def test_a_live_stream_opened_after_the_send_still_sees_every_later_status(mock):
    await post(mock, "/beta/messages", messenger())
    response = await mock.get("/_mock/events")
    assert (await asyncio.wait_for(response.content.readline(), 5)).startswith(b"retry")
    await advance(mock, 600)
    statuses = []
    while len(statuses) < 3:
        line = (await asyncio.wait_for(response.content.readline(), 5)).decode()
        if line.startswith("data: ") and '"status":{' in line:
            statuses.append(json.loads(line[6:])["status"]["status"])
    assert statuses == ["submitted", "delivered", "read"]
    response.close()


# Delays whose sum lands on a whole millisecond only if each step is rounded as it is planned.
EXACT = {"messenger": {"jitter": 0, "delays": {"submitted": 0.2, "delivered": 0.4, "read": 14.4}}, "sms": {"jitter": 0}}


@pytest.mark.parametrize("watched", [False, True])
async def test_a_step_due_exactly_now_is_taken(make_mock, receiver, watched):
    client = await make_mock(profiles=EXACT, start_time="2018-06-01T12:00:00.123Z",
                             **({"status_url": receiver.url()} if watched else {}))
    _, answer = await post(client, "/beta/messages", messenger())
    await advance(client, 15)  # exactly 0.2 + 0.4 + 14.4
    message = await (await client.get(f"/_mock/messages/{answer['message_uuid']}")).json()
    assert message["status"] == "read" and message["history"][-1]["timestamp"] == "2018-06-01T12:00:15.123Z"
    clock = await (await client.get("/_mock/clock")).json()
    assert clock["pending_timers"] == 0 and clock["next_due"] is None


async def test_a_condition_met_exactly_at_expiry_counts_as_met(make_mock):
    client = await make_mock(profiles=EXACT, start_time="2018-06-01T12:00:00.123Z")
    body = flow(messenger(), sms(), condition="read", expiry=15)
    _, answer = await post(client, "/beta/workflows", body)
    await advance(client, 60)
    workflow = await (await client.get(f"/_mock/workflows/{answer['workflow_uuid']}")).json()
    assert [item["state"] for item in workflow["items"]] == ["condition_met", "skipped"]


async def test_waiting_by_recipient_among_thousands_of_unwatched_messages_does_not_stall(mock):
    for _ in range(4000):
        await post(mock, "/beta/messages", sms(to="447700900111"))
    started = time.monotonic()  # the first waiter's catch-up once re-ran its probe per message: 1.4 s here
    response = await mock.get("/_mock/wait", params={"to": "447700900999", "timeout": "0.01"})
    assert response.status == 408 and time.monotonic() - started < 0.7


async def test_a_live_stream_carries_no_catch_up_noise(mock):
    for _ in range(20):
        await post(mock, "/beta/messages", sms())
    await advance(mock, 1)
    response = await mock.get("/_mock/events")
    await post(mock, "/beta/messages", sms())
    types = []
    while len(types) < 2:
        line = (await asyncio.wait_for(response.content.readline(), 5)).decode()
        if line.startswith("event: "):
            types.append(line[7:].strip())
    assert types == ["hello", "message.accepted"]
    response.close()
