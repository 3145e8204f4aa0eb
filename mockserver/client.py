"""MockClient (the control API), its coroutine twin AsyncMockClient (`.aio`), and MockServer: the standard library only.

Nothing here imports pytest (the pytest plugin re-exports these), so they work in any script or test runner.

MockServer runs the `mockserver` command in a child process rather than the app in a thread of this one: the
command's server (mockserver.http_server.serve) is what sets the request-head limits, the header timeout, TLS and
the clean shutdown, and it must own its process's main thread (it installs the SIGINT/SIGTERM handlers). So a
fixture's mock answers exactly as the command does; it also gets a core of its own instead of sharing this
process's GIL with the tests. The child stops once this process closes its end of a pipe: on stop(), or when this
process dies, so no mock outlives its tests.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import os
import runpy
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import IO, Any, Concatenate, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

# MockServer's defaults: loopback, a free port, and time that moves only when the test advances it.
FIXTURE_SETTINGS: dict[str, Any] = {"host": "127.0.0.1", "port": 0, "clock": "manual"}
# Runtime config a test can change (every key PUT /_mock/config accepts), put back by restore().
RESTORED_CONFIG = ("status_url", "inbound_url", "signature_secret", "time_scale", "clock", "demo_mode", "profiles",
                   "rate_limit", "rate_burst", "rate_limits", "balance")
HTTP_MARGIN = 5.0  # seconds an HTTP call may take beyond a server-side wait
STARTUP_TIMEOUT = 30.0  # seconds for a MockServer to answer its first /_mock/health
STOP_TIMEOUT = 15.0  # seconds a stopping mock gets to finish (it lets webhooks finish for 2 s, then commits)
PORT_ATTEMPTS = 5  # free ports tried when another process took the chosen one before the mock bound it
DEFAULT_TLS_DIR = "mockserver-tls"  # the command's, where --tls-self-signed keeps its CA


class MockError(Exception):
    """The mock answered with an error: `status` and the problem-details body (`problem`)."""

    def __init__(self, method: str, path: str, status: int, problem: Any) -> None:
        self.status = status
        self.problem = problem
        super().__init__(f"{method} {path} -> {status}: {_describe(problem)}")


class MockTimeout(MockError):
    """`wait()` gave up: the condition did not hold within the timeout."""


class MockStartError(RuntimeError):
    """A MockServer's mock did not start; the message ends with what the mock printed."""


def _describe(problem: Any) -> str:
    if not isinstance(problem, dict):
        return str(problem)
    text = f"{problem.get('title', '')}: {problem.get('detail', '')}"
    params = problem.get("invalid_parameters") or []
    return text + "".join(f"\n  {p.get('name')}: {p.get('reason')}" for p in params)


def _address(value: str | dict[str, Any], channel: str = "messenger", key: str = "id") -> dict[str, Any]:
    if not isinstance(value, str):
        return value
    return {"type": "messenger", "id": value} if channel == "messenger" else {key: value}


# Inbound: which key holds the user's and the business's address on each channel (a number unless named here).
INBOUND_ADDRESS_KEYS = {"messenger": ("id", "id"), "viber_service": ("number", "id"), "rcs": ("number", "id")}


