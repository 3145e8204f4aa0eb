"""--state-file: history, timers, webhook retries, rules and config survive restarts, SIGTERM and kill -9."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from mockserver.api.keys import ACCOUNTS

from .support import BASIC, Receiver, advance, free_port, messenger, mock_command, post, sms, spawn_mock
from .support import workflow as flow

START = "2018-06-01T00:00:00Z"
STUCK = "447700900930"  # a magic recipient: stays submitted



@dataclass
class Server:
    """A mock running as its own process (`python -m mockserver`), its output in a file."""

    process: asyncio.subprocess.Process
    url: str
    output: Path
    http: aiohttp.ClientSession

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.http.request(method, self.url + path, json=body, headers={"Authorization": BASIC}) as r:
            return r.status, await r.json() if r.content_type.endswith("json") else None

    async def get(self, path: str) -> Any:
        status, answer = await self.call("GET", path)
        assert status == 200, answer
        return answer

    async def send(self, path: str, body: dict[str, Any], key: str = "message_uuid") -> str:
        status, answer = await self.call("POST", path, body)
        assert status == 202, answer
        return answer[key]

    async def advance(self, seconds: float) -> None:
        status, answer = await self.call("POST", "/_mock/clock/advance", {"seconds": seconds})
        assert status == 200, answer

    async def kill(self) -> None:
        self.process.kill()
        await self.process.wait()

    async def exited(self) -> str:
        assert await asyncio.wait_for(self.process.wait(), 15) == 0, self.output.read_text()
        return self.output.read_text()


Spawn = Callable[..., Awaitable[Server]]


@pytest.fixture
async def spawn(tmp_path: Path) -> AsyncIterator[Spawn]:
    """Start mock processes on free ports, all with the same state file; kills what is left at the end."""
    processes: list[asyncio.subprocess.Process] = []
    http = aiohttp.ClientSession()

    async def start(*args: str) -> Server:
        output = tmp_path / f"server-{len(processes)}.log"
        with output.open("wb") as sink:
            process, url = await spawn_mock("--state-file", str(tmp_path / "mock.db"), *args, output=sink,
                                            describe=output.read_text)
        processes.append(process)
        return Server(process, url, output, http)

    yield start
    for process in processes:
        if process.returncode is None:
            process.kill()
            await process.wait()
    await http.close()


async def _history(server: Server) -> dict[str, Any]:
    """Everything the control API shows about the past and the pending future."""
    return {"messages": (await server.get("/_mock/messages?limit=1000"))["messages"],
            "workflows": (await server.get("/_mock/workflows"))["workflows"],
            "webhooks": (await server.get("/_mock/webhooks"))["deliveries"],
            "clock": await server.get("/_mock/clock")}


async def _statuses(server: Server, uuid: str) -> list[str]:
    return [entry["status"] for entry in (await server.get(f"/_mock/messages/{uuid}"))["history"]]


# -- real processes: kill -9, SIGTERM, the real clock ------------------------------------------------
async def test_kill_9_keeps_the_history_and_the_message_accepted_just_before(spawn, receiver):
    args = ("--clock", "manual", "--start-time", START, "--status-url", receiver.url(),
            "--inbound-url", receiver.url("/inbound"))
    server = await spawn(*args)
    await server.send("/beta/messages", sms())
    await server.send("/beta/messages", messenger())
    await server.send("/beta/workflows", flow(sms(to=STUCK), messenger(), condition="delivered"), key="workflow_uuid")
    await server.send("/_mock/inbound", {"content": {"type": "text", "text": "a reply"}})
    await server.advance(30)
    before = await _history(server)
    last = await server.send("/beta/messages", sms(text="accepted right before kill -9"))
    await server.kill()

    server = await spawn(*args)
    after = await _history(server)
    newest = after["messages"].pop(0)
    assert newest["message_uuid"] == last and [h["status"] for h in newest["history"]] == ["accepted"]
    assert after["clock"]["pending_timers"] == before["clock"]["pending_timers"] + 1  # its next status
    assert after["clock"]["now"] == before["clock"]["now"]
    del after["clock"], before["clock"]
    assert after == before
    assert len(before["webhooks"]) == 7 and {d["state"] for d in before["webhooks"]} == {"delivered"}


async def test_status_steps_and_workflow_expiry_resume_after_kill_9(spawn, receiver):
    args = ("--clock", "manual", "--start-time", START, "--status-url", receiver.url())
    server = await spawn(*args)
    message = await server.send("/beta/messages", messenger())
    workflow = await server.send("/beta/workflows", flow(sms(to=STUCK), messenger(to="555"), condition="delivered"),
                                 key="workflow_uuid")
    await server.advance(1)  # messenger submitted; delivered comes about 1.5 s later
    assert await _statuses(server, message) == ["accepted", "submitted"]
    await server.kill()

    server = await spawn(*args)
    await server.advance(299)
    assert await _statuses(server, message) == ["accepted", "submitted", "delivered", "read"]
    assert (await server.get(f"/_mock/workflows/{workflow}"))["status"] == "in_progress"
    await server.advance(300)  # the first item expires 600 s after it was sent
    items = (await server.get(f"/_mock/workflows/{workflow}"))["items"]
    assert [item["state"] for item in items] == ["expired", "sent"]
    assert items[0]["ended_at"] == "2018-06-01T00:10:00.000Z"
    await server.advance(60)
    assert (await server.get(f"/_mock/workflows/{workflow}"))["status"] == "completed"
    statuses = [b["status"] for b in receiver.bodies() if b.get("message_uuid") == message]
    assert statuses == ["submitted", "delivered", "read"]  # each once: nothing lost, nothing repeated


async def test_a_receiver_that_was_down_gets_the_retried_webhooks_after_a_restart(spawn):
    port = free_port()  # nothing listens there yet: every attempt is refused
    args = ("--time-scale", "0.01", "--webhook-retry-base", "30", "--status-url", f"http://127.0.0.1:{port}/status")
    server = await spawn(*args)
    uuid = await server.send("/beta/messages", sms())
    async with asyncio.timeout(5):  # real clock: the first attempt is refused, the next one is 30 s (0.3 s) away
        while [d["state"] for d in (await server.get(f"/_mock/webhooks?message_uuid={uuid}"))["deliveries"]] != [
                "pending", "retrying"]:  # newest first: "delivered" waits in its lane behind "submitted"
            await asyncio.sleep(0.01)
    await server.kill()

    receiver = Receiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        server = await spawn(*args)  # the retry is overdue by now (0.3 s wall): it goes at once
        async with asyncio.timeout(10):
            while len(receiver.received) < 2:
                await asyncio.sleep(0.02)
    finally:
        await runner.cleanup()
    assert [b["status"] for b in receiver.bodies()] == ["submitted", "delivered"]
    [delivered, submitted] = (await server.get(f"/_mock/webhooks?message_uuid={uuid}"))["deliveries"]
    assert [a.get("status_code") for a in submitted["attempts"]][-1] == 200
    assert "status_code" not in submitted["attempts"][0]  # refused before the restart
    assert submitted["state"] == delivered["state"] == "delivered"


async def test_sigterm_under_load_loses_no_accepted_message_and_logs_what_was_pending(spawn):
    server = await spawn()
    accepted: list[str] = []
    failed: list[str] = []
    connector = aiohttp.TCPConnector(limit=32)
    async with aiohttp.ClientSession(connector=connector, headers={"Authorization": BASIC}) as client:

        async def one(i: int) -> None:
            try:
                async with client.post(server.url + "/beta/messages", json=sms(text=f"burst {i}")) as response:
                    if response.status == 202:
                        accepted.append((await response.json())["message_uuid"])
                        if len(accepted) == 100:
                            server.process.send_signal(signal.SIGTERM)
                    else:
                        failed.append(f"{response.status} {await response.text()}")
            except aiohttp.ClientError:
                pass  # refused or cut off by the shutdown: never answered 202

        await asyncio.gather(*(one(i) for i in range(300)))
    log = await server.exited()
    assert failed == []
    assert "Traceback" not in log
    assert "webhook deliveries were still pending, kept in the state file" in log
    kept_lines = [line for line in log.splitlines() if ": kept " in line]  # one per account (default and BASIC's)
    kept = sum(int(line.split(": kept ")[1].split()[0]) for line in kept_lines)
    to_come = sum(int(line.split(" messages (")[1].split()[0]) for line in kept_lines)
    assert 100 <= len(accepted) < 300  # SIGTERM landed mid-burst: the rest was refused or cut off
    assert kept >= len(accepted) and to_come > 0  # real clock: their statuses were still to come

    server = await spawn()
    stored = {m["message_uuid"] for m in (await server.get("/_mock/messages?limit=1000"))["messages"]}
    assert set(accepted) <= stored


async def test_a_second_server_cannot_use_a_state_file_in_use(make_mock, tmp_path):
    state = str(tmp_path / "mock.db")
    await make_mock(state_file=state)  # holds the file, in this process
    second = await asyncio.create_subprocess_exec(
        *mock_command(free_port(), "--state-file", state),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(second.communicate(), 15)
    assert second.returncode == 2  # a start-up error, like every bad setting
    assert f"mockserver: state file {state}: database is locked (is another mock using it?)" in output.decode()


# -- in-process restarts (same code path, a real port, faster) ---------------------------------------
async def test_rules_and_run_time_config_survive_a_restart(make_mock, tmp_path):
    state = str(tmp_path / "mock.db")
    client = await make_mock(state_file=state, start_time=START)
    rule = {"id": "fail-this", "match": {"to": "447700900123"}, "outcome": "undeliverable", "error_code": 1300}
    assert (await client.post("/_mock/rules", json=rule)).status == 201
    change = {"status_url": "http://127.0.0.1:9/status", "profiles": {"sms": {"jitter": 0}}, "demo_mode": True}
    assert (await client.put("/_mock/config", json=change)).status == 200
    rules, config = await (await client.get("/_mock/rules")).json(), await (await client.get("/_mock/config")).json()
    await client.close()

    client = await make_mock(state_file=state, inbound_url="http://127.0.0.1:9/inbound")
    assert await (await client.get("/_mock/rules")).json() == rules
    # The run-time changes come back; settings never changed at run time follow the new start.
    assert await (await client.get("/_mock/config")).json() == {**config, "inbound_url": "http://127.0.0.1:9/inbound"}
    status, answer = await post(client, "/beta/messages", sms(to="447700900123"))
    assert status == 202
    await advance(client, 10)
    message = await (await client.get(f"/_mock/messages/{answer['message_uuid']}")).json()
    assert message["status"] == "undeliverable" and message["history"][-1]["error"]["code"] == 1300


async def test_steps_taken_unwatched_before_a_status_url_came_are_not_sent_after_a_restart(make_mock, tmp_path,
                                                                                            receiver):
    state = str(tmp_path / "mock.db")
    client = await make_mock(state_file=state, start_time=START)
    _, answer = await post(client, "/beta/messages", sms(to=STUCK))  # accepted, then submitted, then nothing
    await advance(client, 5)
    assert (await client.put("/_mock/config", json={"status_url": receiver.url()})).status == 200
    await client.close()

    client = await make_mock(state_file=state)
    await advance(client, 60)
    message = await (await client.get(f"/_mock/messages/{answer['message_uuid']}")).json()
    assert [entry["status"] for entry in message["history"]] == ["accepted", "submitted"]
    assert receiver.received == []  # submitted came before there was a status URL


async def test_a_restart_with_a_status_url_sends_only_the_statuses_after_the_restart(make_mock, tmp_path, receiver):
    state = str(tmp_path / "mock.db")
    client = await make_mock(state_file=state, start_time=START)
    _, answer = await post(client, "/beta/messages", sms())
    await advance(client, 1)  # submitted is due by now (nobody watched it), delivered is not
    await client.close()

    client = await make_mock(state_file=state, status_url=receiver.url())
    await advance(client, 60)
    assert [(body["message_uuid"], body["status"]) for body in receiver.bodies()] == [
        (answer["message_uuid"], "delivered")]


async def test_a_failover_decided_before_its_message_was_pruned_ends_the_same_after_a_restart(make_mock, tmp_path):
    state = str(tmp_path / "mock.db")
    client = await make_mock(history_limit=2, start_time=START, state_file=state)
    body = flow(messenger(), sms())
    _, answer = await post(client, "/beta/workflows", body)
    for _ in range(2):  # the workflow's message is pruned
        await post(client, "/beta/messages", sms())
    await client.close()

    client = await make_mock(history_limit=2, state_file=state)
    await advance(client, 700)
    workflow = await (await client.get(f"/_mock/workflows/{answer['workflow_uuid']}")).json()
    assert [item["state"] for item in workflow["items"]] == ["condition_met", "skipped"]


async def test_a_state_file_that_cannot_be_written_answers_503_problem(make_mock, tmp_path):
    client = await make_mock(state_file=str(tmp_path / "mock.db"))
    accounts = client.app[ACCOUNTS]
    accounts.state.close(accounts.by_account())  # as at shutdown: nothing more can be saved
    status, problem = await post(client, "/beta/messages", sms())
    assert status == 503 and problem["title"] == "State file unavailable" and "closed" in problem["detail"]


async def test_reset_empties_the_state_file(make_mock, tmp_path):
    state = tmp_path / "mock.db"
    client = await make_mock(state_file=str(state))
    await post(client, "/beta/messages", sms())
    await post(client, "/beta/workflows", flow(sms(to=STUCK), messenger(), condition="delivered"))
    assert (await client.post("/_mock/rules", json={"match": {"to": "1"}, "outcome": "rejected",
                                                         "error_code": 1000})).status == 201
    await advance(client, 30)
    assert (await client.post("/_mock/reset")).status == 204
    await client.close()

    with sqlite3.connect(state) as db:
        counts = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("messages", "workflows",
                                                                                     "deliveries")}
        keys = {key for (key,) in db.execute("SELECT key FROM meta")}
    db.close()
    assert counts == {"messages": 0, "workflows": 0, "deliveries": 0}
    assert "rules" not in keys
    client = await make_mock(state_file=str(state))
    health = await (await client.get("/_mock/health")).json()
    assert health["counts"] == {"messages": 0, "workflows": 0, "deliveries": 0} and health["pending_timers"] == 0


async def test_pruned_history_leaves_the_state_file_too(make_mock, tmp_path):
    state = tmp_path / "mock.db"
    client = await make_mock(state_file=str(state), history_limit=2)
    uuids = [(await post(client, "/beta/messages", sms(text=str(i))))[1]["message_uuid"] for i in range(3)]
    await client.close()

    client = await make_mock(state_file=str(state), history_limit=2)
    listed = [m["message_uuid"] for m in (await (await client.get("/_mock/messages")).json())["messages"]]
    assert listed == uuids[:0:-1]
    assert (await (await client.get("/_mock/health")).json())["pruned"]["messages"] == 1
    await client.close()
    with sqlite3.connect(state) as db:
        assert db.execute("SELECT count(*) FROM messages").fetchone()[0] == 2
    db.close()

