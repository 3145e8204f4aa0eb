"""Recipient numbers on /beta and /v0.1, over HTTP: E.164 digits (a leading + or 00 tolerated) or a 400 naming
`to.number` with the docs' hint; a sender (`from.number`) may be an alphanumeric sender ID."""

from __future__ import annotations

from typing import Any

import pytest

from .support import post, sms, viber

REASON = "must be a phone number in E.164 format without + or 00, e.g. 447700900000 (digits only, at most 15)"
PATHS = ("/beta/messages", "/v0.1/messages")


def workflow(*items: dict[str, Any]) -> dict[str, Any]:
    others = [{**item, "failover": {"expiry_time": 60, "condition_status": "delivered"}} for item in items[:-1]]
    return {"template": "failover", "workflow": [*others, items[-1]]}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("number", ["hello", "07700900000", "44 7700 900000", "4477009000001234", "+", "+44-7700"])
async def test_an_sms_recipient_that_is_not_e164_digits_is_a_400_with_the_hint(mock, path, number):
    status, problem = await post(mock, path, sms(to=number))
    assert status == 400
    assert problem["invalid_parameters"] == [{"name": "to.number", "reason": REASON}]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("number", ["447700900000", "+447700900000", "00447700900000", "123456789012345"])
async def test_e164_recipients_are_accepted_with_or_without_a_prefix(mock, path, number):
    status, answer = await post(mock, path, sms(to=number))
    assert status == 202, answer
    stored = await (await mock.get(f"/_mock/messages/{answer['message_uuid']}")).json()
    assert stored["to"] == {"type": "sms", "number": number}  # kept as sent, echoed as sent


async def test_a_viber_recipient_number_is_checked_too(mock):
    status, problem = await post(mock, "/beta/messages", viber(to="hello"))
    assert status == 400
    assert problem["invalid_parameters"] == [{"name": "to.number", "reason": REASON}]


@pytest.mark.parametrize("path", ["/beta/workflows", "/v0.1/dispatch"])
async def test_a_workflow_item_recipient_is_checked(mock, path):
    status, problem = await post(mock, path, workflow(sms(), sms(to="hello")))
    assert status == 400
    assert problem["invalid_parameters"] == [{"name": "workflow.1.to.number", "reason": REASON}]


@pytest.mark.parametrize("sender", ["MyBrand", "447700900001", "Shop 24"])
async def test_an_sms_sender_may_be_an_alphanumeric_sender_id(mock, sender):
    assert (await post(mock, "/beta/messages", sms(sender=sender)))[0] == 202


async def test_a_v1_sms_recipient_that_is_not_digits_is_a_422_invalid_recipient(mock):
    body = {"channel": "sms", "message_type": "text", "to": "hello", "from": "MyBrand", "text": "Hi"}
    status, problem = await post(mock, "/v1/messages", body)
    assert (status, problem["title"]) == (422, "Invalid recipient")
    assert [parameter["name"] for parameter in problem["invalid_parameters"]] == ["to"]
