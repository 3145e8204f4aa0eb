"""The pytest plugin and mockserver.client: users' suites run through pytester (in-process and as subprocesses),
MockServer's child process through raw sockets, and MockClient against a real `mockserver` process."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from mockserver import client as client_module
from mockserver.client import RESTORED_CONFIG, MockServer, MockStartError
from mockserver.pytest_plugin import MockClient, MockError, MockTimeout

from .support import BASIC, Receiver, free_port, sms

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]
# The inner runs load the plugin by module; `no:mockserver` keeps its entry point (if installed) from loading twice.
WITH_PLUGIN = ("-p", "no:mockserver", "-p", "mockserver.pytest_plugin")
INNER_INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"



def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without MOCK_* settings, plus `extra`."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("MOCK_")}, **extra}


@contextmanager
def serving(command: list[str], port: int, cwd: Path | str, env: dict[str, str],
            token: str | None = None) -> Iterator[str]:
    """Run a mock server process; yield its URL once /_mock/health answers; stop it with SIGTERM."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            MockClient(url, token=token).wait_until_healthy(timeout=30)
        except MockError:
            process.kill()
            process.wait()
            log.seek(0)
            raise AssertionError(f"{command} did not serve:\n{log.read().decode(errors='replace')}") from None
        try:
            yield url
        finally:
            process.terminate()
            process.wait(timeout=15)


def post_json(url: str, body: Any) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": BASIC})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def send_sms(base_url: str, to: str = "447700900000") -> str:
    status, answer = post_json(base_url + "/v0.1/messages", sms(to=to))
    assert status == 202, answer
    return answer["message_uuid"]


# -- users' suites through pytester -------------------------------------------------------------
USER_SUITE = '''
import aiohttp
import json
import urllib.request

import pytest
from aiohttp import web

SMS = {"to": {"type": "sms", "number": "447700900000"}, "from": {"type": "sms", "number": "447700900001"},
       "message": {"content": {"type": "text", "text": "Your code is 1234"}}}


def app_sends_sms(base_url):
    """The app under test, synchronous: it posts with urllib while the test thread waits."""
    request = urllib.request.Request(base_url + "/v0.1/messages", data=json.dumps(SMS).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": "Basic YTpi"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())["message_uuid"]


def test_sync_app_message_is_delivered(messages_mock):
    uuid = app_sends_sms(messages_mock.base_url)
    messages_mock.config(status_url="http://127.0.0.1:9/unreachable")
    messages_mock.advance(60)
    assert messages_mock.wait(message_uuid=uuid, status="delivered", timeout=1)["status"] == "delivered"
    assert [m["message_uuid"] for m in messages_mock.messages(to="447700900000")] == [uuid]


def test_state_and_config_are_reset_between_tests(messages_mock):
    assert messages_mock.messages() == []
    assert messages_mock.config()["status_url"] is None


def test_settings_fixture_is_applied(messages_mock):
    assert messages_mock.clock()["now"].startswith("2020-01-01T12:")
    assert messages_mock.config()["seed"] == 7


@pytest.mark.asyncio
async def test_async_app_gets_its_webhooks_while_the_clock_advances(messages_mock):
    statuses = []

    async def status(request):
        statuses.append((await request.json())["status"])
        return web.Response()

    app = web.Application()
    app.router.add_post("/status", status)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        await messages_mock.aio.config(status_url=f"http://127.0.0.1:{port}/status")
        async with aiohttp.ClientSession() as session:
            async with session.post(messages_mock.base_url + "/v0.1/messages", json=SMS,
                                    headers={"Authorization": "Basic YTpi"}) as answer:
                assert answer.status == 202
        await messages_mock.aio.advance(60)
        assert statuses == ["submitted", "delivered"]
    finally:
        await runner.cleanup()
'''

SETTINGS_CONFTEST = '''
import pytest

@pytest.fixture(scope="session")
def messages_mock_settings():
    return {"start_time": "2020-01-01T12:00:00Z", "seed": 7}
'''


@pytest.fixture
def user_suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """A user's project: its own pytest.ini, the plugin loaded as when the package is installed."""
    pytester.makeini(INNER_INI)
    return pytester


def test_sync_and_async_user_tests_pass_with_the_sessions_own_mock(user_suite: pytest.Pytester) -> None:
    user_suite.makeconftest(SETTINGS_CONFTEST)
    user_suite.makepyfile(test_user=USER_SUITE)

    result = user_suite.runpytest(*WITH_PLUGIN)

    result.assert_outcomes(passed=4)


def test_the_example_app_tests_pass(pytester: pytest.Pytester) -> None:
    pytester.makeini(INNER_INI + "asyncio_mode = auto\n")  # as the example's docstring asks
    shutil.copy(REPO / "examples" / "my_app.py", pytester.path / "my_app.py")
    # Renamed: a session that also collects examples/ has imported test_my_app already.
    shutil.copy(REPO / "examples" / "test_my_app.py", pytester.path / "test_example_app.py")

    result = pytester.runpytest(*WITH_PLUGIN)

    result.assert_outcomes(passed=5)


