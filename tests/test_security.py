"""Security basics: loopback by default, a warning when exposed without a token, the token's reach, size limits,
no input reflected as HTML, and webhook targets that only configuration can set."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from mockserver.config import Settings, is_loopback, load_settings

from .support import BASIC, LiveMock, advance, post, running_mock, sms

TOKEN = "s3cr3t-t0ken"
SCRIPT = "<script>alert(1)</script>"
LISTEN = "0A"  # the TCP state of a listening socket in /proc/net/tcp


def raw_request(mock: LiveMock, request: bytes) -> bytes:
    """Send bytes as they are (no client library would send these) and read the whole answer."""
    port = int(mock.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def listening_addresses(port: int) -> set[str]:
    """The local addresses listening on this TCP port, from the kernel's own table (IPv4)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if int(hex_port, 16) == port and state == LISTEN:
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


# -- where it listens ---------------------------------------------------------------------------------------
def test_the_default_settings_bind_loopback_only():
    assert Settings().host == "127.0.0.1" and is_loopback(Settings().host)
    assert load_settings({}, environ={}).host == "127.0.0.1"


def test_the_command_with_no_host_listens_on_loopback_only():
    with running_mock("--clock", "manual") as mock:
        port = int(mock.base_url.rsplit(":", 1)[1])
        assert listening_addresses(port) == {"127.0.0.1"}


def test_a_non_loopback_bind_without_a_token_warns():
    with running_mock("--host", "0.0.0.0", "--clock", "manual") as mock:  # reached only through 127.0.0.1 here
        assert "WARNING" in mock.output() and "without a control token" in mock.output()


@pytest.mark.parametrize("flags", [("--host", "0.0.0.0", "--control-token", TOKEN), ("--host", "127.0.0.1")])
def test_no_warning_with_a_token_or_on_loopback(flags):
    with running_mock(*flags, "--clock", "manual", headers={"X-Mock-Token": TOKEN}) as mock:
        assert "without a control token" not in mock.output()


# -- what the control token guards ----------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/", "/openapi.json", "/_mock/health", "/_mock/messages", "/_mock/events",
                                  "/_mock/wait?to=1&timeout=0", "/static/app.js"])
async def test_the_token_guards_the_page_the_stream_and_the_control_api(make_mock, path):
    client = await make_mock(control_token=TOKEN)
    for headers in ({}, {"X-Mock-Token": "wrong"}, {"Authorization": "Bearer wrong"}):
        response = await client.get(path, headers=headers)
        assert response.status == 401, (path, headers)
        assert response.content_type == "application/json"


async def test_the_page_and_the_event_stream_open_with_the_token(make_mock):
    client = await make_mock(control_token=TOKEN)
    page = await client.get("/", params={"token": TOKEN})
    assert page.status == 200 and page.content_type == "text/html"
    async with client.get("/_mock/events", headers={"X-Mock-Token": TOKEN}) as stream:
        assert stream.status == 200 and stream.content_type == "text/event-stream"
        assert await asyncio.wait_for(stream.content.readline(), 5) == b"retry: 1000\n"
    async with client.get("/_mock/events", headers={"Authorization": f"Bearer {TOKEN}"}) as stream:
        assert stream.status == 200


async def test_the_token_does_not_guard_the_emulated_api(make_mock):
    client = await make_mock(control_token=TOKEN)
    status, answer = await post(client, "/beta/messages", sms())
    assert status == 202, answer


async def test_without_the_token_no_one_can_point_webhooks_elsewhere(make_mock, receiver):
    client = await make_mock(control_token=TOKEN, status_url=receiver.url())
    response = await client.put("/_mock/config", json={"status_url": "http://127.0.0.1:9/stolen"})
    assert response.status == 401
    config = await (await client.get("/_mock/config", headers={"X-Mock-Token": TOKEN})).json()
    assert config["status_url"] == receiver.url()


# -- size limits ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def served() -> Iterator[LiveMock]:
    with running_mock("--clock", "manual", "--max-body-bytes", "4096", "--log-level", "error") as mock:
        yield mock


