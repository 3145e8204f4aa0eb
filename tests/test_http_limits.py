"""Request heads past the HTTP limits, unparseable, or trickled in: problem answers, one log line, a closed
connection; and the header timeout leaves idle keep-alive connections and slow bodies alone. Real process, raw sockets.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator

import aiohttp
import orjson
import pytest

from .support import BASIC, LiveMock, https_mock, running_mock, sms, trickle

HEADER_TIMEOUT = 1.0
HEALTH = b"GET /_mock/health HTTP/1.1\r\nHost: m\r\n\r\n"


@pytest.fixture(scope="module")
def served() -> Iterator[LiveMock]:
    with running_mock("--clock", "manual", "--header-timeout", str(HEADER_TIMEOUT), "--body-timeout", "5",
                      "--log-level", "warning") as mock:
        yield mock
        assert "Traceback" not in mock.output() and " ERROR " not in mock.output()  # a 500 would log an ERROR


def port_of(mock: LiveMock) -> int:
    return int(mock.base_url.rsplit(":", 1)[1])


def exchange(sock: socket.socket, request: bytes) -> bytes:
    """Send the bytes as they are and read until the server closes the connection."""
    sock.sendall(request)
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    return answer


def raw_request(mock: LiveMock, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port_of(mock)), timeout=5) as sock:
        return exchange(sock, request)


def problem_of(answer: bytes) -> tuple[int, dict]:
    """The status and the problem-details body of an answer; asserts it is one."""
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1."), answer[:200]
    assert b"\r\nContent-Type: application/json" in head, head
    problem = json.loads(body)
    assert set(problem) == {"type", "title", "detail", "instance"}, problem
    return int(head.split(b" ", 2)[1]), problem


def header_lines(count: int) -> bytes:
    return b"".join(b"X-%d: 1\r\n" % i for i in range(count))


def served_normally(mock: LiveMock) -> bool:
    return raw_request(mock, HEALTH[:-2] + b"Connection: close\r\n\r\n").startswith(b"HTTP/1.1 200 ")


# -- the limits -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("request_bytes", "status", "detail"), [
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: m\r\n\r\n", 414,
     "The request URL is longer than the limit of 8192 bytes"),
    (b"GET /_mock/health HTTP/1.1\r\nHost: m\r\nX-Big: " + b"a" * 9 * 1024 + b"\r\n\r\n", 431,
     "A request header is longer than the limit of 8190 bytes (name and value)"),
    (b"GET /_mock/health HTTP/1.1\r\nHost: m\r\nX-" + b"n" * 9 * 1024 + b": 1\r\n\r\n", 431,
     "A request header is longer than the limit of 8190 bytes (name and value)"),
    (b"GET /_mock/health HTTP/1.1\r\nHost: m\r\n" + header_lines(100) + b"\r\n", 431,
     "The request has more than the limit of 100 headers"),
], ids=["9 KB URL", "9 KB header value", "9 KB header name", "101 headers"])
def test_a_head_past_a_limit_is_a_problem_and_the_connection_closes(served, request_bytes, status, detail):
    answer_status, problem = problem_of(raw_request(served, request_bytes))  # read to the end: it was closed
    assert (answer_status, problem["detail"]) == (status, detail)
    assert f"WARNING mockserver.http: {status} {problem['title']} from 127.0.0.1: {detail}" in served.output()
    assert served_normally(served)


def test_heads_at_the_limits_are_served(served):
    url = b"/_mock/health?" + b"p" * (8192 - len(b"/_mock/health?"))
    header = b"X-Big: " + b"a" * (8190 - len(b"X-Big"))
    headers = header + b"\r\nHost: m\r\nConnection: close\r\n" + header_lines(97)  # 100 headers
    assert raw_request(served, b"GET " + url + b" HTTP/1.1\r\n" + headers + b"\r\n").startswith(b"HTTP/1.1 200 ")


@pytest.mark.parametrize(("request_bytes", "reason"), [
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(32)) + b"\r\n\r\n",
     "Received HTTPS traffic on an HTTP port"),
    (b"<script>alert(1)</script> HTTP/1.1\r\nHost: m\r\n\r\n", "Invalid method encountered"),
    (b"GET / HTTP/1.1\r\nHost: m\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "Duplicate Content-Length"),
    (b"GET / HTTP/1.1\r\nHost: m\r\nBad Header: 1\r\n\r\n", "Invalid header token"),
    (b"\x00\xff\xfe garbage \x01\x02\r\n\r\n", "Invalid method encountered"),
    (b"GET /v2/applications/x HTTP/1.1\r\nHost: m\r\ncontent-length: 5|\r\n\r\n",
     "Invalid character in Content-Length"),  # found by the fuzzer on an operation that did not document 400
], ids=["TLS hello", "HTML request line", "two lengths", "space in a name", "binary", "bad length"])
def test_an_unparseable_head_is_a_400_problem_and_the_connection_closes(served, request_bytes, reason):
    status, problem = problem_of(raw_request(served, request_bytes))
    assert status == 400 and problem["title"] == "Bad Request"
    assert problem["detail"] == f"The request is not valid HTTP: {reason}"
    assert served_normally(served)


@pytest.mark.parametrize("coding", [b"br", b"zstd"])
def test_a_content_encoding_the_mock_cannot_decode_is_a_415_problem(served, coding):
    body = b"\x00\x01"
    status, problem = problem_of(raw_request(served, b"POST /beta/messages HTTP/1.1\r\nHost: m\r\nContent-Encoding: "
                                             + coding + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body))
    assert (status, problem["title"]) == (415, "Unsupported Content-Encoding")
    assert problem["detail"] == ("The request body's Content-Encoding is not supported: send it uncompressed, "
                                 "gzip or deflate")
    assert served_normally(served)


# -- the header timeout ---------------------------------------------------------------------------------------
async def read_to_end(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.read(), 5)


async def test_a_trickled_head_gets_a_408_in_time_while_others_are_served(served):
    reader, writer = await asyncio.open_connection("127.0.0.1", port_of(served))

    head = b"GET /_mock/health HTTP/1.1\r\nHost: m\r\nX-Slow: " + b"s" * 100
    trickling = asyncio.create_task(trickle(writer, head, 0.1))
    started = time.monotonic()
    async with aiohttp.ClientSession() as session:
        for _ in range(5):  # meanwhile, other connections are served at once
            sent = time.monotonic()
            async with session.get(served.base_url + "/_mock/health") as response:
                assert response.status == 200
            assert time.monotonic() - sent < 0.5
    answer = await read_to_end(reader)  # the server closed the connection after answering
    waited = time.monotonic() - started
    trickling.cancel()
    writer.close()
    status, problem = problem_of(answer)
    assert status == 408 and problem["detail"] == "The request headers did not arrive within 1 s"
    assert HEADER_TIMEOUT - 0.1 < waited < HEADER_TIMEOUT + 1.5
    assert "408 Request Timeout from 127.0.0.1" in served.output()


async def read_answer(reader: asyncio.StreamReader) -> bytes:
    """One answer on a keep-alive connection: its head and its Content-Length body."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    return head + await reader.readexactly(length)


