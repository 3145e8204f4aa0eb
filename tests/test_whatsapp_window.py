"""The WhatsApp customer-care window on the manual clock: free-form messages pass only within 24 simulated hours
of the user's last message to that business number; templates always pass."""

from __future__ import annotations

from .support import AS_SENDER, advance, post
from .v1_bodies import BODIES, BUSINESS, NUMBER

DAY = 24 * 3600


async def user_writes(client, user: str = NUMBER, business: str = BUSINESS) -> None:
    status, _ = await post(client, "/_mock/inbound", {"channel": "whatsapp", "from": {"number": user},
                                                      "to": {"number": business}, "content": {"text": "Hi"}},
                           AS_SENDER)  # the window is the account's: the user writes to the account that answers
    assert status == 202


async def final_webhook(client, receiver, body: dict) -> dict:
    status, answer = await post(client, "/v1/messages", body)
    assert status == 202, answer
    await advance(client, 60)
    return [b for b in receiver.bodies() if b["message_uuid"] == answer["message_uuid"]][-1]


async def test_free_form_message_without_a_user_message_is_rejected_1340(make_mock, receiver, contract):
    client = await make_mock(status_url=receiver.url())
    final = await final_webhook(client, receiver, BODIES["whatsapp text"])
    assert final["status"] == "rejected"
    assert final["error"]["title"] == 1340
    assert final["error"]["detail"] == "Outside of the allowed window"
    assert contract.problems("v1/status-webhook", final) == []


async def test_templates_always_pass(make_mock, receiver):
    client = await make_mock(status_url=receiver.url())
    assert (await final_webhook(client, receiver, BODIES["whatsapp template"]))["status"] == "read"


async def test_a_user_message_opens_the_window_for_24_simulated_hours(make_mock, receiver):
    client = await make_mock(status_url=receiver.url())
    await user_writes(client)
    assert (await final_webhook(client, receiver, BODIES["whatsapp image"]))["status"] == "read"
    await advance(client, DAY - 60 - 1)  # 24 h after the user wrote, less the minute each send waited
    _, answer = await post(client, "/v1/messages", BODIES["whatsapp text"])
    await advance(client, 60)
    assert [b for b in receiver.bodies() if b["message_uuid"] == answer["message_uuid"]][-1]["status"] == "read"
    final = await final_webhook(client, receiver, BODIES["whatsapp text"])  # now past the 24 h
    assert (final["status"], final["error"]["title"]) == ("rejected", 1340)
    await user_writes(client)  # writing again reopens it
    assert (await final_webhook(client, receiver, BODIES["whatsapp text"]))["status"] == "read"


async def test_the_window_is_per_user_and_business_number(make_mock, receiver):
    client = await make_mock(status_url=receiver.url())
    await user_writes(client, business="447700900002")
    await user_writes(client, user="447700900555")
    assert (await final_webhook(client, receiver, BODIES["whatsapp text"]))["status"] == "rejected"


async def test_reset_closes_every_window(make_mock, receiver):
    client = await make_mock(status_url=receiver.url())
    await user_writes(client)
    assert (await client.post("/_mock/reset")).status in (200, 204)
    assert (await final_webhook(client, receiver, BODIES["whatsapp text"]))["status"] == "rejected"


async def test_a_magic_recipient_outcome_wins_over_the_window(make_mock, receiver):
    client = await make_mock(status_url=receiver.url())
    final = await final_webhook(client, receiver, BODIES["whatsapp text"] | {"to": "447700900911"})
    assert (final["status"], final["error"]["title"]) == ("undeliverable", 1190)


async def test_an_open_window_survives_a_restart_with_a_state_file(make_mock, receiver, tmp_path):
    state = str(tmp_path / "mock.db")
    client = await make_mock(state_file=state, start_time="2020-01-01T14:00:00Z")
    await user_writes(client)
    await client.close()
    client = await make_mock(state_file=state, status_url=receiver.url(), start_time="2020-01-01T14:00:00Z")
    assert (await final_webhook(client, receiver, BODIES["whatsapp text"]))["status"] == "read"


async def test_a_user_message_naming_no_account_goes_to_the_one_account_in_use(make_mock, receiver):
    client = await make_mock(status_url=receiver.url())
    assert (await final_webhook(client, receiver, BODIES["whatsapp template"]))["status"] == "read"  # made abcd1234
    status, answer = await post(client, "/_mock/inbound", {"channel": "whatsapp", "from": {"number": "447700900555"},
                                                           "to": {"number": BUSINESS}})
    assert (status, answer["account"]) == (202, "abcd1234")
    text = {**BODIES["whatsapp text"], "to": "447700900555"}
    assert (await final_webhook(client, receiver, text))["status"] == "read"  # its window is open


async def test_a_user_message_naming_no_account_goes_to_the_api_keys_account_when_one_is_set(make_mock):
    client = await make_mock(api_key="acme", api_secret="s3cr3t")
    status, answer = await post(client, "/_mock/inbound", {"channel": "whatsapp"})
    assert (status, answer["account"]) == (202, "acme")
