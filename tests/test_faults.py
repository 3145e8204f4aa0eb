"""Faults, with real receivers and real sockets: misbehaving webhook receivers, a thousand clients, slow senders.

Whatever a receiver does, the delivery log (GET /_mock/webhooks) must hold every attempt with its status code or
error and its latency, one delivery per event, and the receiver must get each event at least once and never more
often than it was attempted.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from .support import BASIC, Receiver, advance, free_port, post, running_mock, sms, trickle

TIMEOUT = 0.3  # seconds a webhook attempt may take in these tests
MAX_ATTEMPTS = 4
FAULT_SETTINGS = {"webhook_timeout": TIMEOUT, "webhook_max_attempts": MAX_ATTEMPTS, "profiles": {"sms": {"jitter": 0}}}
Answer = Callable[[web.Request], Awaitable[web.StreamResponse]]


# -- receivers that misbehave -----------------------------------------------------------------------------
def late(seconds: float, status: int = 200) -> Answer:
    async def answer(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(seconds)
        return web.Response(status=status, text="late")
    return answer


async def too_many_requests(request: web.Request) -> web.StreamResponse:
    return web.Response(status=429, headers={"Retry-After": "30"}, text="slow down")


class HalfAnswering:
    """A raw HTTP receiver: the first `broken` requests get a 200 whose body stops half way, then the connection
    closes; later ones get a whole 200. Counts what arrived, by body."""

    def __init__(self, broken: int) -> None:
        self.broken = broken
        self.received: collections.Counter[bytes] = collections.Counter()
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/status"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                self.received[await reader.readexactly(length)] += 1
                if sum(self.received.values()) <= self.broken:
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf an ans")
                    await writer.drain()
                    return
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def close(self) -> None:
        self.server.close()


# -- the log and what the receiver got -------------------------------------------------------------------
async def deliveries(client: Any, message_uuid: str) -> list[dict[str, Any]]:
    answer = await (await client.get("/_mock/webhooks", params={"message_uuid": message_uuid})).json()
    return sorted(answer["deliveries"], key=lambda d: d["created_at"])


def assert_log_complete(log: list[dict[str, Any]], received: collections.Counter[bytes]) -> None:
    """One delivery per status; every attempt journalled; at least once, and never more than attempted."""
    assert [d["payload"]["status"] for d in log] == ["submitted", "delivered"]
    for delivery in log:
        attempts = delivery["attempts"]
        assert attempts and delivery["state"] in ("delivered", "gave_up"), delivery
        for attempt in attempts:
            assert attempt["at"] and attempt["latency_ms"] >= 0
            assert ("status_code" in attempt) != ("error" in attempt), attempt
        successes = [i for i, a in enumerate(attempts) if 200 <= a.get("status_code", 0) < 300]
        if delivery["state"] == "delivered":
            assert successes == [len(attempts) - 1], attempts  # it stops at the first success
        else:
            assert successes == [] and len(attempts) == MAX_ATTEMPTS, attempts
        assert [a["at"] for a in attempts] == sorted(a["at"] for a in attempts)
        seen = received[orjson.dumps(delivery["payload"])]
        assert seen <= len(attempts)
        assert seen >= 1 or delivery["state"] == "gave_up"


def at(attempt: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(attempt["at"].replace("Z", "+00:00"))


def by_body(receiver: Receiver) -> collections.Counter[bytes]:
    return collections.Counter(orjson.dumps(orjson.loads(r.body)) for r in receiver.received)


async def send_and_settle(client: Any, seconds: float = 600) -> str:
    status, answer = await post(client, "/beta/messages", sms())
    assert status == 202
    for _ in range(int(seconds // 50)):  # in steps, so every retry of the chain gets its turn
        await advance(client, 50)
    return answer["message_uuid"]


# -- webhook faults -------------------------------------------------------------------------------------
async def test_a_receiver_that_refuses_connections_gets_every_attempt_logged_then_given_up(make_mock):
    client = await make_mock(status_url=f"http://127.0.0.1:{free_port()}/status", **FAULT_SETTINGS)
    log = await deliveries(client, await send_and_settle(client))
    assert_log_complete(log, collections.Counter())
    for delivery in log:
        assert delivery["state"] == "gave_up"
        assert all("Connect" in a["error"] for a in delivery["attempts"]), delivery["attempts"]


async def test_a_receiver_that_hangs_past_the_timeout_is_retried_and_the_timeout_logged(make_mock, receiver):
    receiver.script["/status"] = [late(2.0)]  # the first request hangs; its retry and the next are answered
    client = await make_mock(status_url=receiver.url(), **FAULT_SETTINGS)
    log = await deliveries(client, await send_and_settle(client))
    assert_log_complete(log, by_body(receiver))
    first, second = log[0]["attempts"]
    assert first["error"] == f"timeout after {TIMEOUT:g} s" and first["latency_ms"] >= TIMEOUT * 900
    assert second["status_code"] == 200
    assert [a["status_code"] for a in log[1]["attempts"]] == [200]
    assert [p["status"] for p in receiver.bodies()] == ["submitted", "submitted", "delivered"]  # at least once


async def test_a_receiver_answering_500_then_200_gets_each_event_in_order(make_mock, receiver):
    receiver.script["/status"] = [500, 500, 500]
    client = await make_mock(status_url=receiver.url(), **FAULT_SETTINGS)
    log = await deliveries(client, await send_and_settle(client))
    assert_log_complete(log, by_body(receiver))
    assert [a["status_code"] for a in log[0]["attempts"]] == [500, 500, 500, 200]
    assert [p["status"] for p in receiver.bodies()] == ["submitted"] * 4 + ["delivered"]


async def test_a_429_with_retry_after_is_retried_no_sooner_than_asked(make_mock, receiver):
    receiver.script["/status"] = [too_many_requests]
    client = await make_mock(status_url=receiver.url(), **FAULT_SETTINGS)
    log = await deliveries(client, await send_and_settle(client))
    assert_log_complete(log, by_body(receiver))
    first, second = log[0]["attempts"]
    assert first["status_code"] == 429 and second["status_code"] == 200
    assert (at(second) - at(first)).total_seconds() >= 30


async def test_a_receiver_that_closes_mid_response_is_retried(make_mock):
    half = HalfAnswering(broken=2)
    try:
        client = await make_mock(status_url=await half.start(), **FAULT_SETTINGS)
        log = await deliveries(client, await send_and_settle(client))
    finally:
        half.close()
    assert_log_complete(log, half.received)
    first = log[0]["attempts"]
    assert "error" in first[0] and "Payload" in first[0]["error"], first
    assert all(delivery["state"] == "delivered" for delivery in log)
    assert sum(half.received.values()) == sum(len(d["attempts"]) for d in log)


async def test_an_answer_after_the_mock_gave_up_changes_nothing(make_mock, receiver):
    receiver.delay["/status"] = 1.0  # every answer comes after the 0.3 s the mock waits
    client = await make_mock(status_url=receiver.url(), **{**FAULT_SETTINGS, "webhook_max_attempts": 1})
    message_uuid = await send_and_settle(client, seconds=100)
    before = await deliveries(client, message_uuid)
    await asyncio.sleep(1.2)  # wall time: let the late answers reach the mock's closed connections
    await advance(client, 600)
    after = await deliveries(client, message_uuid)
    assert after == before
    for delivery in after:
        assert delivery["state"] == "gave_up"
        assert [a["error"] for a in delivery["attempts"]] == [f"timeout after {TIMEOUT:g} s"]
    assert sorted(r.json["status"] for r in receiver.received) == ["delivered", "submitted"]


async def test_twenty_messages_through_a_receiver_failing_in_turns_lose_nothing(make_mock, receiver):
    """Twenty messages against a receiver that fails in turns: each event once in the log, each delivered."""
    receiver.script["/status"] = [500, late(1.0), 503, too_many_requests, 500] * 4
    client = await make_mock(status_url=receiver.url(), **FAULT_SETTINGS)
    uuids = [(await post(client, "/beta/messages", sms(to=f"4477009001{i:02d}")))[1]["message_uuid"]
             for i in range(20)]
    for _ in range(12):
        await advance(client, 50)
    received = by_body(receiver)
    for message_uuid in uuids:
        log = await deliveries(client, message_uuid)
        assert_log_complete(log, received)
        assert all(delivery["state"] == "delivered" for delivery in log)


# -- many clients, slow clients ---------------------------------------------------------------------------
async def test_a_thousand_concurrent_keep_alive_connections_are_all_answered() -> None:
    with running_mock("--clock", "manual", "--log-level", "warning") as mock:
        created = 0

        async def count(*_: Any) -> None:
            nonlocal created
            created += 1

        trace = aiohttp.TraceConfig()
        trace.on_connection_create_end.append(count)
        connector = aiohttp.TCPConnector(limit=1000, keepalive_timeout=60)
        async with aiohttp.ClientSession(connector=connector, trace_configs=[trace],
                                         timeout=aiohttp.ClientTimeout(total=60)) as session:

            async def send(i: int) -> str:
                async with session.post(mock.base_url + "/beta/messages", json=sms(text=f"load {i}"),
                                        headers={"Authorization": BASIC}) as response:
                    assert response.status == 202, await response.text()
                    return (await response.json())["message_uuid"]

            for _ in range(2):  # the second round rides the connections the first opened
                uuids = await asyncio.gather(*(send(i) for i in range(1000)))
                assert len(set(uuids)) == 1000
            assert created >= 900  # they really were concurrent connections, and were kept alive
            async with session.get(mock.base_url + "/_mock/health") as response:
                assert (await response.json())["counts"]["messages"] == 2000
        assert "Traceback" not in mock.output()


async def test_a_body_trickled_byte_by_byte_times_out_without_blocking_others() -> None:
    with running_mock("--clock", "manual", "--body-timeout", "1", "--log-level", "warning") as mock:
        port = int(mock.base_url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        body = orjson.dumps(sms())
        writer.write(b"POST /beta/messages HTTP/1.1\r\nHost: mock\r\nContent-Type: application/json\r\n"
                     b"Authorization: " + BASIC.encode() + b"\r\nContent-Length: %d\r\n\r\n" % len(body))

        trickling = asyncio.create_task(trickle(writer, body[:-1], 0.05))  # never the last byte
        started = time.monotonic()
        async with aiohttp.ClientSession() as session:
            for _ in range(10):  # meanwhile, everyone else is served at once
                sent = time.monotonic()
                async with session.post(mock.base_url + "/beta/messages", json=sms(),
                                        headers={"Authorization": BASIC}) as response:
                    assert response.status == 202
                assert time.monotonic() - sent < 0.5  # not held up behind the 1 s the slow one gets
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        waited = time.monotonic() - started
        trickling.cancel()
        writer.close()
        await writer.wait_closed()  # before the mock stops, or its shutdown waits for this connection
        assert head.startswith(b"HTTP/1.1 408 ")
        assert b"application/json" in head
        assert 0.9 < waited < 3.0
