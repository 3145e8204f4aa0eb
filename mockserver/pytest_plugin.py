"""The pytest plugin: the `messages_mock` fixture, the in-process MockServer and MockClient of the control API.

The in-process mock runs in a background thread with its own event loop, not on the test's loop: it must keep
answering while a synchronous test blocks in an HTTP call (a Flask app using `requests`, urllib), and it must not
depend on which async plugin (pytest-asyncio, anyio, pytest-aiohttp) or loop scope the user's suite uses. Async
tests use `messages_mock.aio`, whose calls run in a worker thread so the test's loop stays free to answer the
webhooks the mock sends meanwhile.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import pytest

if TYPE_CHECKING:
    from aiohttp import web

    from .config import Settings

P = ParamSpec("P")
R = TypeVar("R")

# Fixture defaults: loopback, a free port, and time that moves only when the test advances it.
FIXTURE_SETTINGS = {"host": "127.0.0.1", "port": 0, "clock": "manual"}
# Runtime config the fixture puts back after each test (the keys PUT /_mock/config accepts).
RESTORED_CONFIG = ("status_url", "inbound_url", "signature_secret", "time_scale", "demo_mode", "profiles")
HTTP_MARGIN = 5.0  # seconds an HTTP call may take beyond a server-side wait


class MockError(Exception):
    """The mock answered with an error: `status` and the problem-details body (`problem`)."""

    def __init__(self, method: str, path: str, status: int, problem: Any) -> None:
        self.status = status
        self.problem = problem
        super().__init__(f"{method} {path} -> {status}: {_describe(problem)}")


class MockTimeout(MockError):
    """`wait()` gave up: the condition did not hold within the timeout."""


def _describe(problem: Any) -> str:
    if not isinstance(problem, dict):
        return str(problem)
    text = f"{problem.get('title', '')}: {problem.get('detail', '')}"
    params = problem.get("invalid_parameters") or []
    return text + "".join(f"\n  {p.get('name')}: {p.get('reason')}" for p in params)


def _address(value: str | dict[str, Any]) -> dict[str, Any]:
    return {"type": "messenger", "id": value} if isinstance(value, str) else value


def _given(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


class MockClient:
    """A small synchronous client of the mock's control API (/_mock/*); standard library only."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.aio = AsyncMockClient(self)

    def __repr__(self) -> str:
        return f"MockClient({self.base_url!r})"

    # -- inspecting -----------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return self._call("GET", "/_mock/health")

    def messages(self, to: str | None = None, channel: str | None = None, status: str | None = None,
                 direction: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Stored messages, newest first, filtered by recipient, channel, latest status, direction."""
        query = _given(to=to, channel=channel, status=status, direction=direction, limit=limit)
        return self._call("GET", "/_mock/messages", query=query)["messages"]

    def message(self, message_uuid: str) -> dict[str, Any]:
        """One message with its status history and its webhook deliveries."""
        return self._call("GET", f"/_mock/messages/{_quote(message_uuid)}")

    def workflow(self, workflow_uuid: str) -> dict[str, Any]:
        return self._call("GET", f"/_mock/workflows/{_quote(workflow_uuid)}")

    def webhooks(self, message_uuid: str | None = None, workflow_uuid: str | None = None,
                 kind: str | None = None) -> list[dict[str, Any]]:
        """Webhook deliveries (kind status, inbound or workflow), each with every attempt."""
        query = _given(message_uuid=message_uuid, workflow_uuid=workflow_uuid, kind=kind)
        return self._call("GET", "/_mock/webhooks", query=query)["deliveries"]

    def wait(self, *, message_uuid: str | None = None, to: str | None = None, workflow_uuid: str | None = None,
             status: str | None = None, timeout: float = 5.0) -> dict[str, Any]:
        """The message (by uuid or recipient) once it reached `status`, or the workflow once it has `status`.

        `timeout` is wall time; with the manual clock, advance it first. Raises MockTimeout.
        """
        query = _given(message_uuid=message_uuid, to=to, workflow_uuid=workflow_uuid, status=status, timeout=timeout)
        try:
            return self._call("GET", "/_mock/wait", query=query, timeout=timeout + HTTP_MARGIN)
        except MockError as exc:
            if exc.status == 408:
                raise MockTimeout("GET", "/_mock/wait", exc.status, exc.problem) from None
            raise

    def clock(self) -> dict[str, Any]:
        return self._call("GET", "/_mock/clock")

    def rules(self) -> list[dict[str, Any]]:
        """Every outcome rule: the user's first, then the built-in magic recipients."""
        return self._call("GET", "/_mock/rules")["rules"]

    # -- driving --------------------------------------------------------------------------------
    def advance(self, seconds: float) -> dict[str, Any]:
        """Move the clock forward; returns once everything due has fired and its webhooks were answered."""
        return self._call("POST", "/_mock/clock/advance", {"seconds": seconds}, timeout=max(self.timeout, 60.0))

    def inbound(self, *, text: str | None = None, **fields: Any) -> str:
        """Inject an inbound Messenger message; returns its message_uuid.

        `from_` (the user's PSID) and `to` (the page id) take an id or an address; `text` is a text content;
        `content` any content. Whatever is left out is faked.
        """
        body = {("from" if key == "from_" else key): value for key, value in fields.items()}
        for side in ("from", "to"):
            if side in body:
                body[side] = _address(body[side])
        if text is not None:
            body["content"] = {"type": "text", "text": text}
        return self._call("POST", "/_mock/inbound", body)["message_uuid"]

    def add_rule(self, outcome: str, *, id: str | None = None, error_code: int | None = None,
                 delay_factor: float | None = None, **match: str) -> dict[str, Any]:
        """Add an outcome rule; `match` takes channel, to, to_pattern, text_contains. Returns the rule."""
        body = _given(id=id, match=match, outcome=outcome, error_code=error_code, delay_factor=delay_factor)
        return self._call("POST", "/_mock/rules", body)

    def delete_rule(self, id: str) -> None:
        self._call("DELETE", f"/_mock/rules/{_quote(id)}")

    def config(self, **changes: Any) -> dict[str, Any]:
        """The running configuration; with keyword arguments, merge them in first (None clears a URL)."""
        if changes:
            return self._call("PUT", "/_mock/config", changes)
        return self._call("GET", "/_mock/config")

    def reset(self) -> None:
        """All messages, workflows, deliveries, timers and user rules gone (the config stays)."""
        self._call("POST", "/_mock/reset")

    def wait_until_healthy(self, timeout: float = 30.0) -> dict[str, Any]:
        """Poll /_mock/health until the mock answers (a container or process starting); raises MockError."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self._call("GET", "/_mock/health", timeout=2.0)
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise MockError("GET", "/_mock/health", 0, f"no mock answering at {self.base_url}: {exc}") from exc
                time.sleep(0.05)

    # -- transport ------------------------------------------------------------------------------
    def _call(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None,
              timeout: float | None = None) -> Any:
        url = self.base_url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        headers = {"Accept": "application/json"}
        if self.token:
            headers["X-Mock-Token"] = self.token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            raise MockError(method, path, exc.code, _decode(exc.read())) from None
        return _decode(payload) if payload else None


def _quote(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


def _decode(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return payload.decode(errors="replace")


def _in_thread(
        method: Callable[Concatenate[MockClient, P], R]) -> Callable[Concatenate[AsyncMockClient, P], Awaitable[R]]:
    """The MockClient method as a coroutine that runs it in a worker thread."""

    @functools.wraps(method)
    async def call(self: AsyncMockClient, *args: P.args, **kwargs: P.kwargs) -> R:
        return await asyncio.to_thread(method, self.sync, *args, **kwargs)

    return call


class AsyncMockClient:
    """MockClient's methods as coroutines, for async tests (`messages_mock.aio`)."""

    def __init__(self, sync: MockClient) -> None:
        self.sync = sync

    @property
    def base_url(self) -> str:
        return self.sync.base_url

    health = _in_thread(MockClient.health)
    messages = _in_thread(MockClient.messages)
    message = _in_thread(MockClient.message)
    workflow = _in_thread(MockClient.workflow)
    webhooks = _in_thread(MockClient.webhooks)
    wait = _in_thread(MockClient.wait)
    clock = _in_thread(MockClient.clock)
    rules = _in_thread(MockClient.rules)
    advance = _in_thread(MockClient.advance)
    inbound = _in_thread(MockClient.inbound)
    add_rule = _in_thread(MockClient.add_rule)
    delete_rule = _in_thread(MockClient.delete_rule)
    config = _in_thread(MockClient.config)
    reset = _in_thread(MockClient.reset)


class MockServer:
    """The mock served in-process, in a background thread with its own event loop (a context manager).

    `settings` are `mockserver` settings by their config-file names; by default 127.0.0.1, a free port and
    the manual clock.
    """

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self.settings = {**FIXTURE_SETTINGS, **(settings or {})}
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    def start(self) -> str:
        """Serve, and return the base URL once the port is bound."""
        from .config import load_settings

        settings = load_settings(self.settings, environ={})  # validates; the user's MOCK_* env plays no part
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="messages-mock", daemon=True)
        self._thread.start()
        try:
            self._runner = asyncio.run_coroutine_threadsafe(_serve(settings), self._loop).result()
        except BaseException:
            self._stop_loop()
            raise
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        return self.url

    def stop(self) -> None:
        if self._runner is not None and self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result()
            self._runner = None
        self._stop_loop()

    def _stop_loop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
        self._loop = self._thread = None

    def __enter__(self) -> MockServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


