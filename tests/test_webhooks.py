"""Webhook delivery: retries with backoff on the clock, order per message, independence, journal, signing."""

from __future__ import annotations

import hashlib

import jwt

from .support import advance, post, sms


async def _deliveries(client, **params):
    return (await (await client.get("/_mock/webhooks", params=params)).json())["deliveries"]


async def test_receiver_failing_twice_gets_the_event_three_times_in_order(make_mock, receiver):
    receiver.script["/status"] = [500, 500]
    client = await make_mock(status_url=receiver.url(), profiles={"sms": {"jitter": 0}})
    _, answer = await post(client, "/beta/messages", sms())
    await advance(client, 0.4)  # submitted: attempt 1 fails
    assert [p["status"] for p in receiver.bodies()] == ["submitted"]
    await advance(client, 5)  # retry after 5 s: fails again; delivered (t=3.4) is held back behind it
    assert [p["status"] for p in receiver.bodies()] == ["submitted", "submitted"]
    await advance(client, 10)  # retry after 10 s more: succeeds, then delivered goes out
    assert [p["status"] for p in receiver.bodies()] == ["submitted", "submitted", "submitted", "delivered"]

    deliveries = await _deliveries(client, message_uuid=answer["message_uuid"])
    submitted = next(d for d in deliveries if d["payload"]["status"] == "submitted")
    assert submitted["state"] == "delivered"
    assert [a.get("status_code") for a in submitted["attempts"]] == [500, 500, 200]
    assert all(a["latency_ms"] >= 0 for a in submitted["attempts"])


async def test_unreachable_receiver_gives_up_after_the_cap(make_mock, unused_tcp_port):
    url = f"http://127.0.0.1:{unused_tcp_port}/status"
    client = await make_mock(status_url=url, webhook_max_attempts=3)
    _, answer = await post(client, "/beta/messages", sms())
    await advance(client, 3600)
    deliveries = await _deliveries(client, message_uuid=answer["message_uuid"])
    assert len(deliveries) == 2
    for delivery in deliveries:
        assert delivery["state"] == "gave_up"
        assert len(delivery["attempts"]) == 3
        assert all("error" in a for a in delivery["attempts"])


async def test_retry_after_header_is_honoured(make_mock, receiver):
    async def too_many(request):
        from aiohttp import web

        return web.Response(status=429, headers={"Retry-After": "30"})

    receiver.script["/status"] = [too_many]
    client = await make_mock(status_url=receiver.url(), profiles={"sms": {"jitter": 0}})
    await post(client, "/beta/messages", sms())
    await advance(client, 0.4)
    await advance(client, 29)
    assert len(receiver.bodies()) == 1
    await advance(client, 1)
    assert len(receiver.bodies()) >= 2


async def test_slow_receiver_for_one_message_does_not_delay_another(make_mock, receiver):
    receiver.slow_when = (b"447700900111", 0.5)
    client = await make_mock(status_url=receiver.url(), profiles={"sms": {"jitter": 0}})
    await post(client, "/beta/messages", sms(to="447700900111"))
    await post(client, "/beta/messages", sms(to="447700900222"))
    await advance(client, 1)
    slow = next(r for r in receiver.received if b"447700900111" in r.body)
    fast = next(r for r in receiver.received if b"447700900222" in r.body)
    assert fast.answered_at < slow.answered_at  # B's webhook went through while A's receiver stalled
    assert fast.arrived_at - slow.arrived_at < 0.4


async def test_signed_webhooks_verify_and_hash_the_body(make_mock, receiver):
    client = await make_mock(status_url=receiver.url(), signature_secret="signature-secret-of-at-least-32-bytes")
    await post(client, "/beta/messages", sms())
    await advance(client, 60)
    assert receiver.received
    for request in receiver.received:
        token = request.headers["Authorization"].removeprefix("Bearer ")
        claims = jwt.decode(token, "signature-secret-of-at-least-32-bytes", algorithms=["HS256"])
        assert claims["iss"] == "Vonage" and claims["jti"] and claims["iat"]
        assert claims["payload_hash"] == hashlib.sha256(request.body).hexdigest()


async def test_unsigned_webhooks_have_no_authorization(make_mock, receiver):
    client = await make_mock(status_url=receiver.url())
    await post(client, "/beta/messages", sms())
    await advance(client, 60)
    assert receiver.received and all("Authorization" not in r.headers for r in receiver.received)
    assert all(r.headers["Content-Type"] == "application/json" for r in receiver.received)


async def test_status_url_can_be_set_at_run_time(mock, receiver):
    response = await mock.put("/_mock/config", json={"status_url": receiver.url("/late")})
    assert (await response.json())["status_url"] == receiver.url("/late")
    await post(mock, "/beta/messages", sms())
    await advance(mock, 60)
    assert [p["status"] for p in receiver.bodies("/late")] == ["submitted", "delivered"]


async def test_webhook_log_filters_by_kind(make_mock, receiver):
    client = await make_mock(status_url=receiver.url())
    await post(client, "/beta/messages", sms())
    await advance(client, 60)
    assert len(await _deliveries(client, kind="status")) == 2
    assert await _deliveries(client, kind="inbound") == []
