"""Faults at the API edge (/_mock/faults), through the real HTTP interface: every field, their combinations, the
dialects' bodies, account scoping, the stream's events, the state file. Nothing is stored for a faulted request."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import aiohttp
import pytest

from mockserver.api.edge import PROBLEMS

from .support import BASIC, advance, post, sms

V1_SMS = {"channel": "sms", "message_type": "text", "to": "447700900000", "from": "447700900001", "text": "Hi"}
V1_429 = {"type": "https://developer.vonage.com/api-errors#rate-limit", "title": "Rate Limit Hit",
          "detail": "Please wait, then retry your request"}
START = "2020-01-01T14:00:00Z"


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:secret".encode()).decode()}


async def add(client, fault: dict[str, Any], account: str | None = None) -> dict[str, Any]:
    response = await client.post("/_mock/faults", json=fault, params={"account": account} if account else {})
    assert response.status == 201, await response.text()
    return await response.json()


async def faults(client) -> list[dict[str, Any]]:
    return (await (await client.get("/_mock/faults")).json())["faults"]


async def stored(client) -> int:
    return len((await (await client.get("/_mock/messages")).json())["messages"])


async def statuses(client, path: str, body: dict[str, Any], count: int) -> list[int]:
    found = []
    for _ in range(count):
        response = await client.post(path, json=body, headers={"Authorization": BASIC})
        found.append(response.status)
    return found


# -- the endpoints ---------------------------------------------------------------------------------------
async def test_post_answers_201_with_id_and_no_hits_get_lists_delete_removes(mock):
    fault = await add(mock, {"match": {"path": "/beta/messages"}, "status": 500})
    assert fault["id"] and fault["hits"] == 0 and fault["status"] == 500 and fault["active"]
    assert [f["id"] for f in await faults(mock)] == [fault["id"]]
    assert (await mock.get(f"/_mock/faults/{fault['id']}")).status == 200
    assert (await mock.delete(f"/_mock/faults/{fault['id']}")).status == 204
    missing = await mock.delete(f"/_mock/faults/{fault['id']}")
    assert missing.status == 404 and (await missing.json())["title"] == "Not Found"
    await add(mock, {"status": 500})
    await add(mock, {"latency_ms": 10})
    assert (await mock.delete("/_mock/faults")).status == 204
    assert await faults(mock) == []
    assert await statuses(mock, "/beta/messages", sms(), 1) == [202]


@pytest.mark.parametrize("body, name", [
    ({"match": {"path": "/v1/messages"}}, ""),
    ({"status": 200}, "status"),
    ({"status": 500, "drop": "cut"}, "drop"),
    ({"body": {"x": 1}, "latency_ms": 5}, "status"),
    ({"jitter_ms": 5, "status": 500}, "latency_ms"),
    ({"status": 500, "match": {"to_pattern": "(a"}}, "match.to_pattern"),
    ({"status": 500, "match": {"nope": "x"}}, "match.nope"),
    ({"status": 500, "window": {"start": "2020-02-30T00:00:00Z"}}, "window.start"),
    ({"status": 500, "probability": 1.5}, "probability"),
])
async def test_a_bad_fault_gets_400_naming_the_field(mock, body, name):
    response = await mock.post("/_mock/faults", json=body)
    assert response.status == 400
    problem = await response.json()
    assert name in [p["name"] for p in problem["invalid_parameters"]], problem
    assert await faults(mock) == []


async def test_a_duplicate_id_gets_409(mock):
    await add(mock, {"id": "outage", "status": 503})
    assert (await mock.post("/_mock/faults", json={"id": "outage", "status": 503})).status == 409


# -- status and bodies --------------------------------------------------------------------------------------
async def test_status_answers_with_the_dialects_default_problem_and_nothing_is_stored(mock, contract, receiver):
    await mock.put("/_mock/config", json={"status_url": receiver.url()})
    await add(mock, {"match": {"path": "/v1/messages"}, "status": 429, "retry_after": 2})
    response = await mock.post("/v1/messages", json=V1_SMS, headers={"Authorization": BASIC})
    assert response.status == 429 and response.headers["Retry-After"] == "2"
    problem = await response.json()
    assert {key: problem[key] for key in V1_429} == V1_429 and problem["instance"]
    assert contract.problems("problem", problem) == []
    assert await stored(mock) == 0
    await advance(mock, 60)
    assert receiver.received == []
    [fault] = await faults(mock)
    assert fault["hits"] == 1


@pytest.mark.parametrize("status", [401, 402, 403, 404, 429, 500, 503])
@pytest.mark.parametrize("path, body, dialect", [("/beta/messages", sms(), "beta"), ("/v0.1/messages", sms(), "beta"),
                                                 ("/v1/messages", V1_SMS, "v1")])
async def test_each_status_has_its_dialects_body(mock, contract, status, path, body, dialect):
    await add(mock, {"status": status})
    response = await mock.post(path, json=body, headers={"Authorization": BASIC})
    assert response.status == status and response.content_type == "application/json"
    problem = await response.json()
    assert contract.problems("problem", problem) == [], problem
    expected = PROBLEMS[dialect][str(status)]
    assert (problem["type"], problem["title"], problem["detail"]) == (
        expected["type"], expected["title"], expected["detail"])
    assert ("vonage.com" in problem["type"]) == (dialect == "v1")


async def test_a_status_without_a_default_body_gets_its_reason_phrase(mock, contract):
    await add(mock, {"status": 418})
    response = await mock.post("/beta/messages", json=sms(), headers={"Authorization": BASIC})
    problem = await response.json()
    assert response.status == 418 and problem["title"].lower() == "i'm a teapot"
    assert contract.problems("problem", problem) == []


async def test_body_replaces_the_default_problem(mock):
    await add(mock, {"status": 500, "body": {"error": "boom", "codes": [1, 2]}})
    response = await mock.post("/beta/messages", json=sms(), headers={"Authorization": BASIC})
    assert response.status == 500 and await response.json() == {"error": "boom", "codes": [1, 2]}
    assert "Retry-After" not in response.headers


# -- match ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("match, hit", [
    ({"path": "/beta/messages"}, True),
    ({"path": "/beta/*"}, True),
    ({"path": "/v1/*"}, False),
    ({"path": "/beta"}, False),
    ({"method": "post"}, True),
    ({"method": "PUT"}, False),
    ({"channel": "sms"}, True),
    ({"channel": "messenger"}, False),
    ({"to": "447700900000"}, True),
    ({"to": "447700900001"}, False),
    ({"to_pattern": "^4477.*"}, True),
    ({"to_pattern": "^1"}, False),
    ({"path": "/beta/messages", "channel": "sms", "to_pattern": "0000$"}, True),
    ({"path": "/beta/messages", "channel": "messenger"}, False),
    ({"application_id": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"}, False),
])
async def test_every_match_key(mock, match, hit):
    await add(mock, {"match": match, "status": 503})
    assert await statuses(mock, "/beta/messages", sms(), 1) == [503 if hit else 202]


async def test_v1_channels_match_as_named_and_as_simulated(mock):
    await add(mock, {"match": {"channel": "viber_service_msg"}, "status": 503})
    viber = {"channel": "viber_service", "message_type": "text", "to": "447700900000", "from": "viber-id",
             "text": "Hi", "viber_service": {"category": "transaction"}}
    assert await statuses(mock, "/v1/messages", viber, 1) == [503]
    await mock.delete("/_mock/faults")
    await add(mock, {"match": {"channel": "viber_service"}, "status": 503})
    assert await statuses(mock, "/v1/messages", viber, 1) == [503]


async def test_body_keys_apply_only_to_a_valid_body(mock):
    await add(mock, {"match": {"channel": "sms"}, "status": 503})
    await add(mock, {"match": {"path": "/beta/messages", "method": "POST"}, "latency_ms": 1})
    invalid = {**sms(), "to": {"type": "sms", "number": 447700900000}}
    response = await mock.post("/beta/messages", json=invalid, headers={"Authorization": BASIC})
    assert response.status == 400  # the channel fault cannot read an invalid body: the request's own answer
    [channel, latency] = await faults(mock)
    assert channel["hits"] == 0 and latency["hits"] == 1


async def test_path_only_faults_answer_invalid_bodies_too(mock):
    await add(mock, {"match": {"path": "/beta/messages"}, "status": 500})
    response = await mock.post("/beta/messages", json={"to": 1}, headers={"Authorization": BASIC})
    assert response.status == 500


async def test_application_id_matches_the_callers_jwt(mock):
    import jwt
    app_id = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"
    await add(mock, {"match": {"application_id": app_id}, "status": 403})
    token = jwt.encode({"application_id": app_id, "iat": int(time.time()), "jti": "x"}, "k" * 32, algorithm="HS256")
    response = await mock.post("/beta/messages", json=sms(), headers={"Authorization": f"Bearer {token}"})
    assert response.status == 403
    assert await statuses(mock, "/beta/messages", sms(), 1) == [202]  # Basic: no application


# -- times, after, probability, window ---------------------------------------------------------------------
async def test_times_retires_the_fault_after_n_hits(mock):
    await add(mock, {"status": 429, "times": 2})
    assert await statuses(mock, "/beta/messages", sms(), 4) == [429, 429, 202, 202]
    [fault] = await faults(mock)
    assert fault["hits"] == 2 and fault["active"] is False


async def test_after_lets_the_first_n_pass(mock):
    await add(mock, {"status": 500, "after": 2})
    assert await statuses(mock, "/beta/messages", sms(), 4) == [202, 202, 500, 500]
    assert await stored(mock) == 2


async def test_after_and_times_together_fail_a_middle_stretch(mock):
    await add(mock, {"status": 500, "after": 1, "times": 2})
    assert await statuses(mock, "/beta/messages", sms(), 5) == [202, 500, 500, 202, 202]


async def test_probability_draws_from_the_seeded_generator(make_mock):
    runs = []
    for _ in range(2):
        client = await make_mock(seed=7)
        await add(client, {"status": 503, "probability": 0.5})
        runs.append(await statuses(client, "/beta/messages", sms(), 30))
    assert runs[0] == runs[1]
    assert 5 < runs[0].count(503) < 25
    client = await make_mock(seed=8)
    await add(client, {"status": 503, "probability": 0.5})
    assert await statuses(client, "/beta/messages", sms(), 30) != runs[0]


async def test_probability_0_and_1(mock):
    await add(mock, {"status": 503, "probability": 0})
    assert await statuses(mock, "/beta/messages", sms(), 3) == [202] * 3
    await add(mock, {"status": 500, "probability": 1})
    assert await statuses(mock, "/beta/messages", sms(), 3) == [500] * 3


async def test_window_in_seconds_from_now_on_the_simulated_clock(mock):
    await add(mock, {"status": 503, "window": {"start": 10, "duration": 30}})
    assert await statuses(mock, "/beta/messages", sms(), 1) == [202]
    await advance(mock, 10)
    assert await statuses(mock, "/beta/messages", sms(), 1) == [503]
    await advance(mock, 29.9)
    assert await statuses(mock, "/beta/messages", sms(), 1) == [503]
    await advance(mock, 0.1)
    assert await statuses(mock, "/beta/messages", sms(), 1) == [202]


async def test_window_at_an_iso_time_without_an_end(make_mock):
    client = await make_mock(start_time=START)
    fault = await add(client, {"status": 500, "window": {"start": "2020-01-01T14:01:00Z"}})
    assert fault["window"] == {"start": "2020-01-01T14:01:00.000Z"}
    assert await statuses(client, "/beta/messages", sms(), 1) == [202]
    await advance(client, 60)
    assert await statuses(client, "/beta/messages", sms(), 1) == [500]
    await advance(client, 86400)
    assert await statuses(client, "/beta/messages", sms(), 1) == [500]


# -- latency and drops -------------------------------------------------------------------------------------
async def test_latency_only_delays_the_real_answer(mock):
    await add(mock, {"latency_ms": 300})
    started = time.monotonic()
    assert await statuses(mock, "/beta/messages", sms(), 1) == [202]
    assert time.monotonic() - started >= 0.3
    assert await stored(mock) == 1


async def test_latency_with_a_status_delays_the_fault(mock):
    await add(mock, {"latency_ms": 200, "jitter_ms": 50, "status": 503})
    started = time.monotonic()
    assert await statuses(mock, "/beta/messages", sms(), 1) == [503]
    assert time.monotonic() - started >= 0.15
    [fault] = await faults(mock)
    assert fault["jitter_ms"] == 50


async def raw_exchange(port: int, path: str, body: dict[str, Any]) -> tuple[bytes, BaseException | None]:
    """What a socket receives for one request until the server closes it, and the error that ended the read."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    payload = json.dumps(body).encode()
    writer.write(f"POST {path} HTTP/1.1\r\nHost: m\r\nAuthorization: {BASIC}\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
    received, error = b"", None
    try:
        while chunk := await asyncio.wait_for(reader.read(65536), 5):
            received += chunk
    except ConnectionResetError as exc:
        error = exc
    writer.close()
    return received, error


async def test_drop_reset_sends_a_tcp_reset_and_no_answer(mock):
    await add(mock, {"drop": "reset"})
    received, error = await raw_exchange(mock.server.port, "/beta/messages", sms())
    assert received == b"" and isinstance(error, ConnectionResetError)
    assert await stored(mock) == 0


async def test_drop_empty_closes_without_a_byte(mock):
    await add(mock, {"drop": "empty"})
    received, error = await raw_exchange(mock.server.port, "/beta/messages", sms())
    assert received == b"" and error is None
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await mock.post("/beta/messages", json=sms(), headers={"Authorization": BASIC})
    assert await stored(mock) == 0


async def test_drop_partial_sends_the_head_and_half_the_body(mock):
    await add(mock, {"drop": "partial", "status": 503, "retry_after": 5})
    received, _ = await raw_exchange(mock.server.port, "/v1/messages", V1_SMS)
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503 Service Unavailable\r\n") and b"Retry-After: 5" in head
    length = int(next(line for line in head.split(b"\r\n") if line.startswith(b"Content-Length")).split(b":")[1])
    assert 0 < len(body) == length // 2
    with pytest.raises(aiohttp.ClientPayloadError):
        response = await mock.post("/v1/messages", json=V1_SMS, headers={"Authorization": BASIC})
        await response.read()
    assert await stored(mock) == 0


async def test_the_mock_keeps_serving_after_drops(mock):
    await add(mock, {"drop": "reset", "times": 1})
    await add(mock, {"drop": "partial", "times": 1})
    for _ in range(2):
        with pytest.raises(aiohttp.ClientError):
            response = await mock.post("/beta/messages", json=sms(), headers={"Authorization": BASIC})
            await response.read()
    assert await statuses(mock, "/beta/messages", sms(), 2) == [202, 202]
    assert (await mock.get("/_mock/health")).status == 200


# -- accounts, the stream, the state file -----------------------------------------------------------------------
async def test_a_fault_named_for_an_account_applies_to_that_account_only(mock):
    other = await add(mock, {"status": 503}, account="someone-else")
    assert other["account"] == "someone-else"
    mine = await mock.get("/_mock/faults", params={"account": "abcd1234"})  # the Basic api_key of `statuses`
    assert (await mine.json())["faults"] == []
    assert await statuses(mock, "/beta/messages", sms(), 1) == [202]
    await add(mock, {"status": 500}, account="abcd1234")
    assert await statuses(mock, "/beta/messages", sms(), 1) == [500]
    assert (await mock.delete("/_mock/faults", params={"account": "abcd1234"})).status == 204
    assert [f["account"] for f in await faults(mock)] == ["someone-else"]


async def test_every_hit_is_an_event_on_the_stream(mock):
    fault = await add(mock, {"match": {"path": "/beta/messages"}, "status": 429, "times": 1})
    async with mock.get("/_mock/events") as stream:
        assert (await stream.content.readuntil(b"\n\n")).startswith(b"retry:")
        assert await statuses(mock, "/beta/messages", sms(), 1) == [429]
        event = await asyncio.wait_for(stream.content.readuntil(b"\n\n"), 5)
    lines = dict(line.split(": ", 1) for line in event.decode().strip().splitlines())
    assert lines["event"] == "fault.hit"
    data = json.loads(lines["data"])
    assert data["fault"]["id"] == fault["id"] and data["fault"]["hits"] == 1
    assert data["request"] == {"path": "/beta/messages", "method": "POST", "channel": "sms", "to": "447700900000",
                               "account": "abcd1234"}


async def test_the_state_file_keeps_faults_with_their_hits(make_mock, tmp_path):
    state = str(tmp_path / "mock.db")
    client = await make_mock(state_file=state, start_time=START)
    await add(client, {"id": "flaky", "status": 500, "times": 3, "window": {"start": 0, "duration": 600}})
    await add(client, {"id": "theirs", "status": 503}, account="acme")
    assert await statuses(client, "/beta/messages", sms(), 1) == [500]
    before = await faults(client)
    await client.close()

    client = await make_mock(state_file=state, start_time=START)
    assert await faults(client) == before
    assert await statuses(client, "/beta/messages", sms(), 3) == [500, 500, 202]


async def test_get_balance_is_behind_the_edge_too(mock):
    await add(mock, {"match": {"path": "/account/*"}, "status": 503})
    response = await mock.get("/account/get-balance", headers=basic("abc"))
    assert response.status == 503
    assert await statuses(mock, "/beta/messages", sms(), 1) == [202]


async def test_a_control_request_is_never_faulted(mock):
    await add(mock, {"status": 500})
    assert (await mock.get("/_mock/health")).status == 200
    status, _ = await post(mock, "/beta/messages", sms())
    assert status == 500


# -- the pytest plugin's client ------------------------------------------------------------------------------
def test_the_plugin_client_sets_faults_rate_limit_and_balance_and_restore_clears_them():
    import urllib.error
    import urllib.request

    from mockserver.client import MockServer, baseline, restore

    def send(base_url: str, path: str = "/v1/messages", body: dict[str, Any] = V1_SMS) -> int:
        request = urllib.request.Request(base_url + path, data=json.dumps(body).encode(),
                                         headers={"Authorization": BASIC, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return answer.status
        except urllib.error.HTTPError as exc:
            return exc.code

    with MockServer() as server:
        mock = server.client()
        session = baseline(mock)
        with mock.fault(status=429, retry_after=1, times=2, path="/v1/messages") as fault:
            assert fault["match"] == {"path": "/v1/messages"}
            assert [send(server.url) for _ in range(3)] == [429, 429, 202]
            assert mock.faults()[0]["hits"] == 2
        assert mock.faults() == []

        mock.rate_limit(1)
        assert [send(server.url), send(server.url)] == [202, 429]
        mock.advance(1)
        assert send(server.url) == 202
        mock.rate_limit(0)

        assert mock.balance(0.05)["balance"] == 0.05
        assert send(server.url) == 202
        mock.advance(10)
        assert send(server.url) == 402

        mock.add_fault(status=500)
        restore(mock, session)
        assert mock.faults() == []
        config = mock.config()
        assert (config["balance"], config["rate_limit"]) == (None, 0)
        assert send(server.url) == 202


async def test_the_async_client_has_fault_as_an_async_context_manager():
    from mockserver.client import MockServer

    with MockServer() as server:
        mock = server.client().aio
        async with mock.fault(status=503, to="447700900000", times=1) as fault:
            assert fault["match"] == {"to": "447700900000"}
            assert [f["id"] for f in await mock.faults()] == [fault["id"]]
        assert await mock.faults() == []


# -- combinations ---------------------------------------------------------------------------------------------
async def test_probability_with_times_stops_at_times_hits(make_mock):
    client = await make_mock(seed=3)
    await add(client, {"status": 503, "probability": 0.5, "times": 3})
    found = await statuses(client, "/beta/messages", sms(), 40)
    assert found.count(503) == 3 and found[-10:] == [202] * 10


async def test_window_with_after_counts_only_requests_inside_the_window(mock):
    await add(mock, {"status": 500, "after": 1, "window": {"start": 5, "duration": 10}})
    assert await statuses(mock, "/beta/messages", sms(), 2) == [202, 202]  # before the window: not counted
    await advance(mock, 5)
    assert await statuses(mock, "/beta/messages", sms(), 3) == [202, 500, 500]


async def test_drop_after_and_times_on_one_recipient(mock):
    await add(mock, {"match": {"to": "447700900000", "method": "POST"}, "drop": "empty", "after": 1, "times": 1})
    assert await statuses(mock, "/beta/messages", sms(to="447700900000"), 1) == [202]
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await mock.post("/beta/messages", json=sms(to="447700900000"), headers={"Authorization": BASIC})
    assert await statuses(mock, "/beta/messages", sms(to="447700900123"), 1) == [202]
    assert await statuses(mock, "/beta/messages", sms(to="447700900000"), 1) == [202]


async def test_the_first_fault_added_answers_when_two_match(mock):
    first = await add(mock, {"match": {"path": "/beta/*"}, "status": 503, "times": 1})
    await add(mock, {"match": {"path": "/beta/messages"}, "status": 500})
    assert await statuses(mock, "/beta/messages", sms(), 2) == [503, 500]
    hits = {fault["id"]: fault["hits"] for fault in await faults(mock)}
    assert hits[first["id"]] == 1 and sorted(hits.values()) == [1, 1]


async def test_faults_by_recipient_and_others_answer_in_the_order_they_were_added(mock):
    """Faults naming an exact `to` are looked up by it; the order of all of them still decides."""
    to = sms()["to"]["number"]
    await add(mock, {"match": {"channel": "sms"}, "status": 503, "times": 1})
    await add(mock, {"match": {"to": to}, "status": 500, "times": 1})
    await add(mock, {"match": {"to": "447700900999"}, "status": 402})
    await add(mock, {"match": {"to": to, "method": "POST"}, "status": 429, "times": 1})
    await add(mock, {"match": {"path": "/beta/messages"}, "status": 401, "times": 1})
    assert await statuses(mock, "/beta/messages", sms(), 5) == [503, 500, 429, 401, 202]


async def test_a_fault_on_a_workflow_reads_its_first_message(mock):
    from .support import messenger, workflow
    await add(mock, {"match": {"channel": "messenger", "path": "/beta/workflows"}, "status": 429, "retry_after": 3})
    response = await mock.post("/beta/workflows", json=workflow(messenger(), sms()), headers={"Authorization": BASIC})
    assert response.status == 429 and response.headers["Retry-After"] == "3"
    assert (await (await mock.get("/_mock/workflows")).json())["workflows"] == []


@pytest.mark.parametrize("after", [0, 1, 3])
@pytest.mark.parametrize("times", [1, 2, 4])
async def test_after_then_times_is_a_stretch_of_failures(mock, after, times):
    await add(mock, {"status": 500, "after": after, "times": times})
    expected = [202] * after + [500] * times + [202] * 2
    assert await statuses(mock, "/beta/messages", sms(), len(expected)) == expected
    [fault] = await faults(mock)
    assert (fault["hits"], fault["seen"], fault["active"]) == (times, after + times, False)


async def test_the_account_header_scopes_a_fault_too(mock):
    response = await mock.post("/_mock/faults", json={"status": 503}, headers={"X-Mock-Account": "acme"})
    assert (await response.json())["account"] == "acme"
    listed = await mock.get("/_mock/faults", headers={"X-Mock-Account": "acme"})
    assert [f["account"] for f in (await listed.json())["faults"]] == ["acme"]
    assert (await mock.post("/_mock/faults", json={"status": 503}, params={"account": " x"})).status == 400
