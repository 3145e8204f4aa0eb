"""Failover workflows on the manual clock, with a real webhook receiver."""

from __future__ import annotations

import pytest

from mockserver.simulation.clock import parse_iso

from .support import advance, failover_item, messenger, post, sms
from .support import workflow as flow

NO_JITTER = {"sms": {"jitter": 0}, "messenger": {"jitter": 0}, "viber_service_msg": {"jitter": 0}}


async def _workflow(client, uuid):
    return await (await client.get(f"/_mock/workflows/{uuid}")).json()


def _reports(receiver):
    return [p for p in receiver.bodies() if "template" in p]


def _statuses(receiver):
    return [p for p in receiver.bodies() if "message_uuid" in p]


async def start(client, body, path="/beta/workflows", key="workflow_uuid"):
    status, answer = await post(client, path, body)
    assert status == 202, answer
    return answer[key]


async def test_condition_met_completes_and_later_items_are_never_sent(make_mock, receiver, contract):
    client = await make_mock(status_url=receiver.url(), profiles=NO_JITTER)
    uuid = await start(client, flow(failover_item(messenger(), "read"), sms()))
    await advance(client, 30)  # messenger read at 0.3 + 1.5 + 8 s
    workflow = await _workflow(client, uuid)
    assert workflow["status"] == "completed"
    assert [i["state"] for i in workflow["items"]] == ["condition_met", "skipped"]
    assert "message_uuid" not in workflow["items"][1]
    await advance(client, 1200)
    messages = (await (await client.get("/_mock/messages")).json())["messages"]
    assert [m["channel"] for m in messages] == ["messenger"]
    assert [p["status"] for p in _statuses(receiver)] == ["submitted", "delivered", "read"]
    for payload in _statuses(receiver):
        assert payload["_links"]["workflow"] == {"workflow_uuid": uuid, "href": f"/workflows/{uuid}"}
        assert contract.problems("status-webhook", payload) == []
    [report] = _reports(receiver)
    assert contract.problems("workflow-report", report) == []
    assert report["status"] == "completed" and report["workflow_uuid"] == uuid
    assert [m["channel"] for m in report["_links"]["messages"]] == ["messenger"]


async def test_never_read_fails_over_at_exactly_the_expiry(make_mock, receiver):
    client = await make_mock(status_url=receiver.url(), profiles=NO_JITTER)
    uuid = await start(client, flow(failover_item(messenger(to="magic-never-read"), "read"), sms()))
    created = parse_iso((await _workflow(client, uuid))["created_at"])
    await advance(client, 599.999)
    assert [i["state"] for i in (await _workflow(client, uuid))["items"]] == ["sent", "pending"]
    await advance(client, 0.001)
    workflow = await _workflow(client, uuid)
    assert [i["state"] for i in workflow["items"]] == ["expired", "sent"]
    assert parse_iso(workflow["items"][1]["sent_at"]) - created == pytest.approx(600, abs=1e-3)
    await advance(client, 10)
    workflow = await _workflow(client, uuid)
    assert workflow["status"] == "completed"
    assert [i["state"] for i in workflow["items"]] == ["expired", "delivered"]
    [report] = _reports(receiver)
    assert [(m["channel"], m["status"]) for m in report["_links"]["messages"]] == [
        ("messenger", "delivered"), ("sms", "delivered")]
    assert report["usage"]["price"] == str(sum(__import__("decimal").Decimal(m["usage"]["price"])
                                               for m in report["_links"]["messages"]))


async def test_undeliverable_first_item_fails_over_at_once(make_mock, receiver):
    client = await make_mock(status_url=receiver.url(), profiles=NO_JITTER)
    uuid = await start(client, flow(failover_item(messenger(to="magic-outside-window"), "read"), sms()))
    await advance(client, 1.8)  # undeliverable at 0.3 + 1.5
    workflow = await _workflow(client, uuid)
    assert [i["state"] for i in workflow["items"]] == ["failed", "sent"]
    assert workflow["items"][1]["sent_at"] == workflow["items"][0]["ended_at"]
    await advance(client, 10)
    assert (await _workflow(client, uuid))["status"] == "completed"


async def test_last_item_failing_ends_the_workflow_in_error(make_mock, receiver, contract):
    client = await make_mock(status_url=receiver.url(), profiles=NO_JITTER)
    uuid = await start(client, flow(failover_item(messenger(to="magic-gone"), "read"), sms(to="447700900911")))
    await advance(client, 60)
    workflow = await _workflow(client, uuid)
    assert workflow["status"] == "error"
    assert [i["state"] for i in workflow["items"]] == ["failed", "failed"]
    [report] = _reports(receiver)
    assert report["status"] == "error" and contract.problems("workflow-report", report) == []


