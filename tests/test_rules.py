"""Outcome rules: every built-in magic recipient does what the README's table says; user rules come first."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from mockserver.simulation.rules import ERROR_REASONS

from .conftest import advance, messenger, post, sms, viber

MAGIC = json.loads(resources.files("mockserver.simulation").joinpath("magic_rules.json").read_text())


def _body_for(rule):
    recipient = rule["match"]["to"]
    if rule["match"].get("channel") == "viber_service_msg":
        return viber(to=recipient)
    if recipient.isdigit():
        return sms(to=recipient)
    return messenger(to=recipient)


def _expected_statuses(rule, channel):
    reads = channel != "sms"
    return {
        "rejected": ["rejected"],
        "undeliverable": ["submitted", "undeliverable"],
        "stuck_submitted": ["submitted"],
        "never_read": ["submitted", "delivered"],
        "slow": ["submitted", "delivered", "read"] if reads else ["submitted", "delivered"],
    }[rule["outcome"]]


@pytest.mark.parametrize("rule", MAGIC, ids=[r["id"] for r in MAGIC])
async def test_magic_recipient_has_its_documented_outcome(mock, rule):
    body = _body_for(rule)
    _, answer = await post(mock, "/beta/messages", body)
    await advance(mock, 59)
    if rule["outcome"] == "slow":
        detail = await (await mock.get(f"/_mock/messages/{answer['message_uuid']}")).json()
        assert detail["status"] != "read" and detail["status"] != "delivered"  # still on its way after 59 s
        await advance(mock, 600)
    await advance(mock, 1000)
    detail = await (await mock.get(f"/_mock/messages/{answer['message_uuid']}")).json()
    statuses = [h["status"] for h in detail["history"]][1:]
    assert statuses == _expected_statuses(rule, body["to"]["type"])
    if "error_code" in rule:
        error = detail["history"][-1]["error"]
        assert error == {"code": rule["error_code"], "reason": ERROR_REASONS[rule["error_code"]]}


async def test_numbers_outside_the_magic_table_succeed(mock):
    for number in ("447700900000", "447700900899", "447700900999", "14155550100"):
        _, answer = await post(mock, "/beta/messages", sms(to=number))
        await advance(mock, 60)
        detail = await (await mock.get(f"/_mock/messages/{answer['message_uuid']}")).json()
        assert detail["status"] == "delivered", number


async def test_common_error_codes_are_all_covered():
    codes = {rule.get("error_code") for rule in MAGIC}
    assert {1000, 1050, 1180, 1190, 1240, 1300, 1340, 1360, 1370} <= codes


async def test_user_rule_overrides_magic_and_can_be_deleted(mock):
    rule = {"match": {"to_pattern": "4477009009.."}, "outcome": "undeliverable", "error_code": 1330}
    response = await mock.post("/_mock/rules", json=rule)
    assert response.status == 201
    created = await response.json()
    _, answer = await post(mock, "/beta/messages", sms(to="447700900930"))
    await advance(mock, 60)
    detail = await (await mock.get(f"/_mock/messages/{answer['message_uuid']}")).json()
    assert detail["history"][-1]["error"] == {"code": 1330, "reason": "Unknown"}

    assert (await mock.delete(f"/_mock/rules/{created['id']}")).status == 204
    assert (await mock.delete(f"/_mock/rules/{created['id']}")).status == 404
    rules = (await (await mock.get("/_mock/rules")).json())["rules"]
    assert all(r["id"] != created["id"] for r in rules)


async def test_rule_matches_on_channel_and_text(mock):
    await mock.post("/_mock/rules", json={"match": {"channel": "messenger", "text_contains": "fail me"},
                                          "outcome": "rejected", "error_code": 1020})
    _, failing = await post(mock, "/beta/messages", messenger(text="please fail me now"))
    _, passing = await post(mock, "/beta/messages", sms(text="please fail me now"))
    await advance(mock, 60)
    assert (await (await mock.get(f"/_mock/messages/{failing['message_uuid']}")).json())["status"] == "rejected"
    assert (await (await mock.get(f"/_mock/messages/{passing['message_uuid']}")).json())["status"] == "delivered"


async def test_rule_delay_factor_slows_the_timeline(mock):
    await mock.post("/_mock/rules", json={"match": {"to": "447700900123"}, "outcome": "delivered",
                                          "delay_factor": 100})
    _, answer = await post(mock, "/beta/messages", sms(to="447700900123"))
    await advance(mock, 60)
    detail = await (await mock.get(f"/_mock/messages/{answer['message_uuid']}")).json()
    assert detail["status"] == "submitted"  # delivered only after about 340 s


async def test_user_rules_are_gone_after_reset(mock):
    await mock.post("/_mock/rules", json={"match": {"to": "447700900123"}, "outcome": "stuck_submitted"})
    await mock.post("/_mock/reset")
    rules = (await (await mock.get("/_mock/rules")).json())["rules"]
    assert all(r["builtin"] for r in rules)


async def test_invalid_rule_gets_problem_details(mock):
    response = await mock.post("/_mock/rules", json={"outcome": "explode"})
    assert response.status == 400
    body = await response.json()
    assert [p["name"] for p in body["invalid_parameters"]] == ["outcome"]