async def _serve(settings: Settings) -> web.AppRunner:
    from aiohttp import web

    from .access_log import AccessLogger
    from .app import create_app

    runner = web.AppRunner(create_app(settings), access_log_class=AccessLogger)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    return runner


def _restore(client: MockClient, baseline: dict[str, Any]) -> None:
    """Reset the state and put the runtime config back as it was when the session started."""
    client.reset()
    current = client.config()
    changed = {key: value for key, value in baseline.items() if current.get(key) != value}
    if changed:
        client.config(**changed)


# -- pytest hooks and fixtures --------------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockserver", "Messages API mock")
    group.addoption("--mock-url", default=None, metavar="URL",
                    help="use the mock already running at URL (e.g. a container) instead of starting one "
                         "in-process; also the MOCK_URL environment variable")


@pytest.fixture(scope="session")
def messages_mock_settings() -> dict[str, Any]:
    """Settings of the in-process mock (any `mockserver` setting by its config-file name). Override it."""
    return {}


@pytest.fixture(scope="session")
def messages_mock_session(request: pytest.FixtureRequest,
                          messages_mock_settings: dict[str, Any]) -> Iterator[MockClient]:
    """One mock for the whole session: the one at --mock-url / MOCK_URL, else one started in-process."""
    url = request.config.getoption("mock_url") or os.environ.get("MOCK_URL")
    if url:
        client = MockClient(url, token=os.environ.get("MOCK_CONTROL_TOKEN"))
        client.wait_until_healthy()
        yield client
        return
    with MockServer(messages_mock_settings) as server:
        yield MockClient(server.url)


@pytest.fixture(scope="session")
def messages_mock_baseline(messages_mock_session: MockClient) -> dict[str, Any]:
    """The runtime config as the session found it; each test starts and ends with it."""
    return {key: value for key, value in messages_mock_session.config().items() if key in RESTORED_CONFIG}


@pytest.fixture
def messages_mock(messages_mock_session: MockClient, messages_mock_baseline: dict[str, Any]) -> Iterator[MockClient]:
    """The mock's client, with fresh state and the session's config for each test."""
    _restore(messages_mock_session, messages_mock_baseline)
    yield messages_mock_session
    _restore(messages_mock_session, messages_mock_baseline)