async def test_idle_keep_alive_connections_and_slow_bodies_outlive_the_header_timeout(served):
    port = port_of(served)
    fresh_reader, fresh = await asyncio.open_connection("127.0.0.1", port)  # sends nothing for a while
    used_reader, used = await asyncio.open_connection("127.0.0.1", port)  # idle after one request
    used.write(HEALTH)
    assert (await read_answer(used_reader)).startswith(b"HTTP/1.1 200 ")
    slow_reader, slow = await asyncio.open_connection("127.0.0.1", port)  # its head whole at once, its body slow
    body = orjson.dumps(sms())
    slow.write(b"POST /beta/messages HTTP/1.1\r\nHost: m\r\nContent-Type: application/json\r\n"
               b"Authorization: " + BASIC.encode() + b"\r\nContent-Length: %d\r\n\r\n" % len(body))
    for byte in body:  # over 1.5 header timeouts
        slow.write(bytes([byte]))
        await asyncio.sleep(HEADER_TIMEOUT * 1.5 / len(body))
    assert (await read_answer(slow_reader)).startswith(b"HTTP/1.1 202 ")
    for reader, writer in ((fresh_reader, fresh), (used_reader, used)):
        writer.write(HEALTH)
        assert (await read_answer(reader)).startswith(b"HTTP/1.1 200 ")
    for writer in (fresh, used, slow):
        writer.close()


# -- the same over TLS ------------------------------------------------------------------------------------------
def test_over_tls_too_a_long_header_is_a_431_and_a_trickled_head_a_408(tmp_path):
    with https_mock(tmp_path / "tls") as (port, context, mock):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
                context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
            answer = exchange(sock, b"GET / HTTP/1.1\r\nHost: m\r\nX-Big: " + b"a" * 9216 + b"\r\n\r\n")
            assert problem_of(answer)[0] == 431
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
                context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
            started = time.monotonic()
            status, _ = problem_of(exchange(sock, b"GET / HTTP/1.1\r\nHost: m\r\nX-Unfinished: 1"))
            assert status == 408 and 0.9 < time.monotonic() - started < 2.5
        assert "Traceback" not in mock.output()


# -- bodies answered before they were read to the end -----------------------------------------------------------
LIMIT = 262144  # the default max_body_bytes


def post_head(length: bytes, *extra: bytes) -> bytes:
    return (b"POST /beta/messages HTTP/1.1\r\nHost: m\r\nContent-Type: application/json\r\nAuthorization: "
            + BASIC.encode() + b"\r\n" + b"".join(line + b"\r\n" for line in extra) + length + b"\r\n\r\n")