def _given(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


class MockClient:
    """A small synchronous client of the mock's control API (/_mock/*); standard library only.

    `token` is the mock's control token (sent as X-Mock-Token); `ssl_context` verifies an https mock.
    """

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 10.0,
                 ssl_context: ssl.SSLContext | None = None, account: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.account = account  # None: the whole mock; else every call addresses this account only
        self.aio = AsyncMockClient(self)

    def __repr__(self) -> str:
        return f"MockClient({self.base_url!r})" if self.account is None else \
            f"MockClient({self.base_url!r}, account={self.account!r})"

    def for_account(self, api_key: str, api_secret: str = "mock-secret") -> MockAccount:
        """A client of one account (an api_key): its messages, clock, config, rules and webhooks only. Send with
        its `authorization` header (Basic api_key:api_secret; lenient auth makes the account on first use)."""
        return MockAccount(self.base_url, self.token, self.timeout, self.ssl_context, account=api_key,
                           api_secret=api_secret)

    def accounts(self) -> list[dict[str, Any]]:
        """Every account (or this client's): account, messages, workflows, applications, clock."""
        return self._call("GET", "/_mock/accounts")["accounts"]

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
        """Inject an inbound message (Messenger unless `channel=` names another); returns its message_uuid.

        `from_` (the user: a PSID on Messenger, a number elsewhere) and `to` (the page id, business number, Viber
        service or RCS agent id) take an id or an address; `text` is a text content; `content` any content;
        `context`, `profile` and `webhook_version` go as given. Whatever is left out is faked.
        """
        body = {("from" if key == "from_" else key): value for key, value in fields.items()}
        channel = body.get("channel", "messenger")
        for side, key in zip(("from", "to"), INBOUND_ADDRESS_KEYS.get(channel, ("number", "number")), strict=True):
            if side in body:
                body[side] = _address(body[side], channel, key)
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

    # -- the API edge: faults, rate limit, balance ------------------------------------------------
    def add_fault(self, *, account: str | None = None, **fault: Any) -> dict[str, Any]:
        """Add a fault (the body of POST /_mock/faults: match, status, retry_after, body, latency_ms, jitter_ms,
        drop, probability, times, after, window); returns it with its id."""
        return self._call("POST", "/_mock/faults", fault, query=_given(account=account))

    def faults(self) -> list[dict[str, Any]]:
        """Every fault with its hits."""
        return self._call("GET", "/_mock/faults")["faults"]

    def delete_fault(self, id: str) -> None:
        self._call("DELETE", f"/_mock/faults/{_quote(id)}")

    def clear_faults(self) -> None:
        self._call("DELETE", "/_mock/faults")

    @contextmanager
    def fault(self, *, path: str | None = None, method: str | None = None, channel: str | None = None,
              to: str | None = None, to_pattern: str | None = None, application_id: str | None = None,
              account: str | None = None, **fault: Any) -> Iterator[dict[str, Any]]:
        """A fault for the `with` block, removed on exit: `with mock.fault(status=429, retry_after=1, times=2,
        path="/v1/messages"):`. The match keys are keyword arguments; the rest as POST /_mock/faults takes them."""
        added = self.add_fault(account=account, **_fault_body(path, method, channel, to, to_pattern, application_id,
                                                              fault))
        try:
            yield added
        finally:
            self.delete_fault(added["id"])

    def rate_limit(self, requests_per_second: float, burst: int | None = None) -> dict[str, Any]:
        """Throttle the emulated API to this many requests per simulated second (0: off); returns the config."""
        return self.config(rate_limit=requests_per_second, **_given(rate_burst=burst))

    def balance(self, eur: float | None) -> dict[str, Any]:
        """Set the balance in EUR (None: unlimited); returns the config."""
        return self.config(balance=eur)

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
        if self.account is not None:
            headers["X-Mock-Account"] = self.account
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout, context=self.ssl_context) as answer:
                payload = answer.read()
        except urllib.error.HTTPError as exc:
            raise MockError(method, path, exc.code, _decode(exc.read())) from None
        return _decode(payload) if payload else None


def _fault_body(path: str | None, method: str | None, channel: str | None, to: str | None, to_pattern: str | None,
                application_id: str | None, fault: dict[str, Any]) -> dict[str, Any]:
    match = _given(path=path, method=method, channel=channel, to=to, to_pattern=to_pattern,
                   application_id=application_id)
    return {**({"match": match} if match else {}), **fault}


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


class MockAccount(MockClient):
    """MockClient.for_account's client, with the credentials its sends use."""

    def __init__(self, base_url: str, token: str | None, timeout: float, ssl_context: ssl.SSLContext | None, *,
                 account: str, api_secret: str) -> None:
        super().__init__(base_url, token, timeout, ssl_context, account=account)
        self.api_key, self.api_secret = account, api_secret

    @property
    def authorization(self) -> str:
        """The Basic Authorization header value of this account's key and secret."""
        return "Basic " + base64.b64encode(f"{self.api_key}:{self.api_secret}".encode()).decode()


