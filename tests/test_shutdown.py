"""A real server process stops cleanly on SIGTERM/SIGINT and says how many webhook deliveries were pending."""

from __future__ import annotations

import asyncio
import signal

import aiohttp
import pytest

from .support import BASIC, sms, spawn_mock


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_stops_cleanly_and_logs_pending_deliveries(receiver, signum):
    receiver.slow_when = (b"447700900", 30.0)  # the receiver stalls: deliveries stay in flight
    process, url = await spawn_mock("--clock", "real", "--time-scale", "0.001", "--status-url", receiver.url())
    async with aiohttp.ClientSession() as session:
        for _ in range(3):
            async with session.post(url + "/beta/messages", json=sms(), headers={"Authorization": BASIC}) as r:
                assert r.status == 202
    for _ in range(100):
        if len(receiver.received) >= 3:
            break
        await asyncio.sleep(0.05)
    process.send_signal(signum)
    output, _ = await asyncio.wait_for(process.communicate(), 15)
    log = output.decode()
    assert process.returncode == 0, log
    assert "webhook deliveries were still pending" in log
    pending = int(log.split("stopped; ")[1].split()[0])
    assert pending >= 3
    assert "Traceback" not in log


async def test_request_log_has_one_line_per_request():
    process, url = await spawn_mock("--clock", "manual")
    async with aiohttp.ClientSession() as session:
        async with session.post(url + "/beta/messages", json=sms(), headers={"Authorization": BASIC}) as r:
            assert r.status == 202
        async with session.get(url + "/nope") as r:
            assert r.status == 404
    process.send_signal(signal.SIGTERM)
    output, _ = await asyncio.wait_for(process.communicate(), 15)
    lines = output.decode().splitlines()
    assert any("POST /beta/messages 202" in line and line.endswith("ms") for line in lines)
    assert any("GET /nope 404" in line for line in lines)


async def test_warning_level_logs_no_request_lines():
    process, url = await spawn_mock("--clock", "manual", "--log-level", "warning")
    async with aiohttp.ClientSession() as session, session.get(url + "/_mock/health") as r:
        assert r.status == 200
    process.send_signal(signal.SIGTERM)
    output, _ = await asyncio.wait_for(process.communicate(), 15)
    assert "/_mock/health" not in output.decode()


async def test_open_event_streams_do_not_hold_up_shutdown():
    process, url = await spawn_mock("--clock", "manual")
    async with aiohttp.ClientSession() as session, session.get(url + "/_mock/events") as stream:
        assert b"hello" in await stream.content.readuntil(b"\n\n")
        started = asyncio.get_running_loop().time()
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), 15)
        assert asyncio.get_running_loop().time() - started < 1.5
    assert process.returncode == 0
