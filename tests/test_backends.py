"""Two accounts side by side through the Accounts registry: each its own Backend (store, clock, rules)."""

from __future__ import annotations

import pytest

from mockserver.accounts import ANONYMOUS, Accounts
from mockserver.api.generations import WEBHOOK_RENDERERS
from mockserver.backend import DEFAULT_ACCOUNT
from mockserver.config import Settings

from .sim_support import send


@pytest.fixture
async def accounts():
    registry = Accounts(Settings(clock="manual"), WEBHOOK_RENDERERS)
    registry.start()
    yield registry
    await registry.close()
    await registry.webhook_client.close()


def test_backends_are_built_lazily_on_first_use():
    registry = Accounts(Settings(clock="manual"), WEBHOOK_RENDERERS)
    assert registry.by_account() == {}
    a = registry["a"]
    assert registry.by_account() == {"a": a}
    assert registry["a"] is a
    assert a.account == "a"


async def test_default_account_exists_once_started(accounts):
    assert DEFAULT_ACCOUNT in accounts.by_account()
    assert accounts.default is accounts[DEFAULT_ACCOUNT]
    assert accounts.of(ANONYMOUS) is accounts.default


async def test_an_account_built_after_start_is_started(accounts):
    late = accounts["late"]
    assert late.clock.on_change is not None  # set by Backend.start
    assert set(accounts.by_account()) == {DEFAULT_ACCOUNT, "late"}


async def test_accounts_have_separate_stores(accounts):
    a, b = accounts["a"], accounts["b"]
    assert a.store is not b.store
    message = a.send_message(send("447700900111"))
    assert a.message(message.message_uuid) is message
    assert b.message(message.message_uuid) is None
    assert b.messages() == []
    assert accounts.default.messages() == []


async def test_accounts_have_separate_clocks(accounts):
    a, b = accounts["a"], accounts["b"]
    b_before = b.clock.now()
    a_before = a.clock.now()
    message = a.send_message(send("447700900111"))
    other = b.send_message(send("447700900111"))
    assert await a.advance(3600) == a_before + 3600
    assert b.clock.now() == b_before
    assert a.message(message.message_uuid).status == "delivered"
    assert b.message(other.message_uuid).status == "accepted"


async def test_accounts_have_separate_rules(accounts):
    a, b = accounts["a"], accounts["b"]
    a.add_rule({"match": {"to": "447700900222"}, "outcome": "rejected", "error_code": 1050})
    assert [rule.outcome for rule in a.rules.user] == ["rejected"]
    assert b.rules.user == []
    rejected = a.send_message(send("447700900222"))
    fine = b.send_message(send("447700900222"))
    await a.advance(60)
    await b.advance(60)
    assert a.message(rejected.message_uuid).status == "rejected"
    assert b.message(fine.message_uuid).status == "delivered"


async def test_reset_of_one_account_leaves_the_other(accounts):
    a, b = accounts["a"], accounts["b"]
    a.send_message(send("1"))
    kept = b.send_message(send("2"))
    a.reset()
    assert a.messages() == []
    assert [m.message_uuid for m in b.messages()] == [kept.message_uuid]


async def test_accounts_share_the_webhook_client(accounts):
    assert accounts["a"].webhooks is not accounts["b"].webhooks
    assert accounts["a"].webhooks.client is accounts["b"].webhooks.client is accounts.webhook_client
