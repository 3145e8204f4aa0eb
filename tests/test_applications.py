"""The Applications API v2 through HTTP: its shapes and errors, its keys, and the webhooks of its messages."""

from __future__ import annotations

import base64
import time
import uuid

import jwt
import pytest

from .support import BASIC, advance, messenger, post, sms, workflow

V1_SMS = {"channel": "sms", "message_type": "text", "to": "447700900000", "from": "447700900001", "text": "hi"}


def basic(key: str, secret: str = "s3cr3t") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()}


def messages_app(receiver, name: str = "shop", version: str = "v1", prefix: str = "/shop") -> dict:
    return {"name": name, "capabilities": {"messages": {
        "webhooks": {"status_url": {"address": receiver.url(prefix + "/status"), "http_method": "POST"},
                     "inbound_url": {"address": receiver.url(prefix + "/inbound"), "http_method": "POST"}},
        "version": version, "authenticate_inbound_media": False}}}


def bearer(app: dict, **claims) -> dict[str, str]:
    body = {"application_id": app["id"], "iat": int(time.time()), "jti": str(uuid.uuid4()), **claims}
    return {"Authorization": "Bearer " + jwt.encode(body, app["keys"]["private_key"], algorithm="RS256")}


async def create(mock, body: dict, headers: dict[str, str] | None = None) -> dict:
    response = await mock.post("/v2/applications", json=body, headers=headers or {"Authorization": BASIC})
    assert response.status == 201, await response.text()
    return await response.json()


async def test_create_answers_the_application_with_a_generated_private_key_once(mock, receiver):
    app = await create(mock, messages_app(receiver))
    assert set(app) == {"id", "name", "capabilities", "privacy", "keys", "_links"}
    assert app["name"] == "shop" and app["capabilities"] == messages_app(receiver)["capabilities"]
    assert app["privacy"] == {"improve_ai": False}
    assert app["_links"] == {"self": {"href": f"/v2/applications/{app['id']}"}}
    assert app["keys"]["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert app["keys"]["public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    shown = await (await mock.get(f"/v2/applications/{app['id']}", headers={"Authorization": BASIC})).json()
    assert shown["keys"] == {"public_key": app["keys"]["public_key"]}  # a GET never shows the private key


async def test_a_given_public_key_is_kept_and_no_private_key_is_made(mock, receiver):
    first = await create(mock, {"name": "one"})
    second = await create(mock, {"name": "two", "keys": {"public_key": first["keys"]["public_key"]}})
    assert second["keys"] == {"public_key": first["keys"]["public_key"]}


async def test_list_pages_in_hal(mock):
    for index in range(5):
        await create(mock, {"name": f"app {index}", "keys": {"public_key": "-----BEGIN PUBLIC KEY-----\nx"}})
    response = await mock.get("/v2/applications", params={"page_size": 2, "page": 2},
                              headers={"Authorization": BASIC})
    page = await response.json()
    assert (page["page_size"], page["page"], page["total_items"], page["total_pages"]) == (2, 2, 5, 3)
    assert [app["name"] for app in page["_embedded"]["applications"]] == ["app 2", "app 3"]
    assert page["_links"] == {"self": {"href": "/v2/applications?page_size=2&page=2"},
                              "first": {"href": "/v2/applications?page_size=2&page=1"},
                              "last": {"href": "/v2/applications?page_size=2&page=3"},
                              "next": {"href": "/v2/applications?page_size=2&page=3"},
                              "prev": {"href": "/v2/applications?page_size=2&page=1"}}
    bad = await mock.get("/v2/applications", params={"page_size": 0}, headers={"Authorization": BASIC})
    problem = await bad.json()
    assert bad.status == 400 and problem["invalid_parameters"][0]["name"] == "page_size"


async def test_put_replaces_name_and_capabilities_and_delete_removes(mock, receiver):
    app = await create(mock, messages_app(receiver))
    path = f"/v2/applications/{app['id']}"
    response = await mock.put(path, json={"name": "renamed", "capabilities": {"voice": {"webhooks": {}}}},
                              headers={"Authorization": BASIC})
    replaced = await response.json()
    assert response.status == 200 and replaced["name"] == "renamed"
    assert replaced["capabilities"] == {"voice": {"webhooks": {}}}
    assert replaced["keys"]["public_key"] == app["keys"]["public_key"]
    assert (await mock.delete(path, headers={"Authorization": BASIC})).status == 204
    for method in ("GET", "PUT", "DELETE"):
        response = await mock.request(method, path, json={"name": "x"}, headers={"Authorization": BASIC})
        problem = await response.json()
        assert response.status == 404 and problem["title"] == "Not Found" and "instance" in problem


@pytest.mark.parametrize(("body", "field"), [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "x", "keys": {"public_key": "not a key"}}, "keys.public_key"),
    ({"name": "x", "capabilities": {"messages": {"version": "v2"}}}, "capabilities.messages.version"),
    ({"name": "x", "capabilities": {"messages": {"webhooks": {"status_url": {"address": "ftp://x"}}}}},
     "capabilities.messages.webhooks.status_url.address"),
    ({"name": "x", "capabilities": {"messages": {"webhooks": {"status_url": {"address": "http://x",
                                                                             "http_method": "GET"}}}}},
     "capabilities.messages.webhooks.status_url.http_method"),
])
async def test_invalid_bodies_get_400_naming_the_field(mock, body, field):
    response = await mock.post("/v2/applications", json=body, headers={"Authorization": BASIC})
    problem = await response.json()
    assert response.status == 400, problem
    assert field in [p["name"] for p in problem["invalid_parameters"]]