def test_help_documents_the_mock_url_option(user_suite: pytest.Pytester) -> None:
    result = user_suite.runpytest(*WITH_PLUGIN, "--help")

    result.stdout.fnmatch_lines(["*--mock-url=URL*"])


# -- a real server process ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "mockserver", "--port", str(port), "--clock", "manual", "--log-level", "warning"]
    with serving(command, port, cwd=REPO, env=clean_env()) as url:
        yield url


@pytest.fixture
def client(server_url: str) -> MockClient:
    client = MockClient(server_url)
    client.reset()
    client.config(status_url=None, inbound_url=None)
    return client


EXTERNAL_SUITE = '''
def test_uses_the_running_server(messages_mock):
    assert messages_mock.base_url == "{url}"
    messages_mock.advance(1000)
'''


@pytest.mark.parametrize("how", ["option", "env"])
def test_the_fixture_uses_an_already_running_server(user_suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                                     client: MockClient, how: str) -> None:
    user_suite.makepyfile(test_external=EXTERNAL_SUITE.format(url=client.base_url))
    before = client.clock()["now"]
    monkeypatch.setenv("MOCK_URL", client.base_url if how == "env" else "http://127.0.0.1:9")

    result = user_suite.runpytest(*WITH_PLUGIN, *(["--mock-url", client.base_url] if how == "option" else []))

    result.assert_outcomes(passed=1)
    assert client.clock()["now"] > before  # the inner test moved this server's clock


def test_messages_and_wait_follow_what_the_app_sent(client: MockClient) -> None:
    uuid = send_sms(client.base_url, to="447700900123")

    assert client.clock()["mode"] == "manual"
    assert [m["message_uuid"] for m in client.messages(to="447700900123", channel="sms")] == [uuid]
    client.advance(60)
    delivered = client.wait(message_uuid=uuid, status="delivered", timeout=1)
    assert [entry["status"] for entry in delivered["history"]] == ["accepted", "submitted", "delivered"]
    assert client.message(uuid)["status"] == "delivered"
    assert client.wait(to="447700900123", status="delivered", timeout=1)["message_uuid"] == uuid
    assert [m["message_uuid"] for m in client.messages(status="delivered")] == [uuid]


def test_wait_raises_mock_timeout_when_the_condition_never_holds(client: MockClient) -> None:
    uuid = send_sms(client.base_url)

    with pytest.raises(MockTimeout) as raised:
        client.wait(message_uuid=uuid, status="delivered", timeout=0.1)

    assert raised.value.status == 408


def test_rules_set_outcomes_and_can_be_deleted(client: MockClient) -> None:
    rule = client.add_rule("undeliverable", id="absent", error_code=1180, to="447700900555")
    assert rule["id"] == "absent"
    assert client.rules()[0]["id"] == "absent"

    uuid = send_sms(client.base_url, to="447700900555")
    client.advance(60)

    failed = client.wait(message_uuid=uuid, status="undeliverable", timeout=1)
    assert failed["history"][-1]["error"]["code"] == 1180
    client.delete_rule("absent")
    assert "absent" not in [r["id"] for r in client.rules()]


def test_a_refused_request_raises_mock_error_with_the_reasons(client: MockClient) -> None:
    with pytest.raises(MockError) as raised:
        client.add_rule("undeliverable", to="447700900555")

    assert raised.value.status == 400
    assert [p["name"] for p in raised.value.problem["invalid_parameters"]] == ["error_code"]
    assert "error_code" in str(raised.value)


def test_inbound_injects_a_messenger_message(client: MockClient) -> None:
    uuid = client.inbound(from_="1234567890123456", to="9876543210", text="Hello page")

    message = client.message(uuid)
    assert message["direction"] == "inbound"
    assert message["from"] == {"type": "messenger", "id": "1234567890123456"}
    assert message["to"] == {"type": "messenger", "id": "9876543210"}
    assert message["message"]["content"] == {"type": "text", "text": "Hello page"}


def test_config_changes_and_reset_clears_the_state(client: MockClient) -> None:
    send_sms(client.base_url)

    assert client.config(status_url="http://127.0.0.1:9/status")["status_url"] == "http://127.0.0.1:9/status"
    assert client.config()["status_url"] == "http://127.0.0.1:9/status"
    client.reset()
    assert client.messages() == []