@pytest.mark.parametrize("request_bytes", [
    b"GET /_mock/health HTTP/1.1\r\nHost: m\r\nX-Big: " + b"a" * 10_000 + b"\r\n\r\n",
    b"GET /_mock/health HTTP/1.1\r\nHost: m\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(101)) + b"\r\n",
    b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: m\r\n\r\n",
], ids=["10 KB header", "101 headers", "10 KB URL"])
def test_oversized_request_heads_get_a_clean_4xx_and_the_server_carries_on(served, request_bytes):
    answer = raw_request(served, request_bytes)
    assert answer.split(b" ", 2)[1] in (b"414", b"431")  # problem details: see test_http_limits.py
    assert b"application/json" in answer.split(b"\r\n\r\n")[0]
    assert raw_request(served, b"GET /_mock/health HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n").startswith(
        b"HTTP/1.1 200 ")


def test_a_body_over_the_limit_is_a_413_problem(served):
    body = b'{"to": "' + b"x" * 5000 + b'"}'
    answer = raw_request(served, b"POST /beta/messages HTTP/1.1\r\nHost: m\r\nContent-Type: application/json\r\n"
                         b"Authorization: " + BASIC.encode() + b"\r\nConnection: close\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(body) + body)
    head, _, problem = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ") and b"application/json" in head
    assert b'"title":"Payload Too Large"' in problem


# -- nothing reflected as HTML ----------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "path"), [("GET", "/" + SCRIPT), ("GET", "/_mock/" + SCRIPT),
                                              ("DELETE", "/_mock/health?" + SCRIPT), ("GET", "/beta/messages"),
                                              ("GET", "/_mock/messages/" + SCRIPT)])
async def test_errors_echoing_the_request_are_json_never_html(mock, method, path):
    response = await mock.request(method, path, headers={"Accept": "text/html"})
    assert response.status in (404, 405)
    assert response.content_type == "application/json"
    assert {"type", "title", "detail", "instance"} <= set(await response.json())


def test_a_malformed_request_line_is_answered_in_json(served):
    answer = raw_request(served, SCRIPT.encode() + b" HTTP/1.1\r\nHost: m\r\nAccept: text/html\r\n\r\n")
    head = answer.split(b"\r\n\r\n")[0]
    assert head.startswith(b"HTTP/1.0 400 ") and b"application/json" in head


async def test_the_page_does_not_reflect_its_query(mock):
    page = await mock.get("/", params={"q": SCRIPT, "token": SCRIPT})
    assert SCRIPT not in await page.text()


async def test_static_files_do_not_escape_their_directory(mock):
    for path in ("/static/../app.py", "/static/%2e%2e/%2e%2e/pyproject.toml", "/static/..%2f..%2fREADME.md"):
        response = await mock.get(path)
        assert response.status in (403, 404), path


# -- webhook targets come from configuration only ----------------------------------------------------------
@pytest.mark.parametrize("field", ["webhook_url", "status_url", "callback"])
async def test_a_message_naming_a_webhook_url_is_refused(mock, receiver, field):
    status, problem = await post(mock, "/beta/messages", {**sms(), field: receiver.url("/stolen")})
    assert status == 400
    assert [p["name"] for p in problem["invalid_parameters"]] == [field]


async def test_a_v1_webhook_url_cannot_send_the_webhooks_to_a_host_nobody_configured(make_mock, receiver):
    """Honoured since issue 13, but off loopback only towards the hosts of configured webhook URLs (or
    webhook_allow_hosts): a request cannot make the mock call any host it likes."""
    client = await make_mock(host="0.0.0.0", status_url=receiver.url("/configured"))
    body = {"channel": "sms", "message_type": "text", "to": "447700900000", "from": "447700900001", "text": "Hi",
            "webhook_url": "http://internal.example.com/stolen", "webhook_version": "v1"}
    status, answer = await post(client, "/v1/messages", body)
    assert status == 422 and [p["name"] for p in answer["invalid_parameters"]] == ["webhook_url"]
    await advance(client, 60)
    assert (await (await client.get("/_mock/webhooks")).json())["deliveries"] == []
