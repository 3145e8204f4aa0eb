"""The mock as its users run it: `python -m mockserver` in its own process on a free port, for tests that need that."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
        environ = {key: value for key, value in os.environ.items() if not key.startswith("MOCK_")}  # only `flags`
        process = subprocess.Popen([sys.executable, "-m", "mockserver", "--port", str(port), *flags],
                                   cwd=ROOT, env=environ, stdout=subprocess.DEVNULL, stderr=log)
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


async def trickle(writer: asyncio.StreamWriter, data: bytes, pause: float) -> None:
    """Send `data` a byte at a time, `pause` seconds apart: a slow-loris client."""
    for byte in data:
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(pause)
