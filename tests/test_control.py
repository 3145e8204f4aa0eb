"""The control API: clock, wait, event stream, health and reset."""

from __future__ import annotations

import asyncio
import json

from mockserver.simulation.clock import iso, parse_iso

from .support import advance, messenger, post, sms


async def test_clock_shows_mode_scale_and_now(mock):
    clock = await (await mock.get("/_mock/clock")).json()
    assert clock["mode"] == "manual" and clock["time_scale"] == 1.0
    assert clock["now"].endswith("Z")


async def test_manual_clock_stands_still_until_advanced(mock):
    first = (await (await mock.get("/_mock/clock")).json())["now"]
    await asyncio.sleep(0.01)
    assert (await (await mock.get("/_mock/clock")).json())["now"] == first
    moved = await advance(mock, 90.5)
    assert parse_iso(moved["now"]) - parse_iso(first) == 90.5


async def test_advance_to_an_absolute_time_and_never_backwards(mock):
    now = parse_iso((await (await mock.get("/_mock/clock")).json())["now"])
    response = await mock.post("/_mock/clock/advance", json={"to": iso(now + 3600)})
    assert response.status == 200 and parse_iso((await response.json())["now"]) == now + 3600
    response = await mock.post("/_mock/clock/advance", json={"to": iso(now)})
    assert response.status == 409
    response = await mock.post("/_mock/clock/advance", json={"seconds": -5})
    assert response.status == 400


async def test_next_due_tells_when_something_will_happen(mock):
    assert (await (await mock.get("/_mock/clock")).json())["next_due"] is None
    await post(mock, "/beta/messages", sms())
    clock = await (await mock.get("/_mock/clock")).json()
    assert 0 < parse_iso(clock["next_due"]) - parse_iso(clock["now"]) < 1


async def test_wait_by_recipient_returns_once_the_status_is_reached(mock):
    await post(mock, "/beta/messages", sms(to="447700900777"))
    waiting = asyncio.create_task(mock.get("/_mock/wait", params={"to": "447700900777", "status": "delivered",
                                                                  "timeout": "5"}))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await advance(mock, 10)
    response = await asyncio.wait_for(waiting, 5)
    assert response.status == 200
    body = await response.json()
    assert body["to"]["number"] == "447700900777" and body["status"] == "delivered"


async def test_wait_times_out_with_408_problem(mock):
    response = await mock.get("/_mock/wait", params={"to": "447700900778", "status": "delivered", "timeout": "0.05"})
    assert response.status == 408
    assert (await response.json())["title"] == "Condition not met"


async def test_wait_needs_a_subject_and_a_sane_timeout(mock):
    assert (await mock.get("/_mock/wait", params={"status": "read"})).status == 400
    assert (await mock.get("/_mock/wait", params={"to": "1", "timeout": "forever"})).status == 400


async def test_event_stream_carries_every_status(mock):
    response = await mock.get("/_mock/events")
    assert response.headers["Content-Type"].startswith("text/event-stream")
    await post(mock, "/beta/messages", messenger())
    await advance(mock, 60)
    seen = []
    while len([e for e in seen if e[0] == "message.status" and e[1]]) < 3:
        line = (await asyncio.wait_for(response.content.readline(), 5)).decode().strip()
        if line.startswith("event: "):
            seen.append((line[7:], None))
        elif line.startswith("data: ") and seen:
            seen[-1] = (seen[-1][0], json.loads(line[6:]))
    types = [t for t, _ in seen]
    assert types[:2] == ["hello", "message.accepted"]
    statuses = [data["status"]["status"] for t, data in seen if t == "message.status"]
    assert statuses == ["submitted", "delivered", "read"]
    response.close()


async def test_health_counts_and_pending_work(mock):
    await post(mock, "/beta/messages", sms())
    health = await (await mock.get("/_mock/health")).json()
    assert health["counts"]["messages"] == 1 and health["pending_timers"] == 1


async def test_history_limit_prunes_the_oldest_and_counts_them(make_mock):
    client = await make_mock(history_limit=3)
    uuids = [(await post(client, "/beta/messages", sms()))[1]["message_uuid"] for _ in range(5)]
    listed = [m["message_uuid"] for m in (await (await client.get("/_mock/messages")).json())["messages"]]
    assert listed == uuids[:1:-1]
    health = await (await client.get("/_mock/health")).json()
    assert health["pruned"]["messages"] == 2
    await advance(client, 60)  # timers of pruned messages fire harmlessly
    assert (await (await client.get("/_mock/clock")).json())["pending_timers"] == 0
