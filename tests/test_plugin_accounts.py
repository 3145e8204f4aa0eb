"""The plugin's accounts: `for_account()` and `messages_mock_account`, and pytest-xdist workers sharing one mock
without seeing each other's messages, clocks or webhooks."""

from __future__ import annotations

import json
import sys
import urllib.request
from collections.abc import Iterator

import pytest

from mockserver.client import MockAccount, MockClient

from .support import free_port, sms
from .test_pytest_plugin import INNER_INI, REPO, WITH_PLUGIN, clean_env, serving

pytest_plugins = ["pytester"]


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "mockserver", "--port", str(port), "--clock", "manual", "--log-level", "warning"]
    with serving(command, port, cwd=REPO, env=clean_env()) as url:
        yield url


def send(account: MockAccount, to: str = "447700900000") -> str:
    request = urllib.request.Request(account.base_url + "/beta/messages", data=json.dumps(sms(to=to)).encode(),
                                     headers={"Content-Type": "application/json",
                                              "Authorization": account.authorization})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())["message_uuid"]


def test_for_account_scopes_every_call_to_that_account(server_url: str) -> None:
    mock = MockClient(server_url)
    alpha, beta = mock.for_account("plugin-alpha"), mock.for_account("plugin-beta")
    sent = send(alpha)
    assert [m["message_uuid"] for m in alpha.messages()] == [sent] and beta.messages() == []
    before = beta.clock()["now"]
    alpha.advance(60)
    assert beta.clock()["now"] == before and alpha.clock()["now"] > before
    assert alpha.message(sent)["status"] == "delivered"
    assert [a["account"] for a in alpha.accounts()] == ["plugin-alpha"]
    alpha.reset()
    assert alpha.messages() == [] and "plugin-beta" in {a["account"] for a in mock.accounts()}


XDIST_SUITE = '''
import json
import urllib.request

import pytest

SMS = {{"to": {{"type": "sms", "number": "447700900000"}}, "from": {{"type": "sms", "number": "447700900001"}},
       "message": {{"content": {{"type": "text", "text": "hi"}}}}}}


def send(account):
    request = urllib.request.Request(account.base_url + "/beta/messages", data=json.dumps(SMS).encode(),
                                     headers={{"Content-Type": "application/json",
                                              "Authorization": account.authorization}})
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read())["message_uuid"]


@pytest.mark.parametrize("index", range(8))
def test_each_worker_sees_only_its_own_account(messages_mock_account, index):
    account = messages_mock_account
    account.config(status_url="{receiver}/" + account.api_key)
    start = account.clock()["now"]
    sent = {{send(account) for _ in range(3)}}
    account.advance(10 + index)
    assert {{m["message_uuid"] for m in account.messages()}} == sent
    assert {{m["account"] for m in account.messages()}} == {{account.api_key}}
    assert {{d["url"].rsplit("/", 1)[1] for d in account.webhooks()}} == {{account.api_key}}
    assert {{d["subject_uuid"] for d in account.webhooks()}} == sent
    assert account.clock()["now"] > start
'''


def test_xdist_workers_sharing_one_mock_never_see_each_others_state(pytester: pytest.Pytester,
                                                                    server_url: str) -> None:
    pytester.makeini(INNER_INI)
    pytester.makepyfile(test_xdist=XDIST_SUITE.format(receiver="http://127.0.0.1:9/hooks"))

    result = pytester.runpytest_subprocess(*WITH_PLUGIN, "-p", "xdist", "-n", "2", "--mock-url", server_url)

    result.assert_outcomes(passed=8)
    accounts = [a for a in MockClient(server_url).accounts() if a["account"].startswith("test-")]
    assert len(accounts) == 8 and all(a["messages"] == 0 for a in accounts)  # each test's account reset after it
