"""Example: testing an app that sends messages (examples/my_app.py) with the mockserver pytest plugin.

Installing the mockserver package is enough: pytest finds the plugin and its `messages_mock` fixture, a client
of a mock started for the session (manual clock, fresh state and config for each test). The async tests need an
asyncio plugin: pytest-aiohttp (it installs pytest-asyncio), with `asyncio_mode = "auto"` and
`asyncio_default_fixture_loop_scope = "function"` under [tool.pytest.ini_options] (as in the README).

Against a mock that already runs (a container in CI): `pytest --mock-url http://localhost:8181` (or MOCK_URL);
set WEBHOOK_HOST to the name under which that mock reaches this test process (e.g. host.docker.internal).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from my_app import create_app

from mockserver.client import MockClient

WEBHOOK_HOST = os.environ.get("WEBHOOK_HOST", "127.0.0.1")
CUSTOMER = "447700900123"


@pytest.fixture
async def app(messages_mock: MockClient) -> AsyncIterator[TestClient]:
    """The app on a real port, sending to the mock; the mock's webhooks come back to the app."""
    listen = "127.0.0.1" if WEBHOOK_HOST == "127.0.0.1" else "0.0.0.0"  # else a container could not reach it
    server = TestServer(create_app(api_url=messages_mock.base_url), host=listen)
    async with TestClient(server) as client:
        base = f"http://{WEBHOOK_HOST}:{server.port}"
        await messages_mock.aio.config(status_url=f"{base}/webhooks/status", inbound_url=f"{base}/webhooks/inbound")
        yield client


async def place_order(app: TestClient, phone: str = CUSTOMER) -> dict[str, Any]:
    response = await app.post("/orders", json={"phone": phone, "item": "a teapot"})
    assert response.status == 201
    return await response.json()


async def test_an_order_texts_the_customer(app: TestClient, messages_mock: MockClient) -> None:
    order = await place_order(app)

    [sms] = await messages_mock.aio.messages(to=CUSTOMER)
    assert sms["message_uuid"] == order["message_uuid"]
    assert sms["channel"] == "sms"
    assert sms["message"]["content"]["text"] == f"Your order of a teapot is confirmed (ref {order['id']})."


async def test_the_order_tracks_delivery_from_the_status_webhooks(app: TestClient, messages_mock: MockClient) -> None:
    order = await place_order(app)

    # Simulated time: a minute passes in milliseconds; advance() returns once the app has answered the webhooks.
    await messages_mock.aio.advance(60)

    assert (await (await app.get(f"/orders/{order['id']}")).json())["notification"] == "delivered"
    deliveries = await messages_mock.aio.webhooks(message_uuid=order["message_uuid"])
    assert {d["payload"]["status"] for d in deliveries} == {"submitted", "delivered"}
    assert all(d["state"] == "delivered" for d in deliveries)


async def test_an_undeliverable_text_is_recorded_with_its_error(app: TestClient, messages_mock: MockClient) -> None:
    await messages_mock.aio.add_rule("undeliverable", error_code=1180, to=CUSTOMER)
    order = await place_order(app)

    await messages_mock.aio.advance(60)

    order = await (await app.get(f"/orders/{order['id']}")).json()
    assert order["notification"] == "undeliverable"
    assert order["error"]["code"] == 1180


async def test_a_customer_reply_reaches_the_inbox(app: TestClient, messages_mock: MockClient) -> None:
    await messages_mock.aio.inbound(from_="1234567890123456", text="Where is my teapot?")

    await messages_mock.aio.advance(1)

    inbox = await (await app.get("/inbox")).json()
    assert inbox["messages"] == [{"from": "1234567890123456",
                                  "content": {"type": "text", "text": "Where is my teapot?"}}]


def test_plain_synchronous_tests_use_the_client_directly(messages_mock: MockClient) -> None:
    """No async needed: e.g. a Flask app under test that sends with `requests`, then these calls."""
    uuid = messages_mock.inbound(text="hello")
    assert messages_mock.wait(message_uuid=uuid, status="received", timeout=1)["direction"] == "inbound"
