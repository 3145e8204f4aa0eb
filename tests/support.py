"""What the tests share: free ports, the mock in its own process, webhook receivers, request builders."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient

BASIC = "Basic " + base64.b64encode(b"abcd1234:s3cr3t").decode()
AS_SENDER = {"X-Mock-Account": "abcd1234"}  # the control API, addressing the account that BASIC sends in


# -- ports and the mock in its own process -----------------------------------------------------------
ROOT = Path(__file__).parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mock_command(port: int, *flags: str) -> list[str]:
    """`python -m mockserver` on `port` with these flags, as its users run it."""
    return [sys.executable, "-m", "mockserver", "--port", str(port), *flags]


def mock_environment() -> dict[str, str]:
    """This process's environment without MOCK_* variables: only the flags configure a launched mock."""
    return {key: value for key, value in os.environ.items() if not key.startswith("MOCK_")}


def get(url: str, headers: dict[str, str] | None = None, timeout: float = 5) -> bytes:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


@dataclass
class LiveMock:
    base_url: str
    process: subprocess.Popen[bytes]
    log: tempfile._TemporaryFileWrapper[bytes]  # stderr goes to a file: a full pipe would stall the server

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")


@contextmanager
def running_mock(*flags: str, headers: dict[str, str] | None = None) -> Iterator[LiveMock]:
    """Start it with these flags on a free port, wait until /_mock/health answers on 127.0.0.1, stop it (SIGTERM)."""
    port = free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(mock_command(port, *flags), cwd=ROOT, env=mock_environment(),
                                   stdout=subprocess.DEVNULL, stderr=log)
        mock = LiveMock(f"http://127.0.0.1:{port}", process, log)
        try:
            _wait_until_healthy(mock, headers)
            yield mock
        finally:
            process.terminate()
            process.wait(10)


def _wait_until_healthy(mock: LiveMock, headers: dict[str, str] | None) -> None:
    deadline = time.monotonic() + 15
    while True:
        try:
            get(mock.base_url + "/_mock/health", headers)
            return
        except OSError:
            if mock.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the mock did not start:\n{mock.output()}") from None
            time.sleep(0.05)


async def spawn_mock(*flags: str, output: Any = asyncio.subprocess.PIPE,
                     describe: Any = None) -> tuple[asyncio.subprocess.Process, str]:
    """Start the mock as an asyncio subprocess (stdout and stderr to `output`) on a free port; wait until
    /_mock/health answers; returns the process and its base URL. The caller stops it. `describe()`: what to show
    if it does not start."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(*mock_command(port, *flags), cwd=ROOT, env=mock_environment(),
                                                   stdout=output, stderr=asyncio.subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline and process.returncode is None:
            try:
                async with session.get(url + "/_mock/health") as response:
                    if response.status == 200:
                        return process, url
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.02)  # waiting for a process to start: no clock to advance
    if process.returncode is None:
        process.kill()
        await process.wait()
    raise AssertionError("the mock did not start" + (f":\n{describe()}" if describe else ""))


async def trickle(writer: asyncio.StreamWriter, data: bytes, pause: float) -> None:
    """Send `data` a byte at a time, `pause` seconds apart: a slow-loris client."""
    for byte in data:
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(pause)


# -- webhook receivers (the `receiver` fixture in conftest serves one) --------------------------------
@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    arrived_at: float = 0.0
    answered_at: float = 0.0

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook receiver: records every request; `script[path]` lists answers (status codes or coroutines)."""

    base_url: str = ""
    received: list[Received] = field(default_factory=list)
    script: dict[str, list[Any]] = field(default_factory=dict)
    delay: dict[str, float] = field(default_factory=dict)
    slow_when: tuple[bytes, float] | None = None  # (substring of the body, seconds to stall)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str = "/status") -> str:
        return self.base_url + path

    def bodies(self, path: str = "/status") -> list[Any]:
        return [r.json for r in self.received if r.path == path]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        record = Received(request.path, dict(request.headers), body, arrived_at=time.monotonic())
        self.received.append(record)
        self.arrived.set()
        if request.path in self.delay:
            await asyncio.sleep(self.delay[request.path])
        if self.slow_when and self.slow_when[0] in body:
            await asyncio.sleep(self.slow_when[1])
        answers = self.script.get(request.path)
        answer = answers.pop(0) if answers else 200
        record.answered_at = time.monotonic()
        if callable(answer):
            return await answer(request)
        return web.Response(status=answer, text="ok" if answer < 300 else "no")



