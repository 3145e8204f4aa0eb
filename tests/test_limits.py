"""Bounded resources: the per-URL cap on pending webhook deliveries, and the history limit under load."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from .support import advance, post, sms

CAP = 3
NOT_SENT = f"not sent: {CAP} deliveries already pending for "


async def _deliveries(client, **query):
    return (await (await client.get("/_mock/webhooks", params=query)).json())["deliveries"]


async def _health(client):
    return await (await client.get("/_mock/health")).json()


async def _until_delivered(client, message_uuid):
    response = await client.get("/_mock/wait", params={"message_uuid": message_uuid, "status": "delivered",
                                                       "timeout": "10"})
    assert response.status == 200, await response.text()


async def _settle(client):
    """An advance returns once every webhook lane is idle (real clock: it also jumps 1 s, harmless here)."""
    await advance(client, 1)


def _stalling(release: asyncio.Event):
    async def answer(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text="ok")

    return answer


async def test_a_stalled_receiver_fills_the_cap_then_deliveries_give_up_with_the_reason(make_mock, receiver, caplog):
    release = asyncio.Event()
    receiver.script["/status"] = [_stalling(release) for _ in range(CAP)]
    client = await make_mock(clock="real", time_scale=0.01, status_url=receiver.url(), webhook_max_pending=CAP)
    caplog.set_level(logging.INFO, logger="mockserver.webhooks")
    uuids = [answer["message_uuid"] for _, answer in await asyncio.gather(*(post(client, "/beta/messages", sms())
                                                                            for _ in range(3)))]
    for uuid in uuids:  # every status of every message happened: 6 deliveries, none can finish
        await _until_delivered(client, uuid)

    deliveries = await _deliveries(client)
    gave_up = [d for d in deliveries if d["state"] == "gave_up"]
    assert len(deliveries) == 6 and len(gave_up) == 6 - CAP
    assert all(d["attempts"][0]["error"] == NOT_SENT + receiver.url() for d in gave_up)
    assert (await _health(client))["pending_webhooks"] == CAP
    reached = [r for r in caplog.records if "webhook cap reached" in r.getMessage()]
    assert len(reached) == 1 and reached[0].levelno == logging.WARNING
    assert f"{CAP} deliveries pending for {receiver.url()}" in reached[0].getMessage()
    release.set()  # let the stalled attempts finish before the servers stop
    await _settle(client)


async def test_the_cap_lifts_once_the_receiver_answers(make_mock, receiver, caplog):
    release = asyncio.Event()
    receiver.script["/status"] = [_stalling(release) for _ in range(CAP)]
    client = await make_mock(clock="real", time_scale=0.01, status_url=receiver.url(), webhook_max_pending=CAP)
    caplog.set_level(logging.INFO, logger="mockserver.webhooks")
    for _ in range(3):
        _, answer = await post(client, "/beta/messages", sms())
        await _until_delivered(client, answer["message_uuid"])

    release.set()
    await _settle(client)
    assert (await _health(client))["pending_webhooks"] == 0
    states = sorted(d["state"] for d in await _deliveries(client))
    assert states == ["delivered"] * CAP + ["gave_up"] * (6 - CAP)
    lifted = [r.getMessage() for r in caplog.records if "webhook cap lifted" in r.getMessage()]
    assert lifted == [f"webhook cap lifted for {receiver.url()}: 1 deliveries pending; "
                      f"{6 - CAP} were not sent while it was reached"]

    _, answer = await post(client, "/beta/messages", sms())
    await _until_delivered(client, answer["message_uuid"])
    await _settle(client)
    fresh = await _deliveries(client, message_uuid=answer["message_uuid"])
    assert [d["state"] for d in fresh] == ["delivered", "delivered"]
    assert [r.getMessage() for r in caplog.records].count(lifted[0]) == 1  # one line per episode, no flood


async def test_history_limit_holds_under_concurrent_load(make_mock, receiver):
    client = await make_mock(history_limit=50, status_url=receiver.url())
    answers = await asyncio.gather(*(post(client, "/beta/messages", sms(text=f"load {i}")) for i in range(200)))
    assert all(status == 202 for status, _ in answers)
    await advance(client, 60)  # the statuses of the 50 kept messages go out; pruned ones stay silent

    health = await _health(client)
    assert health["counts"]["messages"] == 50 and health["pruned"]["messages"] == 150
    assert health["counts"]["deliveries"] == 50 and health["pruned"]["deliveries"] == 50
    assert health["pending_timers"] == 0 and health["pending_webhooks"] == 0
    kept = {answer["message_uuid"] for _, answer in answers[-50:]}
    assert {body["message_uuid"] for body in receiver.bodies()} == kept
    assert len(receiver.received) == 100
