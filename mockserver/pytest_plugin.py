"""The pytest plugin: the `messages_mock` fixture, a client of one mock per session, fresh for each test.

The mock runs in a child process (MockServer, in mockserver.client: the `mockserver` command itself), not on the
test's loop: it keeps answering while a synchronous test blocks in an HTTP call (a Flask app using `requests`,
urllib), and it does not depend on which async plugin (pytest-asyncio, pytest-aiohttp, anyio) or loop scope the
user's suite uses. Async tests use `messages_mock.aio`, whose calls run in a worker thread so the test's loop stays
free to answer the webhooks the mock sends meanwhile.

MockClient, MockServer and the rest are defined in mockserver.client, which does not import pytest; they are
re-exported here.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from .client import (
    FIXTURE_SETTINGS,
    RESTORED_CONFIG,
    AsyncMockClient,
    MockAccount,
    MockClient,
    MockError,
    MockServer,
    MockStartError,
    MockTimeout,
    baseline,
    restore,
)

__all__ = ["FIXTURE_SETTINGS", "RESTORED_CONFIG", "AsyncMockClient", "MockAccount", "MockClient", "MockError",
           "MockServer", "MockStartError", "MockTimeout"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockserver", "Messages API mock")
    group.addoption("--mock-url", default=None, metavar="URL",
                    help="use the mock already running at URL (e.g. a container) instead of starting one "
                         "for the session; also the MOCK_URL environment variable")


@pytest.fixture(scope="session")
def messages_mock_settings() -> dict[str, Any]:
    """Settings of the session's own mock (any `mockserver` setting by its config-file name). Override it."""
    return {}


@pytest.fixture(scope="session")
def messages_mock_session(request: pytest.FixtureRequest,
                          messages_mock_settings: dict[str, Any]) -> Iterator[MockClient]:
    """One mock for the whole session: the one at --mock-url / MOCK_URL, else one MockServer started for it."""
    url = request.config.getoption("mock_url") or os.environ.get("MOCK_URL")
    if url:
        client = MockClient(url, token=os.environ.get("MOCK_CONTROL_TOKEN"))
        client.wait_until_healthy()
        yield client
        return
    with MockServer(messages_mock_settings) as server:
        yield server.client()


@pytest.fixture(scope="session")
def messages_mock_baseline(messages_mock_session: MockClient) -> dict[str, Any]:
    """The runtime config as the session found it (RESTORED_CONFIG's keys); each test starts and ends with it."""
    return baseline(messages_mock_session)


@pytest.fixture
def messages_mock(messages_mock_session: MockClient, messages_mock_baseline: dict[str, Any]) -> Iterator[MockClient]:
    """The mock's client, with fresh state and the session's config for each test."""
    restore(messages_mock_session, messages_mock_baseline)
    yield messages_mock_session
    restore(messages_mock_session, messages_mock_baseline)


@pytest.fixture
def messages_mock_account(messages_mock_session: MockClient) -> Iterator[MockAccount]:
    """A fresh account of the session's mock for this test, with a unique api_key: its own messages, clock,
    config and webhooks, whatever other tests (other pytest-xdist workers, other CI jobs) do meanwhile. Send with
    its `authorization` (lenient auth); read and drive it through it."""
    account = messages_mock_session.for_account(f"test-{uuid.uuid4().hex[:16]}")
    yield account
    account.reset()