def chunked(body: bytes, size: int = 65536) -> bytes:
    parts = [body[at:at + size] for at in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"


def says_close(head: bytes) -> bool:
    return b"\r\nConnection: close\r\n" in head.partition(b"\r\n\r\n")[0] + b"\r\n"


def log_lines(mock: LiveMock, text: str) -> list[str]:
    return [line for line in mock.output().splitlines() if text in line]


@pytest.mark.parametrize("request_bytes", [
    post_head(b"Content-Length: %d" % (LIMIT + 1)) + b"x" * (LIMIT + 1),
    post_head(b"Transfer-Encoding: chunked") + chunked(b"x" * (LIMIT + 1)),
], ids=["content-length", "chunked"])
def test_a_body_over_the_limit_is_a_413_and_the_connection_is_closed_and_logged_once(served, request_bytes):
    before = len(log_lines(served, "413 Payload Too Large"))
    with socket.create_connection(("127.0.0.1", port_of(served)), timeout=5) as sock:
        answer = exchange(sock, request_bytes)  # reads until the server closes: a timeout here fails the test
    status, problem = problem_of(answer)
    assert status == 413 and says_close(answer)
    detail = f"The request body is larger than the limit of {LIMIT} bytes"
    assert problem["detail"] == detail
    lines = log_lines(served, "413 Payload Too Large")
    assert len(lines) == before + 1
    assert lines[-1].endswith(f"WARNING mockserver.http: 413 Payload Too Large from 127.0.0.1: POST /beta/messages: "
                              f"{detail}")
    assert served_normally(served)


async def test_a_declared_length_over_the_limit_is_answered_before_the_body_is_sent(served):
    reader, writer = await asyncio.open_connection("127.0.0.1", port_of(served))
    writer.write(post_head(b"Content-Length: %d" % (100 * LIMIT)))  # the head only: the body would be 25 MiB
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
    finally:
        writer.close()
    assert head.startswith(b"HTTP/1.1 413 ") and says_close(head)


@pytest.mark.parametrize("path", ["/beta/messages", "/_mock/rules"])
async def test_expect_100_continue_with_a_length_over_the_limit_is_a_413_not_a_continue(served, path):
    reader, writer = await asyncio.open_connection("127.0.0.1", port_of(served))
    writer.write(post_head(b"Content-Length: %d" % (LIMIT + 1), b"Expect: 100-continue").replace(
        b"/beta/messages", path.encode()))
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
    finally:
        writer.close()
    assert head.startswith(b"HTTP/1.1 413 ") and says_close(head)


async def test_expect_100_continue_within_the_limit_continues_and_is_accepted(served):
    body = orjson.dumps(sms())
    reader, writer = await asyncio.open_connection("127.0.0.1", port_of(served))
    writer.write(post_head(b"Content-Length: %d" % len(body), b"Expect: 100-continue"))
    try:
        assert await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2) == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(body)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
    finally:
        writer.close()
    assert head.startswith(b"HTTP/1.1 202 ")


def test_an_unknown_expectation_is_a_417_problem(served):
    answer = raw_request(served, post_head(b"Content-Length: 0", b"Expect: teapot", b"Connection: close"))
    status, problem = problem_of(answer)
    assert status == 417 and "teapot" in problem["detail"]


async def test_a_body_timeout_is_a_408_that_ends_the_connection_at_once_and_is_logged_once():
    with running_mock("--clock", "manual", "--body-timeout", "1", "--log-level", "warning") as mock:
        reader, writer = await asyncio.open_connection("127.0.0.1", port_of(mock))
        body = orjson.dumps(sms())
        writer.write(post_head(b"Content-Length: %d" % len(body)))
        trickling = asyncio.create_task(trickle(writer, body, 0.2))  # 30 s for the whole body
        started = time.monotonic()
        try:
            answer = await asyncio.wait_for(reader.read(), 4)  # to the end: the server shut its side, still trickled at
        finally:
            trickling.cancel()
            writer.close()
        assert time.monotonic() - started < 2.5
        status, problem = problem_of(answer)
        assert status == 408 and problem["detail"] == "The request body did not arrive within 1 s"
        assert says_close(answer)
        [line] = log_lines(mock, "408")
        assert line.endswith("WARNING mockserver.http: 408 Request Timeout from 127.0.0.1: POST /beta/messages: "
                             "The request body did not arrive within 1 s")


def test_a_broken_gzip_body_the_answer_did_not_read_is_one_warning_not_a_traceback(served):
    body = b"\x00 not gzip at all"
    answer = raw_request(served, b"POST /beta/messages HTTP/1.1\r\nHost: m\r\nContent-Type: application/json\r\n"
                         b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    assert problem_of(answer)[0] == 401  # no credentials: refused before the body is read
    time.sleep(0.1)  # (wall time) aiohttp reads the body away after the answer
    [line] = log_lines(served, "unreadable body after the answer")
    assert line.endswith("WARNING mockserver.http: unreadable body after the answer from 127.0.0.1: "
                         "Can not decode content-encoding: gzip; connection closed")
    assert "Traceback" not in served.output()
