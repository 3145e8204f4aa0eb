"""TLS: the self-signed local CA and certificate, the user's own certificate, and `mockserver --tls-self-signed`."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import ssl
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509

from mockserver import tls
from mockserver.app import create_app
from mockserver.config import ConfigError, Settings, load_settings

from .support import LiveMock, free_port, https_mock

REPO = Path(__file__).resolve().parent.parent


@asynccontextmanager
async def serving(context: ssl.SSLContext) -> AsyncIterator[int]:
    """The mock on a real port of 127.0.0.1, speaking TLS with `context`; yields the port."""
    runner = web.AppRunner(create_app(Settings(clock="manual")))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


async def health(url: str, ca: Path | None = None) -> int:
    context = ssl.create_default_context(cafile=str(ca) if ca else None)
    async with aiohttp.ClientSession() as session, session.get(f"{url}/_mock/health", ssl=context) as response:
        return response.status



async def test_self_signed_certificate_is_trusted_through_the_local_ca(tmp_path):
    server = tls.server_tls(Settings(tls_self_signed=True, tls_dir=str(tmp_path)))
    assert server.ca == tmp_path / "ca.pem"
    async with serving(server.context) as port:
        assert await health(f"https://127.0.0.1:{port}", server.ca) == 200
        assert await health(f"https://localhost:{port}", server.ca) == 200


async def test_a_client_that_does_not_trust_the_ca_refuses_the_connection(tmp_path):
    server = tls.server_tls(Settings(tls_self_signed=True, tls_dir=str(tmp_path)))
    async with serving(server.context) as port:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await health(f"https://127.0.0.1:{port}")


def test_the_certificate_names_localhost_and_both_loopback_addresses(tmp_path):
    cert_path, _, _ = tls.make_self_signed(tmp_path)
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1"),
                                                         ipaddress.ip_address("::1")]


def test_the_ca_is_kept_across_starts_and_the_keys_are_private(tmp_path):
    first_cert, key, ca = tls.make_self_signed(tmp_path)
    first_ca, first_leaf = ca.read_bytes(), first_cert.read_bytes()
    second_cert, _, _ = tls.make_self_signed(tmp_path)
    assert ca.read_bytes() == first_ca
    assert second_cert.read_bytes() != first_leaf
    assert (key.stat().st_mode & 0o777, (tmp_path / "ca-key.pem").stat().st_mode & 0o777) == (0o600, 0o600)


async def test_the_users_own_certificate_and_key_are_served(tmp_path):
    cert, key, ca = tls.make_self_signed(tmp_path / "theirs")
    server = tls.server_tls(Settings(tls_cert=str(cert), tls_key=str(key)))
    assert server.ca is None
    async with serving(server.context) as port:
        assert await health(f"https://localhost:{port}", ca) == 200


@pytest.mark.parametrize(("settings", "message"), [
    ({"tls_cert": "cert.pem"}, "go together"),
    ({"tls_key": "key.pem"}, "go together"),
    ({"tls_self_signed": True, "tls_cert": "cert.pem"}, "leave tls_cert and tls_key unset"),
    ({"tls_cert": "missing.pem", "tls_key": "missing-key.pem"}, "cannot use the TLS certificate missing.pem"),
])
def test_unusable_tls_settings_are_refused_with_a_reason(tmp_path, settings, message):
    with pytest.raises(ConfigError, match=message):
        tls.server_tls(Settings(tls_dir=str(tmp_path), **settings))


def test_a_tls_dir_that_cannot_be_written_is_refused_with_a_reason(tmp_path):
    (tmp_path / "a-file").write_text("")
    with pytest.raises(ConfigError, match="point tls_dir at a writable folder"):
        tls.server_tls(Settings(tls_self_signed=True, tls_dir=str(tmp_path / "a-file" / "tls")))


def test_the_environment_turns_tls_on_like_the_flags(tmp_path):
    settings = load_settings({}, environ={"MOCK_TLS_SELF_SIGNED": "true", "MOCK_TLS_DIR": str(tmp_path)})
    assert tls.server_tls(settings).ca == tmp_path / "ca.pem"


def test_an_unreadable_local_ca_is_reported_not_replaced(tmp_path):
    (tmp_path / "ca.pem").write_text("not a certificate")
    (tmp_path / "ca-key.pem").write_text("not a key")
    with pytest.raises(ConfigError, match="unreadable"):
        tls.make_self_signed(tmp_path)
    assert (tmp_path / "ca.pem").read_text() == "not a certificate"


async def test_the_command_serves_https_and_prints_how_to_trust_the_ca(tmp_path):
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mockserver", "--port", str(port), "--clock", "manual", "--tls-self-signed",
        "--tls-dir", str(tmp_path / "tls"), cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        printed = []
        while not any("NODE_EXTRA_CA_CERTS" in line for line in printed):
            line = await asyncio.wait_for(process.stdout.readline(), 20)
            assert line, "the mock exited before printing the trust instructions"
            printed.append(line.decode())
        ca = (tmp_path / "tls" / "ca.pem").resolve()
        assert f"REQUESTS_CA_BUNDLE={ca}" in "".join(printed)
        serving_line = await asyncio.wait_for(process.stderr.readline(), 20)
        while b"serving the Messages API mock on" not in serving_line:
            serving_line = await asyncio.wait_for(process.stderr.readline(), 20)
        assert f"https://127.0.0.1:{port}".encode() in serving_line
        assert await health(f"https://localhost:{port}", ca) == 200
    finally:
        process.terminate()
        await process.wait()


# -- what is not a TLS handshake on the TLS port ------------------------------------------------------------------
def plain_request(port: int, request: bytes) -> bytes:
    """Send the bytes unencrypted and read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
        return answer