async def test_a_capability_named_like_a_number_is_worded_not_a_500(mock):
    body = {"name": "0", "capabilities": {"0": None, "messages": {"": False}}}
    response = await mock.post("/v2/applications", json=body, headers={"Authorization": BASIC})
    names = {p["name"] for p in (await response.json())["invalid_parameters"]}
    assert response.status == 400 and {"capabilities.0", "capabilities.messages."} <= names  # (the key "" of messages)


async def test_applications_need_credentials_and_belong_to_their_account(mock):
    response = await mock.post("/v2/applications", json={"name": "x"})
    assert response.status == 401 and (await response.json())["title"]
    mine = await create(mock, {"name": "mine"}, basic("team-a"))
    theirs = await mock.get("/v2/applications", headers=basic("team-b"))
    assert (await theirs.json())["total_items"] == 0
    assert (await mock.get(f"/v2/applications/{mine['id']}", headers=basic("team-b"))).status == 404
    empty = await (await mock.get("/v2/applications", headers=basic("team-b"))).json()
    assert empty["total_pages"] == 1 and "next" not in empty["_links"]


async def test_a_jwt_signed_send_reaches_its_applications_receiver_not_the_default(make_mock, receiver):
    mock = await make_mock(status_url=receiver.url("/default"))
    app = await create(mock, messages_app(receiver))
    response = await mock.post("/v1/messages", json=V1_SMS, headers=bearer(app))
    assert response.status == 202
    message_uuid = (await response.json())["message_uuid"]
    await advance(mock, 60)
    statuses = receiver.bodies("/shop/status")
    assert [body["status"] for body in statuses] == ["submitted", "delivered"]
    assert all(body["message_uuid"] == message_uuid and body["to"] == "447700900000" for body in statuses)
    assert receiver.bodies("/default") == []
    record = await (await mock.get(f"/_mock/messages/{message_uuid}")).json()
    assert record["application_id"] == app["id"] and record["account"] == "abcd1234"


async def test_signed_webhooks_of_an_applications_messages_carry_its_application_id(make_mock, receiver):
    secret = "a-signature-secret-of-32-bytes!!"
    mock = await make_mock(status_url=receiver.url("/default"), signature_secret=secret)
    app = await create(mock, messages_app(receiver, version="v1"))
    assert (await mock.post("/v1/messages", json=V1_SMS, headers=bearer(app))).status == 202
    inbound = {"application_id": app["id"], "content": {"type": "text", "text": "hello"}}
    assert (await mock.post("/_mock/inbound", json=inbound)).status == 202
    assert (await mock.post("/v1/messages", json=V1_SMS, headers={"Authorization": BASIC})).status == 202
    await advance(mock, 60)

    def claims(path: str) -> list[dict]:
        return [jwt.decode(r.headers["Authorization"].removeprefix("Bearer "), secret, algorithms=["HS256"])
                for r in receiver.received if r.path == path]

    assert {c.get("application_id") for c in claims("/shop/status") + claims("/shop/inbound")} == {app["id"]}
    assert len(claims("/shop/inbound")) == 1
    assert [c for c in claims("/default") if "application_id" in c] == []  # a Basic send has no application
    assert {c["api_key"] for c in claims("/shop/status") + claims("/default")} == {"abcd1234"}