async def test_async_client_sees_the_webhooks_a_real_receiver_got(client: MockClient, receiver: Receiver) -> None:
    await client.aio.config(status_url=receiver.url())
    async with aiohttp.ClientSession() as session, session.post(
            client.base_url + "/v0.1/messages", json=sms(), headers={"Authorization": BASIC}) as answer:
        uuid = (await answer.json())["message_uuid"]

    await client.aio.advance(60)

    assert [body["status"] for body in receiver.bodies()] == ["submitted", "delivered"]
    deliveries = await client.aio.webhooks(message_uuid=uuid, kind="status")
    assert sorted(d["payload"]["status"] for d in deliveries) == ["delivered", "submitted"]
    assert all(d["state"] == "delivered" and d["attempts"][-1]["status_code"] == 200 for d in deliveries)


def test_wait_until_healthy_fails_clearly_when_nothing_listens() -> None:
    with pytest.raises(MockError, match="no mock answering"):
        MockClient(f"http://127.0.0.1:{free_port()}").wait_until_healthy(timeout=0.2)


# -- what the fixture restores between tests --------------------------------------------------------
CHANGING_SUITE = '''
def test_1_changes_everything_a_test_can(messages_mock):
    messages_mock.config(clock="real", time_scale=0.25, demo_mode=True, status_url="http://127.0.0.1:9/s",
                         inbound_url="http://127.0.0.1:9/i", signature_secret="shh",
                         profiles={"sms": {"jitter": 0, "delays": {"submitted": 9, "delivered": 9}}})
    messages_mock.add_rule("rejected", error_code=1000, to="447700900123")
    assert messages_mock.clock()["mode"] == "real"


def test_2_finds_the_session_config_again(messages_mock):
    clock = messages_mock.clock()
    assert (clock["mode"], clock["time_scale"]) == ("manual", 1.0)
    config = messages_mock.config()
    assert (config["demo_mode"], config["status_url"], config["inbound_url"], config["signature_secret"]) == (
        False, None, None, None)
    assert config["profiles"]["sms"]["delays"] != {"submitted": 9, "delivered": 9}
    assert config["profiles"]["sms"]["jitter"] != 0
    assert "447700900123" not in str(messages_mock.rules())
'''


def test_a_test_that_changes_the_clock_and_config_leaks_nothing_into_the_next(user_suite: pytest.Pytester) -> None:
    user_suite.makepyfile(test_changing=CHANGING_SUITE)

    result = user_suite.runpytest(*WITH_PLUGIN)

    result.assert_outcomes(passed=2)


def test_restored_config_is_every_key_put_config_accepts() -> None:
    schema = json.loads((REPO / "schemas" / "control" / "config-update.json").read_text())

    assert set(RESTORED_CONFIG) == set(schema["properties"])


TOKEN_CONFTEST = '''
import pytest

@pytest.fixture(scope="session")
def messages_mock_settings():
    return {"control_token": "let-me-in"}
'''

TOKEN_SUITE = '''
import urllib.error
import urllib.request

import pytest


def test_the_client_sends_the_token(messages_mock):
    assert messages_mock.messages() == []
    messages_mock.advance(1)
    with pytest.raises(urllib.error.HTTPError) as refused:  # the token is in force: without it, 401
        urllib.request.urlopen(messages_mock.base_url + "/_mock/messages")
    assert refused.value.code == 401
'''


def test_a_control_token_in_the_settings_reaches_the_fixtures_client(user_suite: pytest.Pytester) -> None:
    user_suite.makeconftest(TOKEN_CONFTEST)
    user_suite.makepyfile(test_token=TOKEN_SUITE)

    result = user_suite.runpytest(*WITH_PLUGIN)

    result.assert_outcomes(passed=1)


AIOHTTP_SUITE = '''
import aiohttp
from aiohttp import web

SMS = {"to": {"type": "sms", "number": "447700900000"}, "from": {"type": "sms", "number": "447700900001"},
       "message": {"content": {"type": "text", "text": "Hi"}}}


async def test_aio_calls_leave_the_loop_free_for_the_webhooks(messages_mock, aiohttp_server):
    statuses = []

    async def on_status(request):
        statuses.append((await request.json())["status"])
        return web.Response()

    app = web.Application()
    app.router.add_post("/status", on_status)
    receiver = await aiohttp_server(app)
    await messages_mock.aio.config(status_url=str(receiver.make_url("/status")))
    async with aiohttp.ClientSession() as session:
        async with session.post(messages_mock.base_url + "/v0.1/messages", json=SMS,
                                headers={"Authorization": "Basic YTpi"}) as answer:
            assert answer.status == 202
    await messages_mock.aio.advance(60)
    assert statuses == ["submitted", "delivered"]
    assert (await messages_mock.aio.wait(to="447700900000", status="delivered"))["status"] == "delivered"
'''


def test_async_tests_use_aio_under_pytest_aiohttp_in_auto_mode(pytester: pytest.Pytester) -> None:
    """The README's setup: pytest-aiohttp (which brings pytest-asyncio), asyncio_mode = auto, no marks; no warnings."""
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_aiohttp_user=AIOHTTP_SUITE)
    result = pytester.runpytest_subprocess("-p", "no:mockserver", "-p", "mockserver.pytest_plugin", "-W", "error")

    result.assert_outcomes(passed=1)


