"""Outcome rules: every built-in magic recipient does what the README's table says; user rules come first."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources

import pytest

from mockserver.simulation.rules import ERROR_REASONS, RuleBook, normalise_number

from .support import advance, messenger, post, sms, viber

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


async def _status_after(client, body, seconds: float = 60) -> str:
    _, answer = await post(client, "/beta/messages", body)
    await advance(client, seconds)
    return (await (await client.get(f"/_mock/messages/{answer['message_uuid']}")).json())["status"]


@contextmanager
def _loop_deadline(seconds: float) -> Iterator[None]:
    """Fail, rather than hang, when the event loop stays blocked: SIGALRM interrupts a regular expression's match."""

    def expire(*_: object) -> None:
        raise TimeoutError(f"the event loop was blocked for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


async def test_a_backtracking_pattern_cannot_stall_the_server(mock):
    rule = {"match": {"to_pattern": "(a+)+$"}, "outcome": "rejected", "error_code": 1000}
    assert (await mock.post("/_mock/rules", json=rule)).status == 201
    started = time.monotonic()
    with _loop_deadline(10):
        missed = await _status_after(mock, messenger(to="a" * 49 + "b"))  # exponential for a backtracking engine
        matched = await _status_after(mock, messenger(to="a" * 50))
    assert time.monotonic() - started < 2
    assert (missed, matched) == ("read", "rejected")


@pytest.mark.parametrize("pattern", ["(.)\\1", "(?<=44)77.*", "[0-9"])
async def test_a_pattern_re2_cannot_compile_is_a_400_naming_it(mock, pattern):
    response = await mock.post("/_mock/rules", json={"match": {"to_pattern": pattern}, "outcome": "slow"})
    assert response.status == 400
    problem = await response.json()
    assert [p["name"] for p in problem["invalid_parameters"]] == ["match.to_pattern"]
    assert "regular expression" in problem["invalid_parameters"][0]["reason"]


@pytest.mark.parametrize(("given", "normalised"), [
    ("+447700900900", "447700900900"), ("00447700900900", "447700900900"), ("447700900900", "447700900900"),
    ("14155550100", "14155550100"), ("magic-absent", "magic-absent"),
])
def test_normalise_number_strips_a_leading_plus_or_00(given, normalised):
    assert normalise_number(given) == normalised


@pytest.mark.parametrize("recipient", ["+447700900900", "00447700900900", "447700900900"])
def test_a_magic_number_matches_with_plus_or_00(recipient):
    assert RuleBook().decide("sms", recipient, None).id == "magic-447700900900"


def test_user_rules_match_the_normalised_number_on_both_sides():
    book = RuleBook([{"id": "exact", "match": {"to": "+447700900123"}, "outcome": "stuck_submitted"},
                     {"id": "pattern", "match": {"to_pattern": "4420.*"}, "outcome": "never_read"}])
    assert [book.decide("sms", number, None).id for number in ("447700900123", "00447700900123")] == ["exact"] * 2
    assert book.decide("viber_service_msg", "+442071838750", None).id == "pattern"
    assert book.decide("sms", "+14155550100", None).id == "default"


async def test_each_rule_says_where_it_comes_from_and_config_rules_survive_reset(make_mock):
    configured = {"id": "from-config", "match": {"to": "447700900123"}, "outcome": "stuck_submitted"}
    client = await make_mock(rules=(configured,))
    await client.post("/_mock/rules", json={"id": "from-api", "match": {"to": "447700900124"}, "outcome": "slow"})
    await client.post("/_mock/reset")
    rules = (await (await client.get("/_mock/rules")).json())["rules"]
    sources = {rule["id"]: (rule["source"], rule["builtin"]) for rule in rules}
    assert sources["from-config"] == ("config", False)
    assert "from-api" not in sources
    assert sources["magic-447700900900"] == ("builtin", True)
    assert await _status_after(client, sms(to="447700900123")) == "submitted"


async def test_an_api_rule_is_labelled_api(mock):
    response = await mock.post("/_mock/rules", json={"match": {"to": "447700900124"}, "outcome": "slow"})
    assert (await response.json())["source"] == "api"
