"""The balance: unlimited by default; set by config or PUT /_mock/config (per account); each message's price charged
at its profile's charged_at status (SMS at submitted, the others at delivered); 402 when it cannot cover a send;
GET /account/get-balance reads it."""

from __future__ import annotations

import base64

import pytest

from mockserver.api.edge import PROBLEMS

from .support import BASIC, advance, messenger, sms, workflow
from .test_edge_faults import V1_SMS, statuses

SMS_PRICE, MESSENGER_PRICE = 0.0333, 0.0100


async def balance(client, headers: dict[str, str] | None = None) -> dict:
    response = await client.get("/account/get-balance", headers=headers or {"Authorization": BASIC})
    assert response.status == 200, await response.text()
    return await response.json()


async def test_unlimited_by_default(mock):
    assert await balance(mock) == {"value": 0.0, "autoReload": True}
    assert await statuses(mock, "/beta/messages", sms(), 3) == [202] * 3
    assert (await (await mock.get("/_mock/config")).json())["balance"] is None


async def test_sms_is_charged_at_submitted(make_mock):
    client = await make_mock(balance=0.05, profiles={"sms": {"jitter": 0}})
    assert await statuses(client, "/beta/messages", sms(), 1) == [202]
    assert await balance(client) == {"value": 0.05, "autoReload": False}
    await advance(client, 0.4)  # submitted
    assert (await balance(client))["value"] == pytest.approx(0.05 - SMS_PRICE)
    await advance(client, 10)  # delivered: no second charge
    assert (await balance(client))["value"] == pytest.approx(0.05 - SMS_PRICE)


async def test_messenger_is_charged_at_delivered(make_mock):
    client = await make_mock(balance=1, profiles={"messenger": {"jitter": 0}})
    assert await statuses(client, "/beta/messages", messenger(), 1) == [202]
    await advance(client, 0.3)  # submitted
    assert (await balance(client))["value"] == 1.0
    await advance(client, 1.5)  # delivered
    assert (await balance(client))["value"] == pytest.approx(1 - MESSENGER_PRICE)
    await advance(client, 60)  # read
    assert (await balance(client))["value"] == pytest.approx(1 - MESSENGER_PRICE)


async def test_a_send_the_balance_cannot_cover_gets_402_and_is_not_stored(make_mock, contract):
    client = await make_mock(balance=0.05)
    assert await statuses(client, "/beta/messages", sms(), 1) == [202]
    await advance(client, 5)
    refused = await client.post("/beta/messages", json=sms(), headers={"Authorization": BASIC})
    assert refused.status == 402
    problem = await refused.json()
    assert contract.problems("problem", problem) == []
    assert problem["title"] == PROBLEMS["beta"]["402"]["title"] == "Low balance"
    v1 = await client.post("/v1/messages", json=V1_SMS, headers={"Authorization": BASIC})
    assert v1.status == 402 and (await v1.json())["type"] == PROBLEMS["v1"]["402"]["type"]
    # Messenger costs less than what is left
    assert await statuses(client, "/beta/messages", messenger(), 1) == [202]
    assert len((await (await client.get("/_mock/messages")).json())["messages"]) == 2


async def test_a_workflow_needs_the_price_of_its_first_message_and_pays_for_each_sent(make_mock):
    client = await make_mock(balance=0.02)  # a Messenger message, not an SMS
    body = workflow(messenger(to="magic-not-on-channel"), sms())
    assert await statuses(client, "/beta/workflows", workflow(sms(), messenger(), condition="delivered"), 1) == [402]
    assert await statuses(client, "/beta/workflows", body, 1) == [202]
    await advance(client, 120)  # the Messenger item fails (never charged), the SMS is sent and charged
    assert (await balance(client))["value"] == pytest.approx(0.02 - SMS_PRICE)


async def test_put_config_sets_the_balance_and_null_makes_it_unlimited(mock):
    assert (await (await mock.put("/_mock/config", json={"balance": 0})).json())["balance"] == 0
    assert await statuses(mock, "/beta/messages", sms(), 1) == [402]
    await mock.put("/_mock/config", json={"balance": 10})
    assert await statuses(mock, "/beta/messages", sms(), 1) == [202]
    await mock.put("/_mock/config", json={"balance": None})
    assert await balance(mock) == {"value": 0.0, "autoReload": True}
    assert (await mock.put("/_mock/config", json={"balance": -1})).status == 400


async def test_put_config_with_an_account_sets_that_accounts_balance(mock):
    response = await mock.put("/_mock/config", json={"balance": 0}, params={"account": "acme"})
    assert response.status == 200 and (await response.json())["balance"] == 0
    assert await statuses(mock, "/beta/messages", sms(), 1) == [202]  # the sender's account is still unlimited
    await mock.put("/_mock/config", json={"balance": 0}, headers={"X-Mock-Account": "abcd1234"})
    assert await statuses(mock, "/beta/messages", sms(), 1) == [402]


async def test_get_balance_takes_basic_or_the_query_and_needs_credentials(make_mock):
    client = await make_mock(balance=9.8)
    assert await balance(client) == {"value": 9.8, "autoReload": False}
    answer = await client.get("/account/get-balance", params={"api_key": "abcd1234", "api_secret": "s3cr3t"})
    assert answer.status == 200 and await answer.json() == {"value": 9.8, "autoReload": False}
    missing = await client.get("/account/get-balance")
    assert missing.status == 401 and (await missing.json())["title"] == "Invalid credentials supplied"


async def test_get_balance_in_strict_mode_checks_the_secret(make_mock):
    client = await make_mock(auth="strict", api_key="abcd1234", api_secret="s3cr3t", balance=1)
    wrong = "Basic " + base64.b64encode(b"abcd1234:nope").decode()
    assert (await client.get("/account/get-balance", headers={"Authorization": wrong})).status == 401
    assert (await client.get("/account/get-balance", params={"api_key": "abcd1234", "api_secret": "x"})).status == 401
    assert (await balance(client))["value"] == 1.0


async def test_get_balance_needs_no_control_token(make_mock):
    client = await make_mock(control_token="t0ken", balance=2)
    assert (await balance(client))["value"] == 2.0
    assert (await client.get("/_mock/config")).status == 401


async def test_the_state_file_keeps_the_charged_balance(make_mock, tmp_path):
    state = str(tmp_path / "mock.db")
    client = await make_mock(state_file=state)
    await client.put("/_mock/config", json={"balance": 1})
    assert await statuses(client, "/beta/messages", sms(), 1) == [202]
    await advance(client, 10)
    await client.close()
    client = await make_mock(state_file=state)
    assert (await balance(client))["value"] == pytest.approx(1 - SMS_PRICE)
    await client.put("/_mock/config", json={"balance": 5})
    await client.close()
    client = await make_mock(state_file=state)
    assert (await balance(client))["value"] == 5.0


async def test_a_price_set_in_the_profile_is_what_is_charged(make_mock):
    client = await make_mock(balance=1, profiles={"sms": {"price": "0.5"}})
    assert await statuses(client, "/beta/messages", sms(), 2) == [202, 202]  # not charged yet: both are covered
    await advance(client, 10)
    assert (await balance(client))["value"] == 0.0
    assert await statuses(client, "/beta/messages", sms(), 1) == [402]