async def test_three_items_two_hops(make_mock, receiver):
    client = await make_mock(status_url=receiver.url(), profiles=NO_JITTER)
    uuid = await start(client, flow(failover_item(messenger(to="magic-never-read"), "read", expiry=60),
                                    failover_item(sms(to="447700900930"), "delivered", expiry=30),
                                    sms()))
    await advance(client, 60)
    assert [i["state"] for i in (await _workflow(client, uuid))["items"]] == ["expired", "sent", "pending"]
    await advance(client, 30)
    assert [i["state"] for i in (await _workflow(client, uuid))["items"]] == ["expired", "expired", "sent"]
    await advance(client, 10)
    workflow = await _workflow(client, uuid)
    assert workflow["status"] == "completed"
    [report] = _reports(receiver)
    assert [m["channel"] for m in report["_links"]["messages"]] == ["messenger", "sms", "sms"]


async def test_dispatch_links_carry_dispatch_uuid(make_mock, receiver, contract):
    client = await make_mock(status_url=receiver.url(), profiles=NO_JITTER)
    uuid = await start(client, flow(failover_item(messenger(to="magic-never-read"), "read"), sms()),
                       path="/v0.1/dispatch", key="dispatch_uuid")
    await advance(client, 700)
    assert (await _workflow(client, uuid))["status"] == "completed"
    for payload in _statuses(receiver):
        assert payload["_links"]["workflow"] == {"dispatch_uuid": uuid, "href": f"/workflows/{uuid}"}
    [report] = _reports(receiver)
    assert report["dispatch_uuid"] == uuid and "workflow_uuid" not in report
    assert contract.problems("workflow-report", report) == []


async def test_late_read_after_expiry_is_reported_but_changes_nothing(make_mock, receiver):
    client = await make_mock(status_url=receiver.url(), profiles=NO_JITTER)
    uuid = await start(client, flow(failover_item(messenger(to="magic-slow"), "read", expiry=30), sms()))
    await advance(client, 400)  # slow messenger: read at (0.3+1.5+8)*30 = 294 s, long after expiry at 30 s
    workflow = await _workflow(client, uuid)
    assert workflow["status"] == "completed"
    assert [i["state"] for i in workflow["items"]] == ["expired", "delivered"]
    messenger_statuses = [p["status"] for p in _statuses(receiver) if p["to"]["type"] == "messenger"]
    assert messenger_statuses == ["submitted", "delivered", "read"]
    assert len(_reports(receiver)) == 1


@pytest.mark.parametrize(("read_at", "expected"), [(600.0, "condition_met"), (600.001, "expired")])
async def test_expiry_boundary_condition_at_the_instant_wins(make_mock, read_at, expected):
    # Delays without jitter: submitted 0.3, delivered 1.5, read = read_at - 1.8, so read lands at read_at.
    profiles = {"messenger": {"jitter": 0, "delays": {"read": round(read_at - 1.8, 3)}}}
    client = await make_mock(profiles=profiles)
    uuid = await start(client, flow(failover_item(messenger(), "read", expiry=600), sms()))
    await advance(client, 700)
    assert (await _workflow(client, uuid))["items"][0]["state"] == expected


async def test_wait_works_for_workflows(mock):
    uuid = await start(mock, flow(failover_item(messenger(), "read"), sms()))
    early = await mock.get("/_mock/wait", params={"workflow_uuid": uuid, "status": "completed", "timeout": "0.05"})
    assert early.status == 408
    await advance(mock, 60)
    done = await mock.get("/_mock/wait", params={"workflow_uuid": uuid, "status": "completed", "timeout": "1"})
    assert done.status == 200 and (await done.json())["status"] == "completed"


async def test_workflow_list_and_unknown_workflow(mock):
    uuid = await start(mock, flow(failover_item(messenger(), "read"), sms()))
    listed = (await (await mock.get("/_mock/workflows")).json())["workflows"]
    assert [w["workflow_uuid"] for w in listed] == [uuid]
    missing = await mock.get("/_mock/workflows/00000000-0000-0000-0000-000000000000")
    assert missing.status == 404 and (await missing.json())["title"] == "Not Found"


async def test_two_thousand_workflows_all_finish_and_no_timer_leaks(mock):
    bodies = [
        flow(failover_item(messenger(), "read"), sms()),
        flow(failover_item(messenger(to="magic-never-read"), "read", expiry=60), sms()),
        flow(failover_item(messenger(to="magic-gone"), "delivered"), sms()),
        flow(failover_item(sms(to="447700900910"), "delivered"), sms(to="447700900911")),
    ]
    for n in range(2000):
        status, _ = await post(mock, "/beta/workflows", bodies[n % len(bodies)])
        assert status == 202
    await advance(mock, 3600)
    workflows = (await (await mock.get("/_mock/workflows", params={"limit": "5000"})).json())["workflows"]
    assert len(workflows) == 2000
    assert {w["status"] for w in workflows} <= {"completed", "error"}
    assert sum(w["status"] == "error" for w in workflows) == 500
    assert (await (await mock.get("/_mock/clock")).json())["pending_timers"] == 0
