"""Accounts isolate state: each api_key has its own records, clock, config and webhooks; the control API addresses
one account (`account=`, X-Mock-Account) or the whole mock."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid

import jwt

from .support import advance, sms

V1_SMS = {"channel": "sms", "message_type": "text", "to": "447700900000", "from": "447700900001", "text": "hi"}


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:s3cr3t".encode()).decode()}


async def send(mock, key: str, to: str = "447700900000") -> str:
    response = await mock.post("/beta/messages", json=sms(to=to), headers=basic(key))
    assert response.status == 202, await response.text()
    return (await response.json())["message_uuid"]


async def read(mock, path: str, **params) -> dict:
    response = await mock.get(path, params=params)
    assert response.status == 200, await response.text()
    return await response.json()


async def test_eight_accounts_in_parallel_see_only_their_own_records_clocks_and_webhooks(mock, receiver):
    async def one(index: int) -> None:
        key = f"team-{index}"
        scoped = {"account": key}
        await mock.put("/_mock/config", json={"status_url": receiver.url(f"/{key}")}, params=scoped)
        sent = [await send(mock, key, to=f"44770090{index:04d}") for _ in range(3)]
        moved = await mock.post("/_mock/clock/advance", json={"seconds": 10 + index}, params=scoped)
        assert moved.status == 200
        waited = await mock.get("/_mock/wait", params={**scoped, "message_uuid": sent[-1], "status": "delivered"})
        assert waited.status == 200 and (await waited.json())["account"] == key
        messages = (await read(mock, "/_mock/messages", **scoped))["messages"]
        assert sorted(m["message_uuid"] for m in messages) == sorted(sent)
        assert {m["account"] for m in messages} == {key}
        deliveries = (await read(mock, "/_mock/webhooks", **scoped))["deliveries"]
        assert {d["url"] for d in deliveries} == {receiver.url(f"/{key}")}
        assert {d["subject_uuid"] for d in deliveries} == set(sent)

    start = (await read(mock, "/_mock/clock"))["now"]
    await asyncio.gather(*(one(index) for index in range(8)))
    accounts = {a["account"]: a for a in (await read(mock, "/_mock/accounts"))["accounts"]}
    for index in range(8):
        account = accounts[f"team-{index}"]
        assert account["messages"] == 3 and account["workflows"] == 0 and account["applications"] == []
        elapsed = time.mktime(time.strptime(account["clock"]["now"][:19], "%Y-%m-%dT%H:%M:%S")) - \
            time.mktime(time.strptime(start[:19], "%Y-%m-%dT%H:%M:%S"))
        assert elapsed == 10 + index  # each manual clock moved by its own advance only
        statuses = receiver.bodies(f"/team-{index}")
        assert len(statuses) == 6 and {body["to"]["number"] for body in statuses} == {f"44770090{index:04d}"}
    assert accounts["default"]["messages"] == 0


async def test_the_whole_mock_lists_every_account_newest_first_and_resets_all(mock):
    first = await send(mock, "alpha")
    await advance(mock, 1)  # records are ordered by their account's clock: these ones tick together
    second = await send(mock, "beta")
    await advance(mock, 1)
    third = await send(mock, "alpha")
    messages = (await read(mock, "/_mock/messages"))["messages"]
    assert [(m["message_uuid"], m["account"]) for m in messages] == [(third, "alpha"), (second, "beta"),
                                                                      (first, "alpha")]
    only_beta = await mock.get("/_mock/messages", headers={"X-Mock-Account": "beta"})
    assert [m["message_uuid"] for m in (await only_beta.json())["messages"]] == [second]
    assert (await mock.get(f"/_mock/messages/{second}", params={"account": "alpha"})).status == 404
    assert (await read(mock, f"/_mock/messages/{second}"))["account"] == "beta"
    assert (await mock.post("/_mock/reset", params={"account": "alpha"})).status == 204
    assert [m["account"] for m in (await read(mock, "/_mock/messages"))["messages"]] == ["beta"]
    assert (await mock.post("/_mock/reset")).status == 204
    assert (await read(mock, "/_mock/messages"))["messages"] == []


async def test_a_whole_mock_advance_moves_every_clock_and_an_account_advance_only_its_own(mock):
    await send(mock, "alpha")
    await send(mock, "beta")
    await mock.post("/_mock/clock/advance", json={"seconds": 30}, params={"account": "alpha"})
    alpha = (await read(mock, "/_mock/clock", account="alpha"))["now"]
    beta = (await read(mock, "/_mock/clock", account="beta"))["now"]
    assert alpha > beta
    await advance(mock, 60)
    assert (await read(mock, "/_mock/clock", account="beta"))["now"] > alpha
    statuses = {m["account"]: m["status"] for m in (await read(mock, "/_mock/messages"))["messages"]}
    assert statuses == {"alpha": "delivered", "beta": "delivered"}


async def test_whole_mock_config_is_the_default_that_accounts_without_their_own_value_inherit(mock, receiver):
    await mock.put("/_mock/config", json={"status_url": receiver.url("/own")}, params={"account": "own"})
    await send(mock, "inheritor")  # exists before the default is set
    response = await mock.put("/_mock/config", json={"status_url": receiver.url("/all"), "time_scale": 2})
    assert response.status == 200
    assert (await read(mock, "/_mock/config", account="inheritor"))["status_url"] == receiver.url("/all")
    assert (await read(mock, "/_mock/config", account="newcomer"))["status_url"] == receiver.url("/all")
    assert (await read(mock, "/_mock/config", account="own"))["status_url"] == receiver.url("/own")
    assert (await read(mock, "/_mock/config", account="own"))["time_scale"] == 2


async def test_whole_mock_rules_apply_to_every_account_and_account_rules_to_one(mock):
    rule = {"id": "reject-9", "match": {"to": "447700900009"}, "outcome": "rejected", "error_code": 1020}
    assert (await mock.post("/_mock/rules", json=rule)).status == 201
    own = {"id": "reject-8", "match": {"to": "447700900008"}, "outcome": "rejected", "error_code": 1020}
    added = await mock.post("/_mock/rules", json=own, params={"account": "alpha"})
    assert added.status == 201 and (await added.json())["account"] == "alpha"
    listed = (await read(mock, "/_mock/rules", account="alpha"))["rules"]
    assert {r["account"] for r in listed} == {"alpha"} and {"reject-8", "reject-9"} <= {r["id"] for r in listed}
    assert {r["account"] for r in (await read(mock, "/_mock/rules"))["rules"]} == {"default"}  # the whole mock's
    await send(mock, "alpha", to="447700900009")
    await send(mock, "beta", to="447700900009")
    await send(mock, "beta", to="447700900008")
    await advance(mock, 60)
    found = {(m["account"], m["to"]["number"]): m["status"] for m in (await read(mock, "/_mock/messages"))["messages"]}
    assert found == {("alpha", "447700900009"): "rejected", ("beta", "447700900009"): "rejected",
                     ("beta", "447700900008"): "delivered"}


async def test_the_event_stream_of_one_account_carries_only_its_events(mock):
    async with mock.get("/_mock/events", params={"account": "alpha"}) as stream:
        assert (await stream.content.readuntil(b"\n\n")).startswith(b"retry:")
        await send(mock, "beta")
        mine = await send(mock, "alpha")
        event = await asyncio.wait_for(stream.content.readuntil(b"\n\n"), 5)
    lines = dict(line.split(": ", 1) for line in event.decode().strip().splitlines())
    data = json.loads(lines["data"])
    assert lines["event"] == "message.accepted" and data["message"]["message_uuid"] == mine
    assert data["account"] == "alpha"


async def test_an_invalid_account_name_is_a_400_problem(mock):
    response = await mock.get("/_mock/messages", params={"account": " padded "})
    assert response.status == 400 and (await response.json())["invalid_parameters"][0]["name"] == "account"


async def test_the_state_file_keeps_two_accounts_and_their_applications_with_private_keys(make_mock, tmp_path):
    state = str(tmp_path / "mock.db")
    mock = await make_mock(state_file=state, auth="strict", api_key="acme", api_secret="s3cr3t")
    created = await mock.post("/v2/applications", json={"name": "kept"}, headers=basic("acme"))
    app = await created.json()
    token = jwt.encode({"application_id": app["id"], "iat": int(time.time()), "jti": str(uuid.uuid4())},
                       app["keys"]["private_key"], algorithm="RS256")
    sent = await mock.post("/v1/messages", json=V1_SMS, headers={"Authorization": "Bearer " + token})
    assert sent.status == 202
    await mock.post("/_mock/clock/advance", json={"seconds": 45}, params={"account": "acme"})
    await mock.put("/_mock/config", json={"demo_mode": True}, params={"account": "other"})
    await mock.close()

    mock = await make_mock(state_file=state, auth="strict", api_key="acme", api_secret="s3cr3t")
    accounts = {a["account"]: a for a in (await read(mock, "/_mock/accounts"))["accounts"]}
    assert accounts["acme"]["messages"] == 1 and [a["id"] for a in accounts["acme"]["applications"]] == [app["id"]]
    assert (await read(mock, "/_mock/config", account="other"))["demo_mode"] is True
    assert (await read(mock, "/_mock/config", account="acme"))["demo_mode"] is False
    assert accounts["acme"]["clock"]["now"] > accounts["default"]["clock"]["now"]
    again = jwt.encode({"application_id": app["id"], "iat": int(time.time()), "jti": str(uuid.uuid4())},
                       app["keys"]["private_key"], algorithm="RS256")
    assert (await mock.post("/v1/messages", json=V1_SMS, headers={"Authorization": "Bearer " + again})).status == 202
    accounts = mock.app  # the private key itself is kept too: the record the state file restored holds it
    from mockserver.api.keys import ACCOUNTS
    assert accounts[ACCOUNTS].application(app["id"]).private_key == app["keys"]["private_key"]


async def test_signed_webhooks_name_their_account_in_the_api_key_claim(mock, receiver):
    scoped, secret = {"account": "signer"}, "a-signature-secret-of-32-bytes!!"
    await mock.put("/_mock/config", json={"status_url": receiver.url("/signed"), "signature_secret": secret},
                   params=scoped)
    await send(mock, "signer")
    await mock.post("/_mock/clock/advance", json={"seconds": 60}, params=scoped)
    [first, *_] = [r for r in receiver.received if r.path == "/signed"]
    claims = jwt.decode(first.headers["Authorization"].removeprefix("Bearer "), secret, algorithms=["HS256"])
    assert claims["api_key"] == "signer"


async def test_waiting_for_an_empty_or_unknown_uuid_is_a_404_in_every_account(mock):
    for query in ({"workflow_uuid": ""}, {"message_uuid": "nobody"}, {"workflow_uuid": "nobody", "account": "x"}):
        response = await mock.get("/_mock/wait", params={**query, "timeout": "0.1"})
        assert response.status == 404, query