class AsyncMockClient:
    """MockClient's methods as coroutines, for async tests (`messages_mock.aio`): any asyncio loop will do.

    Each call runs the blocking one in a worker thread, so the test's loop stays free to answer the webhooks the
    mock sends meanwhile (advance() returns only once they were answered).
    """

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
    add_fault = _in_thread(MockClient.add_fault)
    faults = _in_thread(MockClient.faults)
    delete_fault = _in_thread(MockClient.delete_fault)
    clear_faults = _in_thread(MockClient.clear_faults)
    rate_limit = _in_thread(MockClient.rate_limit)
    balance = _in_thread(MockClient.balance)
    accounts = _in_thread(MockClient.accounts)

    @asynccontextmanager
    async def fault(self, *, path: str | None = None, method: str | None = None, channel: str | None = None,
                    to: str | None = None, to_pattern: str | None = None, application_id: str | None = None,
                    account: str | None = None, **fault: Any) -> AsyncIterator[dict[str, Any]]:
        """MockClient.fault for `async with`."""
        added = await self.add_fault(account=account, **_fault_body(path, method, channel, to, to_pattern,
                                                                    application_id, fault))
        try:
            yield added
        finally:
            await self.delete_fault(added["id"])
    wait_until_healthy = _in_thread(MockClient.wait_until_healthy)


def baseline(client: MockClient) -> dict[str, Any]:
    """The runtime config restore() puts back: what a test can change through the client."""
    return {key: value for key, value in client.config().items() if key in RESTORED_CONFIG}


def restore(client: MockClient, config: dict[str, Any]) -> None:
    """Reset the state (messages, workflows, deliveries, timers, user rules) and put `config` (a baseline()) back.

    Simulated time is not wound back: the clock cannot go back.
    """
    client.reset()
    client.clear_faults()
    current = client.config()
    changed = {key: value for key, value in config.items() if current.get(key) != value}
    if changed:
        client.config(**changed)


