"""Browser-test helpers: the mock as a real process, a control-API client, a threaded webhook receiver, Chromium."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiohttp import web

from .support import BASIC, Receiver, free_port

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
START_TIME = "2018-06-01T12:00:00.000Z"
STARTUP_SECONDS = 20.0



class MockProcess:
    """`python -m mockserver` on a fixed port with the manual clock; can be stopped and started again."""

    def __init__(self, token: str, port: int | None = None) -> None:
        self.token = token
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = Path(tempfile.mkdtemp(prefix="mock-page-test-")) / "mock.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [sys.executable, "-m", "mockserver", "--port", str(self.port), "--clock", "manual",
                   "--start-time", START_TIME, "--seed", "7", "--control-token", self.token, "--log-level", "warning"]
        with self.log.open("ab") as log:  # the child keeps its own copy of the file
            self.process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self._healthy():  # process start-up is wall time: nothing to advance
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the mock did not start: {self.log.read_text(errors='replace')}")
            time.sleep(0.05)

    def _healthy(self) -> bool:
        try:
            return Api(self).call("GET", "/_mock/health")[0] == 200
        except OSError:
            return False

    def stop(self, crash: bool = False) -> None:
        """SIGTERM, or SIGKILL with `crash` (a graceful stop waits seconds for open event streams to end)."""
        if self.process and self.process.poll() is None:
            if crash:
                self.process.kill()
            else:
                self.process.terminate()
            self.process.wait(10)
        self.process = None


class Api:
    """The control and emulated APIs over real HTTP, the way a user's test would call them."""

    def __init__(self, mock: MockProcess) -> None:
        self.mock = mock

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.mock.url + path, data=data, method=method, headers={
            "Content-Type": "application/json", "X-Mock-Token": self.mock.token, **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def ok(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        status, answer = self.call(method, path, body, headers)
        assert 200 <= status < 300, (status, answer)
        return answer

    def send(self, body: dict[str, Any]) -> str:
        return self.ok("POST", "/beta/messages", body, {"Authorization": BASIC})["message_uuid"]

    def start_workflow(self, body: dict[str, Any]) -> str:
        return self.ok("POST", "/beta/workflows", body, {"Authorization": BASIC})["workflow_uuid"]

    def advance(self, seconds: float) -> dict[str, Any]:
        return self.ok("POST", "/_mock/clock/advance", {"seconds": seconds})

    def inbound(self, body: dict[str, Any]) -> str:
        return self.ok("POST", "/_mock/inbound", body)["message_uuid"]

    def reset(self) -> None:
        self.ok("POST", "/_mock/reset")
        self.ok("PUT", "/_mock/config", {"status_url": None, "inbound_url": None})


@contextmanager
def threaded_receiver() -> Iterator[Receiver]:
    """conftest's Receiver on a real port, served from its own thread (the browser tests are synchronous)."""
    loop = asyncio.new_event_loop()
    receiver = Receiver()

    async def serve() -> web.AppRunner:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", receiver.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        receiver.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        return runner

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    runner = asyncio.run_coroutine_threadsafe(serve(), loop).result(10)
    try:
        yield receiver
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
