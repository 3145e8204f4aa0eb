"""The mock as its users run it: `python -m mockserver` in its own process on a free port, for tests that need that."""

from __future__ import annotations

import asyncio
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


@contextmanager
def https_mock(tls_dir: Path, log_level: str = "warning") -> Iterator[tuple[int, ssl.SSLContext, LiveMock]]:
    """The command with --tls-self-signed; yields its port, a client context trusting its CA, and the process."""
    port = free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen([sys.executable, "-m", "mockserver", "--port", str(port), "--clock", "manual",
                                    "--tls-self-signed", "--tls-dir", str(tls_dir), "--header-timeout", "1",
                                    "--log-level", log_level], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
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
