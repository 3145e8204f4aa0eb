"""The rate limit: a token bucket per account (and per channel) on the simulated clock, 429 with Retry-After in
each dialect; settable by flag, environment, config file and PUT /_mock/config; off by default."""

from __future__ import annotations

import pytest

from mockserver.api.edge import PROBLEMS
from mockserver.config import ConfigError, load_settings

from .support import BASIC, advance, running_mock, sms
from .test_edge_faults import V1_SMS, statuses


async def send(client, path: str = "/beta/messages", body=None):
    return await client.post(path, json=body or sms(), headers={"Authorization": BASIC})


async def test_off_by_default(mock):
    assert await statuses(mock, "/beta/messages", sms(), 50) == [202] * 50
    config = await (await mock.get("/_mock/config")).json()
    assert (config["rate_limit"], config["rate_burst"], config["rate_limits"]) == (0, 0, {})


async def test_rate_limit_1_refuses_a_second_request_at_the_same_instant_until_advance_1(make_mock, contract):
    client = await make_mock(rate_limit=1.0)
    assert (await send(client)).status == 202
    refused = await send(client)
    assert refused.status == 429 and refused.headers["Retry-After"] == "1"
    problem = await refused.json()
    assert contract.problems("problem", problem) == []
    assert problem["type"] == PROBLEMS["beta"]["429"]["type"]
    await advance(client, 0.5)
    assert (await send(client)).status == 429
    await advance(client, 0.5)
    assert (await send(client)).status == 202
    assert len((await (await client.get("/_mock/messages")).json())["messages"]) == 2


async def test_v1_answers_the_rate_limit_in_its_own_dialect(make_mock):
    client = await make_mock(rate_limit=1.0)
    assert (await send(client, "/v1/messages", V1_SMS)).status == 202
    refused = await send(client, "/v1/messages", V1_SMS)
    problem = await refused.json()
    assert refused.status == 429 and problem["title"] == "Rate Limit Hit"
    assert problem["type"] == "https://developer.vonage.com/api-errors#rate-limit"


async def test_burst_and_retry_after_computed_from_the_bucket(make_mock):
    client = await make_mock(rate_limit=0.25, rate_burst=3)  # a token every 4 s, 3 at once
    assert await statuses(client, "/beta/messages", sms(), 4) == [202, 202, 202, 429]
    refused = await send(client)
    assert refused.headers["Retry-After"] == "4"
    await advance(client, 1)
    assert (await send(client)).headers["Retry-After"] == "3"
    await advance(client, 3)
    assert await statuses(client, "/beta/messages", sms(), 2) == [202, 429]
    await advance(client, 100)  # the bucket holds at most the burst
    assert await statuses(client, "/beta/messages", sms(), 4) == [202, 202, 202, 429]


async def test_the_default_burst_is_the_rate_rounded_up(make_mock):
    client = await make_mock(rate_limit=2.5)
    assert await statuses(client, "/beta/messages", sms(), 4) == [202, 202, 202, 429]


async def test_per_channel_limits_apply_to_that_channel_only(make_mock):
    from .support import messenger
    client = await make_mock(rate_limits={"sms": 1})
    assert await statuses(client, "/beta/messages", sms(), 2) == [202, 429]
    assert await statuses(client, "/beta/messages", messenger(), 3) == [202] * 3
    assert await statuses(client, "/v1/messages", V1_SMS, 1) == [429]  # the same account's sms bucket
    await advance(client, 1)
    assert await statuses(client, "/v1/messages", V1_SMS, 2) == [202, 429]


async def test_per_channel_limits_name_the_v1_or_the_simulations_channel(make_mock):
    client = await make_mock(rate_limits={"viber_service": 1})
    viber = {"channel": "viber_service", "message_type": "text", "to": "447700900000", "from": "viber-id",
             "text": "Hi", "viber_service": {"category": "transaction"}}
    assert await statuses(client, "/v1/messages", viber, 2) == [202, 429]


async def test_put_config_sets_and_clears_the_limit(mock):
    response = await mock.put("/_mock/config", json={"rate_limit": 1, "rate_burst": 2})
    assert response.status == 200 and (await response.json())["rate_limit"] == 1
    assert await statuses(mock, "/beta/messages", sms(), 3) == [202, 202, 429]
    await mock.put("/_mock/config", json={"rate_limit": 0})
    assert await statuses(mock, "/beta/messages", sms(), 5) == [202] * 5
    await mock.put("/_mock/config", json={"rate_limits": {"sms": 1}})  # rate_burst is still 2
    assert await statuses(mock, "/beta/messages", sms(), 3) == [202, 202, 429]


@pytest.mark.parametrize("change, name", [({"rate_limit": -1}, "rate_limit"), ({"rate_burst": 1.5}, "rate_burst"),
                                          ({"rate_limits": {"sms": 0}}, "rate_limits.sms"),
                                          ({"rate_limits": {"SMS!": 1}}, "rate_limits")])
async def test_a_bad_limit_gets_400_naming_it(mock, change, name):
    response = await mock.put("/_mock/config", json=change)
    assert response.status == 400
    assert name in [p["name"] for p in (await response.json())["invalid_parameters"]]


def test_flags_environment_and_config_file_set_the_limit(tmp_path):
    assert load_settings({"rate_limit": "30", "rate_burst": "5"}, {}).rate_limit == 30.0
    assert load_settings({}, {"MOCK_RATE_LIMIT": "1", "MOCK_RATE_BURST": "2"}).rate_burst == 2
    config = tmp_path / "mock.toml"
    config.write_text("rate_limit = 2\nrate_limits = {sms = 30}\n")
    settings = load_settings({"config": str(config)}, {})
    assert (settings.rate_limit, settings.rate_limits) == (2.0, {"sms": 30})
    with pytest.raises(ConfigError, match=r"^rate_limit: .*from --rate-limit"):
        load_settings({"rate_limit": "fast"}, {})
    with pytest.raises(ConfigError, match=r"^rate_burst: .*from MOCK_RATE_BURST"):
        load_settings({}, {"MOCK_RATE_BURST": "-3"})


def test_the_command_takes_rate_limit_and_burst():
    with running_mock("--clock", "manual", "--rate-limit", "1", "--rate-burst", "1") as live:
        import urllib.error
        import urllib.request

        def post() -> int:
            request = urllib.request.Request(live.base_url + "/beta/messages", data=__import__("json").dumps(
                sms()).encode(), headers={"Authorization": BASIC, "Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=5) as answer:
                    return answer.status
            except urllib.error.HTTPError as exc:
                assert exc.headers["Retry-After"] == "1"
                return exc.code

        assert [post(), post()] == [202, 429]


async def test_the_state_file_keeps_the_limits(make_mock, tmp_path):
    state = str(tmp_path / "mock.db")
    client = await make_mock(state_file=state)
    await client.put("/_mock/config", json={"rate_limit": 1, "rate_limits": {"sms": 0.5}})
    await client.close()
    client = await make_mock(state_file=state)
    config = await (await client.get("/_mock/config")).json()
    assert (config["rate_limit"], config["rate_limits"]) == (1, {"sms": 0.5})
    assert await statuses(client, "/beta/messages", sms(), 2) == [202, 429]