async def test_a_jwt_signed_workflows_report_reaches_its_applications_receiver(make_mock, receiver):
    mock = await make_mock(status_url=receiver.url("/default"))
    app = await create(mock, messages_app(receiver, version="v0.1"))
    response = await mock.post("/beta/workflows", json=workflow(messenger(), sms()), headers=bearer(app))
    assert response.status == 202
    await advance(mock, 1200)
    reports = [body for body in receiver.bodies("/shop/status") if "template" in body]
    assert [r["workflow_uuid"] for r in reports] == [(await response.json())["workflow_uuid"]]
    assert receiver.bodies("/default") == []


async def test_messages_version_shapes_the_webhooks_on_every_path(make_mock, receiver):
    mock = await make_mock()
    v1_app = await create(mock, messages_app(receiver, "v1 app", "v1", "/v1app"))
    beta_app = await create(mock, messages_app(receiver, "v0.1 app", "v0.1", "/betaapp"))
    assert (await mock.post("/beta/messages", json=sms(), headers=bearer(v1_app))).status == 202
    assert (await mock.post("/v1/messages", json=V1_SMS, headers=bearer(beta_app))).status == 202
    await advance(mock, 60)
    flat = receiver.bodies("/v1app/status")[0]
    nested = receiver.bodies("/betaapp/status")[0]
    assert flat["to"] == "447700900000" and flat["channel"] == "sms"  # v1: flat, with a channel
    assert nested["to"] == {"type": "sms", "number": "447700900000"}  # v0.1: typed address objects


async def test_inbound_addressed_to_an_application_reaches_its_inbound_url(make_mock, receiver, contract):
    mock = await make_mock(inbound_url=receiver.url("/default-inbound"))
    app = await create(mock, messages_app(receiver, version="v1"))
    response = await mock.post("/_mock/inbound", json={"application_id": app["id"],
                                                       "content": {"type": "text", "text": "hello"}})
    assert response.status == 202 and (await response.json())["account"] == "abcd1234"
    await advance(mock, 1)
    [inbound] = receiver.bodies("/shop/inbound")
    assert inbound["text"] == "hello" and inbound["channel"] == "messenger"  # its messages.version: v1's shape
    assert contract.problems("v1/inbound-webhook", inbound) == []
    assert receiver.bodies("/default-inbound") == []
    unknown = await mock.post("/_mock/inbound", json={"application_id": "no-such-app"})
    assert unknown.status == 404


async def test_strict_auth_verifies_a_jwt_with_its_applications_generated_key(make_mock):
    mock = await make_mock(auth="strict", api_key="acme", api_secret="s3cr3t")
    app = await create(mock, {"name": "strict"}, basic("acme"))
    assert (await mock.post("/v1/messages", json=V1_SMS, headers=bearer(app))).status == 202
    other = await create(mock, {"name": "other"}, basic("acme"))
    forged = bearer({"id": app["id"], "keys": other["keys"]})  # signed by another application's key
    assert (await mock.post("/v1/messages", json=V1_SMS, headers=forged)).status == 401
    unknown = bearer({"id": "4f1b0a52-0000-4000-8000-000000000000", "keys": app["keys"]})
    response = await mock.post("/v1/messages", json=V1_SMS, headers=unknown)
    assert response.status == 401 and "unknown application" in (await response.json())["detail"]
    assert (await mock.post("/v2/applications", json={"name": "x"}, headers=basic("acme", "wrong"))).status == 401
    [message] = (await (await mock.get("/_mock/messages")).json())["messages"]
    assert message["account"] == "acme" and message["application_id"] == app["id"]