# -- the mock in a child process ------------------------------------------------------------------
class MockServer:
    """The mock in a child process running the `mockserver` command; a context manager.

    `settings` are `mockserver` settings by their config-file names (`{"config": FILE}` reads that file first,
    the others win over it); the defaults are FIXTURE_SETTINGS: 127.0.0.1, a free port, the manual clock. The
    MOCK_* environment plays no part. Attributes: `url` (the base URL, once started), `settings` (what it runs
    with, the port chosen included), `token` (its control token, or None), `process` (the child, while it runs).
    """

    def __init__(self, settings: dict[str, Any] | None = None, *, startup_timeout: float = STARTUP_TIMEOUT) -> None:
        self.settings = _merge_settings(settings or {})
        self.token: str | None = self.settings.get("control_token") or None
        self.url = ""
        self.process: subprocess.Popen[bytes] | None = None
        self.startup_timeout = startup_timeout
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._log: IO[bytes] | None = None
        self._output = ""

    def __repr__(self) -> str:
        return f"MockServer({self.url or 'not running'})"

    def start(self) -> str:
        """Start the mock and return its base URL once it answers /_mock/health; raises MockStartError."""
        self._dir = tempfile.TemporaryDirectory(prefix="mockserver-")
        try:
            self._start_on_a_port()
        except BaseException:
            self.stop()
            raise
        return self.url

    def client(self, timeout: float = 10.0) -> MockClient:
        """A client of this mock, with its control token (and its CA, for --tls-self-signed)."""
        return MockClient(self.url, token=self.token, timeout=timeout, ssl_context=self._ssl_context())

    def output(self) -> str:
        """What the mock printed so far (its log: stdout and stderr)."""
        if self._log is None:
            return self._output
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def stop(self) -> None:
        """Stop the mock as SIGTERM does (webhooks in flight finish, the state file is committed)."""
        self._end_process()
        if self._log is not None:
            self._output = self.output()
            self._log.close()
            self._log = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None
        self.url = ""

    def __enter__(self) -> MockServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _start_on_a_port(self) -> None:
        fixed = int(self.settings.get("port") or 0)
        for _ in range(PORT_ATTEMPTS):
            port = fixed or _free_port(self.settings["host"])
            if self._launch(port):
                self.settings["port"] = port
                return
            if fixed or "already in use" not in self.output().lower():
                break
        raise MockStartError(f"the mock did not start:\n{self.output()}")

    def _launch(self, port: int) -> bool:
        """Run the command on `port`; True once it answers, False if it exited first."""
        assert self._dir is not None
        config = Path(self._dir.name) / "settings.json"
        config.write_text(json.dumps({**self.settings, "port": port}, default=str))
        if self._log is not None:
            self._log.close()
        self._log = open(Path(self._dir.name) / "mock.log", "w+b")  # noqa: SIM115 (closed by stop())
        self.process = subprocess.Popen([sys.executable, "-m", "mockserver.client", "--config", str(config)],
                                        stdin=subprocess.PIPE, stdout=self._log, stderr=subprocess.STDOUT,
                                        env=_child_environment())
        self.url = _base_url(self.settings, port)
        if self._answers():
            return True
        self._end_process()
        return False

    def _answers(self) -> bool:
        """Poll /_mock/health until this process's mock answers; False if it exited first."""
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        while self.process.poll() is None:
            try:
                self.client(timeout=2.0).health()
                return self.process.poll() is None  # not another server that took the port meanwhile
            except (OSError, MockError):
                if time.monotonic() > deadline:
                    raise MockStartError(f"the mock did not answer within {self.startup_timeout:g} s:\n"
                                         f"{self.output()}") from None
                time.sleep(0.05)
        return False

    def _ssl_context(self) -> ssl.SSLContext | None:
        if self.settings.get("tls_self_signed"):
            ca = Path(self.settings.get("tls_dir") or DEFAULT_TLS_DIR) / "ca.pem"
            return ssl.create_default_context(cafile=str(ca))  # not there until the mock made it: an OSError
        return None

    def _end_process(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        assert process.stdin is not None
        process.stdin.close()  # the child stops as on SIGTERM (see _stop_when_stdin_closes)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _merge_settings(settings: dict[str, Any]) -> dict[str, Any]:
    given = dict(settings)
    from_file: dict[str, Any] = {}
    if given.get("config"):
        from .config import read_config_file

        from_file = read_config_file(str(given.pop("config")))
    return {**FIXTURE_SETTINGS, **from_file, **given}


def _scheme(settings: dict[str, Any]) -> str:
    return "https" if settings.get("tls_cert") or settings.get("tls_self_signed") else "http"


def _base_url(settings: dict[str, Any], port: int) -> str:
    """Where to reach a mock listening on settings' host: a wildcard address is reached on loopback."""
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(settings["host"], settings["host"])
    return f"{_scheme(settings)}://{f'[{host}]' if ':' in host else host}:{port}"


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        sock.bind((host if host != "localhost" else "127.0.0.1", 0))
        return sock.getsockname()[1]


def _child_environment() -> dict[str, str]:
    """This process's environment without MOCK_* settings: only MockServer's settings count."""
    return {key: value for key, value in os.environ.items() if not key.startswith("MOCK_")}


def _serve_as_child(argv: list[str]) -> None:
    """`python -m mockserver.client ARGS`: `python -m mockserver ARGS`, stopped as by SIGTERM once stdin closes."""
    threading.Thread(target=_stop_when_stdin_closes, name="parent-watch", daemon=True).start()
    sys.argv = ["mockserver", *argv]
    runpy.run_module("mockserver", run_name="__main__", alter_sys=True)


def _stop_when_stdin_closes() -> None:
    # os.read, not sys.stdin: a daemon thread blocked inside a buffered reader can abort the interpreter's exit.
    while os.read(0, 4096):
        pass
    os.kill(os.getpid(), signal.SIGTERM)


if __name__ == "__main__":
    _serve_as_child(sys.argv[1:])