# -- request builders -----------------------------------------------------------------------------------
def sms(to: str = "447700900000", text: str = "Hello from the mock", sender: str = "447700900001") -> dict[str, Any]:
    return {"to": {"type": "sms", "number": to}, "from": {"type": "sms", "number": sender},
            "message": {"content": {"type": "text", "text": text}}}


def messenger(to: str = "1234567890123456", text: str = "Hi on Messenger", page: str = "9876543210") -> dict[str, Any]:
    return {"to": {"type": "messenger", "id": to}, "from": {"type": "messenger", "id": page},
            "message": {"content": {"type": "text", "text": text}}}


def viber(to: str = "447700900000", text: str = "Hi on Viber", sender: str = "viber-service-id") -> dict[str, Any]:
    return {"to": {"type": "viber_service_msg", "number": to}, "from": {"type": "viber_service_msg", "id": sender},
            "message": {"content": {"type": "text", "text": text},
                        "viber_service_msg": {"category": "transaction"}}}


async def post(client: TestClient, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    response = await client.post(path, json=body, headers=headers or {"Authorization": BASIC})
    return response.status, await response.json()


async def advance(client: TestClient, seconds: float) -> dict[str, Any]:
    response = await client.post("/_mock/clock/advance", json={"seconds": seconds})
    assert response.status == 200, await response.text()
    return await response.json()


def failover_item(body: dict[str, Any], condition: str = "read", expiry: float | None = 600) -> dict[str, Any]:
    """A workflow item that fails over unless its message reaches `condition` within `expiry` seconds."""
    rule: dict[str, Any] = {"condition_status": condition}
    if expiry is not None:
        rule = {"expiry_time": expiry, **rule}
    return {**body, "failover": rule}


def workflow(*items: dict[str, Any], condition: str = "read", expiry: float | None = 600,
             template: str = "failover") -> dict[str, Any]:
    """A /beta/workflows body: every item but the last gets a failover (condition, expiry) unless it has one."""
    steps = [item if "failover" in item or index == len(items) - 1 else failover_item(item, condition, expiry)
             for index, item in enumerate(items)]
    return {"template": template, "workflow": steps}


@contextmanager
def https_mock(tls_dir: Path, log_level: str = "warning") -> Iterator[tuple[int, ssl.SSLContext, LiveMock]]:
    """The command with --tls-self-signed; yields its port, a client context trusting its CA, and the process."""
    port = free_port()
    with tempfile.TemporaryFile() as log:
        command = mock_command(port, "--clock", "manual", "--tls-self-signed", "--tls-dir", str(tls_dir),
                               "--header-timeout", "1", "--log-level", log_level)
        process = subprocess.Popen(command, cwd=ROOT, env=mock_environment(), stdout=subprocess.DEVNULL, stderr=log)
        mock = LiveMock(f"https://127.0.0.1:{port}", process, log)
        try:
            context = _wait_for_tls(port, tls_dir / "ca.pem", mock)
            yield port, context, mock
        finally:
            process.terminate()
            process.wait(10)


def _wait_for_tls(port: int, ca: Path, mock: LiveMock) -> ssl.SSLContext:
    deadline = time.monotonic() + 15
    while True:
        try:
            context = ssl.create_default_context(cafile=str(ca))
            with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
                    context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
                sock.sendall(b"GET /_mock/health HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n")
                if sock.recv(16).startswith(b"HTTP/1.1 200 "):
                    return context
        except OSError:
            pass
        if mock.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the mock did not start:\n{mock.output()}")
        time.sleep(0.05)
