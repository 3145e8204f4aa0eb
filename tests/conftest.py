"""Shared fixtures: the mock behind a real aiohttp test server, and real webhook receivers on real ports."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from mockserver.app import create_app
from mockserver.config import Settings
from mockserver.contract import Contract

BASIC = "Basic " + base64.b64encode(b"abcd1234:s3cr3t").decode()


@pytest.fixture(scope="session")
def contract() -> Contract:
    return Contract()


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


@pytest.fixture
async def receiver(aiohttp_server: Callable[..., Awaitable[Any]]) -> Receiver:
    recv = Receiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", recv.handle)
    server = await aiohttp_server(app)
    recv.base_url = str(server.make_url("")).rstrip("/")
    return recv


MakeMock = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def make_mock(aiohttp_client: Callable[..., Awaitable[TestClient]], contract: Contract) -> MakeMock:
    """Start the mock (manual clock by default) with the given settings; returns an aiohttp test client."""

    async def make(**overrides: Any) -> TestClient:
        settings = replace(Settings(clock="manual", port=0), **overrides)
        return await aiohttp_client(create_app(settings, contract=contract))

    return make


@pytest.fixture
async def mock(make_mock: MakeMock) -> TestClient:
    return await make_mock()


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
