"""The control API's queries answer at once when they can: wait on an unknown record, unknown statuses, limit=0."""

from __future__ import annotations

import time

from .support import BASIC, messenger, post, sms, workflow


async def test_waiting_on_a_message_or_workflow_nobody_knows_is_a_404_at_once(mock):
    for query in ("message_uuid=aaaaaaaa-0000-4000-8000-000000000000", "workflow_uuid=nope"):
        started = time.monotonic()
        response = await mock.get(f"/_mock/wait?{query}&timeout=5")
        assert response.status == 404 and time.monotonic() - started < 1
        assert (await response.json())["title"] == "Not Found"


async def test_an_unknown_wait_status_is_a_400_listing_the_allowed_ones(mock):
    response = await mock.get("/_mock/wait?to=447700900000&status=deliverd")
    problem = await response.json()
    assert response.status == 400 and problem["invalid_parameters"][0]["name"] == "status"
    assert "delivered" in problem["invalid_parameters"][0]["reason"]
    assert "completed" in problem["invalid_parameters"][0]["reason"]


async def test_the_408_names_the_default_timeout(mock):
    await post(mock, "/beta/messages", sms())
    response = await mock.get("/_mock/wait?to=447700900000&status=read&timeout=0.05")
    assert response.status == 408 and "the default is 10 s" in (await response.json())["detail"]


async def test_limit_0_gives_no_item_on_every_list(mock):
    await post(mock, "/beta/messages", sms())
    await post(mock, "/beta/workflows", workflow(messenger(), sms()))
    await mock.put("/_mock/config", json={"status_url": "http://127.0.0.1:9/status"})  # nobody listens there
    await mock.post("/_mock/clock/advance", json={"seconds": 10})
    for path, key in (("/_mock/messages", "messages"), ("/_mock/workflows", "workflows"),
                      ("/_mock/webhooks", "deliveries")):
        everything = (await (await mock.get(path)).json())[key]
        assert everything, path
        assert (await (await mock.get(f"{path}?limit=0")).json())[key] == [], path


async def test_v1_malformed_json_is_a_422_with_invalid_parameters(mock):
    response = await mock.post("/v1/messages", data=b"{not json", headers={"Authorization": BASIC,
                                                                            "Content-Type": "application/json"})
    problem = await response.json()
    assert response.status == 422 and problem["invalid_parameters"][0]["name"] == ""
    assert "JSON" in problem["invalid_parameters"][0]["reason"]


async def test_conversations_count_messages_and_failures_per_end_user(mock):
    await post(mock, "/beta/messages", sms(to="447700900000"))
    await post(mock, "/beta/messages", sms(to="447700900000"))
    await post(mock, "/beta/messages", sms(to="447700900910"))  # a magic recipient that fails
    await mock.post("/_mock/clock/advance", json={"seconds": 60})
    threads = {t["peer"]: t for t in (await (await mock.get("/_mock/conversations")).json())["conversations"]}
    assert threads["447700900000"]["count"] == 2 and threads["447700900000"]["failures"] == 0
    assert threads["447700900910"]["count"] == 1 and threads["447700900910"]["failures"] == 1