# -- MockServer: the `mockserver` command in a child process ----------------------------------------
def test_client_and_server_work_where_pytest_cannot_be_imported(tmp_path: Path) -> None:
    script = tmp_path / "outside_pytest.py"
    script.write_text(
        "import sys\n"
        "sys.modules['pytest'] = None  # any import of pytest now fails\n"
        "from mockserver.client import MockClient, MockServer\n"
        "with MockServer({'seed': 3}) as server:\n"
        "    assert MockClient(server.url).config()['seed'] == 3\n"
        "    print(server.client().health()['status'])\n")

    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=clean_env(), capture_output=True,
                          text=True, timeout=60)

    assert (done.returncode, done.stdout, done.stderr) == (0, "ok\n", "")


def test_the_plugin_still_exports_the_client_and_the_server() -> None:
    from mockserver import client, pytest_plugin

    assert (pytest_plugin.MockClient, pytest_plugin.MockServer) == (client.MockClient, client.MockServer)


def long_url_answer(base_url: str) -> tuple[bytes, dict[str, Any]]:
    """The status line and problem body (without its instance) answering a 9000-byte URL, then the connection closed."""
    host, port = base_url.rsplit("/", 1)[1].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: m\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):  # until the server closes the connection
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"\r\nContent-Type: application/json" in head, head
    problem = json.loads(body)
    del problem["instance"]
    return head.split(b"\r\n", 1)[0], problem


def test_the_fixtures_mock_answers_a_too_long_url_as_the_command_does(messages_mock: MockClient,
                                                                       server_url: str) -> None:
    fixture_answer = long_url_answer(messages_mock.base_url)

    assert fixture_answer == long_url_answer(server_url)
    assert fixture_answer == (b"HTTP/1.0 414 Request-URI Too Long", {
        "type": "https://developer.nexmo.com/api-errors#uri-too-long", "title": "URI Too Long",
        "detail": "The request URL is longer than the limit of 8192 bytes"})


def test_a_mock_server_answers_a_trickled_head_408_after_its_header_timeout() -> None:
    with MockServer({"header_timeout": 0.3}) as server:
        port = int(server.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET /_mock/health HTTP/1.1\r\nHost: m\r\n")  # the head never ends
            answer = sock.recv(65536)

    assert answer.startswith(b"HTTP/1.0 408 Request Timeout\r\n")
    assert b"did not arrive within 0.3 s" in answer


def test_a_mock_server_tries_another_port_when_the_chosen_one_was_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports = iter([taken.getsockname()[1], free_port()])
        monkeypatch.setattr(client_module, "_free_port", lambda host: next(ports))

        with MockServer() as server:
            assert server.settings["port"] != taken.getsockname()[1]
            assert server.client().health()["status"] == "ok"


def test_a_mock_server_reads_a_config_file_and_its_settings_win(tmp_path: Path) -> None:
    config = tmp_path / "mock.toml"
    config.write_text('seed = 42\nclock = "real"\n[[rules]]\nmatch = {to = "447700900123"}\n'
                      'outcome = "rejected"\nerror_code = 1000\n')

    with MockServer({"config": str(config), "clock": "manual"}) as server:
        client = server.client()
        assert (client.config()["seed"], client.clock()["mode"]) == (42, "manual")
        assert client.rules()[0]["match"] == {"to": "447700900123"}


def test_a_mock_server_serves_https_with_self_signed_certificates(tmp_path: Path) -> None:
    with MockServer({"tls_self_signed": True, "tls_dir": str(tmp_path / "tls")}) as server:
        assert server.url.startswith("https://127.0.0.1:")
        assert server.client().health()["status"] == "ok"


def test_a_mock_server_that_cannot_start_says_why() -> None:
    server = MockServer({"clock": "sideways"})

    with pytest.raises(MockStartError, match=r"the mock did not start:(.|\n)*clock"):
        server.start()
    assert (server.url, server.process) == ("", None)


def test_a_mock_server_stops_when_the_process_that_started_it_dies(tmp_path: Path) -> None:
    script = tmp_path / "starts_and_dies.py"
    script.write_text("import time\nfrom mockserver.client import MockServer\n"
                      "server = MockServer()\nserver.start()\nprint(server.process.pid, flush=True)\ntime.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env=clean_env(), stdout=subprocess.PIPE)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())

    parent.kill()  # SIGKILL: no cleanup runs in the parent
    parent.wait()

    deadline = time.monotonic() + 15
    while pid_alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(child)


def pid_alive(pid: int) -> bool:
    """Whether the process runs (a zombie the parent has not reaped yet counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"