async def test_lenient_jwt_of_an_unknown_application_lands_in_the_default_account(mock):
    token = jwt.encode({"application_id": "app-nobody-made", "iat": int(time.time()), "jti": "j"},
                       "k" * 32, algorithm="HS256")
    status, _ = await post(mock, "/v1/messages", V1_SMS, {"Authorization": "Bearer " + token})
    assert status == 202
    [message] = (await (await mock.get("/_mock/messages")).json())["messages"]
    assert message["account"] == "default" and message["application_id"] == "app-nobody-made"


async def test_webhook_url_in_a_v1_request_is_honoured_ahead_of_the_application(make_mock, receiver):
    mock = await make_mock(status_url=receiver.url("/default"))
    app = await create(mock, messages_app(receiver))
    body = {**V1_SMS, "webhook_url": receiver.url("/own"), "webhook_version": "v0.1"}
    assert (await mock.post("/v1/messages", json=body, headers=bearer(app))).status == 202
    await advance(mock, 60)
    own = receiver.bodies("/own")
    assert [b["status"] for b in own] == ["submitted", "delivered"]
    assert own[0]["to"] == {"type": "sms", "number": "447700900000"}  # webhook_version v0.1
    assert receiver.bodies("/shop/status") == [] and receiver.bodies("/default") == []


async def test_webhook_url_outside_the_allowed_hosts_gets_422_naming_it(make_mock, receiver):
    mock = await make_mock(webhook_allow_hosts="hooks.example.com")
    body = {**V1_SMS, "webhook_url": receiver.url("/own")}
    response = await mock.post("/v1/messages", json=body, headers={"Authorization": BASIC})
    problem = await response.json()
    assert response.status == 422 and [p["name"] for p in problem["invalid_parameters"]] == ["webhook_url"]
    assert (await (await mock.get("/_mock/messages")).json())["messages"] == []


async def test_off_loopback_only_the_configured_webhook_hosts_are_allowed(make_mock, receiver):
    mock = await make_mock(host="0.0.0.0", status_url=receiver.url("/default"))
    allowed = {**V1_SMS, "webhook_url": receiver.url("/own")}  # the receiver's host is the status URL's
    refused = {**V1_SMS, "webhook_url": "http://elsewhere.example.com/hook"}
    assert (await mock.post("/v1/messages", json=allowed, headers={"Authorization": BASIC})).status == 202
    assert (await mock.post("/v1/messages", json=refused, headers={"Authorization": BASIC})).status == 422


@pytest.mark.parametrize("source", ["flag", "env"])
def test_a_bad_webhook_allow_hosts_gets_one_line_naming_it(source):
    from mockserver.config import ConfigError, load_settings

    flags, env = ({"webhook_allow_hosts": "a.com, b.com"}, {}) if source == "flag" else \
        ({}, {"MOCK_WEBHOOK_ALLOW_HOSTS": "a.com, b.com"})
    with pytest.raises(ConfigError) as refused:
        load_settings(flags, env)
    assert str(refused.value).startswith("webhook_allow_hosts: ") and "\n" not in str(refused.value)
    assert load_settings({"webhook_allow_hosts": "a.com,*"}, {}).webhook_allow_hosts == "a.com,*"


async def test_the_premade_application_of_the_flags_is_listed_and_verifies_its_jwts(make_mock, tmp_path):
    from mockserver.applications import generate_key_pair

    private_key, public_key = generate_key_pair()
    (tmp_path / "public.pem").write_text(public_key)
    app_id = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
    mock = await make_mock(auth="strict", api_key="acme", api_secret="s3cr3t", application_id=app_id,
                           public_key=str(tmp_path / "public.pem"))
    page = await (await mock.get("/v2/applications", headers=basic("acme"))).json()
    assert [(a["id"], a["keys"]["public_key"]) for a in page["_embedded"]["applications"]] == [(app_id, public_key)]
    token = bearer({"id": app_id, "keys": {"private_key": private_key}})
    assert (await mock.post("/v1/messages", json=V1_SMS, headers=token)).status == 202
    assert (await mock.post("/_mock/reset")).status == 204  # reset keeps applications, like config
    assert (await (await mock.get("/v2/applications", headers=basic("acme"))).json())["total_items"] == 1
    assert (await (await mock.get("/_mock/messages")).json())["messages"] == []
