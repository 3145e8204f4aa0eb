"""Compact delivery records: what a receiver got is what the journal shows, byte for byte and attempt by attempt,
in memory and across a restart with a state file."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from mockserver.deliveries import Attempt, Delivery, pack, unpack

from .support import advance, messenger, post, sms


@given(st.binary(max_size=5000))
def test_any_payload_comes_back_byte_for_byte(body: bytes) -> None:
    assert unpack(pack(body)) == body


def test_a_status_payload_is_kept_in_a_third_of_its_size() -> None:
    body = orjson.dumps({"message_uuid": "aaf2d1c4-3f5a-4d7e-9b41-6a3c1f0e2d55",
                         "to": {"type": "sms", "number": "447700900000"},
                         "from": {"type": "sms", "number": "447700900001"},
                         "timestamp": "2026-12-03T07:12:45.123Z", "status": "delivered"})
    assert len(pack(body)) * 3 < len(body)


def test_the_journal_gives_back_every_attempt_as_recorded() -> None:
    delivery = Delivery(7, "status", "http://127.0.0.1:9/status", "m-1", b'{"a":1}', 1_700_000_000.25)
    recorded = [Attempt(1_700_000_001.5, 12.345, 500, None, "no"), Attempt(1_700_000_006.5, 0.0, None, "timeout"),
                Attempt(1_700_000_016.5, 1.5, 200, None, "")]
    for attempt in recorded:
        delivery.record(attempt)
    assert delivery.attempts == recorded and delivery.attempt_count == 3
    assert delivery.created_at == 1_700_000_000.25
    again = Delivery.from_record(orjson.loads(orjson.dumps(delivery.to_record())), delivery.body)
    assert again.to_dict() == delivery.to_dict()
    assert again.to_dict()["id"] == "7"


async def test_each_attempt_and_payload_listed_is_what_the_receiver_got(make_mock, receiver):
    receiver.script["/status"] = [500, 503, 200]  # the first webhook fails twice
    client = await make_mock(status_url=receiver.url())
    _, answer = await post(client, "/beta/messages", messenger())
    await advance(client, 200)
    got = [r.body for r in receiver.received]
    listed = (await (await client.get(f"/_mock/webhooks?message_uuid={answer['message_uuid']}")).json())["deliveries"]
    listed.reverse()  # oldest first
    assert [d["payload"] for d in listed] == [orjson.loads(body) for body in dict.fromkeys(got)]
    assert [[a.get("status_code") for a in d["attempts"]] for d in listed] == [[500, 503, 200], [200], [200]]
    assert [a["response"] for a in listed[0]["attempts"]] == ["no", "no", "ok"]
    assert len({d["id"] for d in listed}) == 3


async def test_deliveries_are_numbered_on_after_a_restart(make_mock, receiver, tmp_path):
    state = str(tmp_path / "mock.db")
    client = await make_mock(state_file=state, status_url=receiver.url())
    await post(client, "/beta/messages", sms())
    await advance(client, 60)
    before = (await (await client.get("/_mock/webhooks")).json())["deliveries"]
    await client.close()

    client = await make_mock(state_file=state, status_url=receiver.url())
    kept = (await (await client.get("/_mock/webhooks")).json())["deliveries"]
    assert kept == before
    await post(client, "/beta/messages", sms())
    await advance(client, 60)
    after = (await (await client.get("/_mock/webhooks")).json())["deliveries"]
    assert len(after) == 4 and len({d["id"] for d in after}) == 4
    assert int(after[0]["id"]) > max(int(d["id"]) for d in before)