def log_lines(mock: LiveMock, text: str) -> list[str]:
    return [line for line in mock.output().splitlines() if text in line]


def test_plain_http_on_the_tls_port_is_closed_unanswered_and_logged_once_per_connection(tmp_path):
    with https_mock(tmp_path / "tls", log_level="info") as (port, context, mock):
        assert plain_request(port, b"GET /_mock/health HTTP/1.1\r\nHost: m\r\n\r\n") == b""
        assert plain_request(port, b"DELETE /_mock/rules/1 HTTP/1.1\r\nHost: m\r\n\r\n") == b""
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
                context.wrap_socket(raw, server_hostname="localhost") as sock:  # https is served as ever
            sock.sendall(b"GET /_mock/health HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n")
            assert sock.recv(16) == b"HTTP/1.1 200 OK\r"
        time.sleep(0.2)  # (wall time) the log lines are written as the connections close
        [plain] = log_lines(mock, "plain HTTP on the TLS port")
        assert plain.endswith("WARNING mockserver.http: plain HTTP on the TLS port from 127.0.0.1: "
                              "the client must use https://")
        [other] = log_lines(mock, "not TLS")  # OpenSSL names only GET, POST, HEAD and PUT as HTTP
        assert other.endswith("WARNING mockserver.http: not TLS on the TLS port from 127.0.0.1 (plain HTTP?): "
                              "the client must use https://")
        assert "Traceback" not in mock.output()


def test_a_client_that_does_not_trust_the_certificate_is_logged_at_info(tmp_path):
    with https_mock(tmp_path / "tls", log_level="info") as (port, _, mock):
        with pytest.raises(ssl.SSLCertVerificationError), socket.create_connection(("127.0.0.1", port)) as raw:
            ssl.create_default_context().wrap_socket(raw, server_hostname="localhost")
        time.sleep(0.2)  # (wall time)
        [line] = log_lines(mock, "TLS handshake")
        assert line.endswith("INFO mockserver.http: TLS handshake with 127.0.0.1 failed: TLSV1_ALERT_UNKNOWN_CA "
                             "(the client does not trust the certificate)")
