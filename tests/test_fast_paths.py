"""The hot path's shortcuts give exactly what the slow ways gave: rounding, stored JSON, timer order."""

from __future__ import annotations

import math

import orjson
from hypothesis import example, given
from hypothesis import strategies as st

from mockserver.simulation.clock import round_ms
from mockserver.simulation.models import compact_json

from .support import advance, post, sms
from .support import workflow as flow

NO_JITTER = {"sms": {"jitter": 0, "delays": {"submitted": 10, "delivered": 50}}}

# Times near a tie (x.xxx5) are where a scaled shortcut could round the other way than round() does.
near_ties = st.builds(lambda ms, nudge: (ms + 0.5 + nudge) / 1000, st.integers(0, 4_000_000_000_000),
                      st.sampled_from([0.0, 1e-7, -1e-7, 1e-4, -1e-4, 4e-4, -4e-4]))


@given(st.one_of(st.floats(allow_nan=False), st.floats(0, 5e9), near_ties))
@example(0.0)
@example(-0.0)
@example(2.675)
@example(0.0005)
@example(3999999999.9995)
@example(math.inf)
def test_round_ms_is_exactly_round_to_three_places(seconds):
    fast, slow = round_ms(seconds), round(seconds, 3)
    assert fast == slow and math.copysign(1, fast) == math.copysign(1, slow)


def test_compact_json_is_orjson_output_in_an_object_of_its_own_size():
    body = {**sms(), "client_ref": "ref-1", "nested": [1, 2.5, None, {"ü": True}]}
    stored = compact_json(body)
    assert stored == orjson.dumps(body) and type(stored) is bytes
    assert stored is not orjson.dumps(body)


async def test_statuses_due_at_the_same_instant_go_out_in_the_order_the_messages_came(make_mock, receiver):
    client = await make_mock(status_url=receiver.url(), profiles=NO_JITTER)
    uuids = [(await post(client, "/beta/messages", sms(text=f"n{i}")))[1]["message_uuid"] for i in range(5)]
    await advance(client, 60)
    journal = (await (await client.get("/_mock/webhooks")).json())["deliveries"]  # newest first
    queued = [(d["message_uuid"], d["payload"]["status"]) for d in reversed(journal)]
    assert queued == [(u, "submitted") for u in uuids] + [(u, "delivered") for u in uuids]


async def test_a_condition_met_at_the_expiry_instant_counts_as_met(make_mock, receiver):
    client = await make_mock(status_url=receiver.url(), profiles=NO_JITTER)
    body = flow(sms(), sms(), condition="delivered", expiry=60)  # delivered at 10 + 50 s
    status, answer = await post(client, "/beta/workflows", body)
    assert status == 202
    await advance(client, 60)
    workflow = await (await client.get(f"/_mock/workflows/{answer['workflow_uuid']}")).json()
    assert workflow["status"] == "completed"
    assert [i["state"] for i in workflow["items"]] == ["condition_met", "skipped"]


async def test_advancing_by_the_sum_of_the_delays_reaches_the_status(make_mock):
    # At this start, start + 0.3 + 1.5 rounds to a millisecond just above start + 1.8 in floating point.
    client = await make_mock(start_time="2027-01-01T00:00:00.001Z",
                             profiles={"sms": {"jitter": 0, "delays": {"submitted": 0.3, "delivered": 1.5}}})
    _, answer = await post(client, "/beta/messages", sms())
    await advance(client, 1.8)
    message = await (await client.get(f"/_mock/messages/{answer['message_uuid']}")).json()
    assert message["status"] == "delivered"
