"""The emulated endpoints: answers, routing quirks, and problem details for every kind of bad input."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest

from mockserver.api.openapi import component_name

from .support import BASIC, messenger, post, sms, viber, workflow

PROBLEM_KEYS = {"type", "title", "detail", "instance"}


def _is_uuid(value: str) -> bool:
    """A random UUID (version 4, RFC 4122 variant) in its canonical lower-case form."""
    parsed = uuid.UUID(value)
    return str(parsed) == value and parsed.version == 4 and parsed.variant == uuid.RFC_4122


async def test_docs_quickstart_sms_with_basic_auth_is_accepted(mock):
    status, answer = await post(mock, "/beta/messages", {
        "from": {"type": "sms", "number": "447700900001"}, "to": {"type": "sms", "number": "447700900000"},
        "message": {"content": {"type": "text", "text": "This is an SMS sent from the Messages API"}}})
    assert status == 202 and set(answer) == {"message_uuid"} and _is_uuid(answer["message_uuid"])


@pytest.mark.parametrize("path", ["/beta/messages", "/v0.1/messages"])
@pytest.mark.parametrize("body", [
    sms(),
    {**messenger(), "message": {"content": {"type": "image", "image": {"url": "https://example.com/cat.jpg"}},
                                "messenger": {"category": "message_tag", "tag": "ticket_update"}}},
    viber(),
    {**viber(), "message": {"content": {"type": "image", "image": {"url": "https://example.com/a.png"}},
                            "viber_service_msg": {"category": "promotion", "ttl": 600}}},
], ids=["sms", "messenger-image", "viber-text", "viber-image"])
async def test_messages_answer_202_with_a_message_uuid(mock, path, body):
    status, answer = await post(mock, path, body)
    assert status == 202 and _is_uuid(answer["message_uuid"])


WORKFLOW = workflow(messenger(), sms())


async def test_workflow_answers_workflow_uuid_and_dispatch_answers_dispatch_uuid(mock):
    status, answer = await post(mock, "/beta/workflows", WORKFLOW)
    assert status == 202 and set(answer) == {"workflow_uuid"}
    status, answer = await post(mock, "/v0.1/dispatch", WORKFLOW)
    assert status == 202 and set(answer) == {"dispatch_uuid"}


async def test_trailing_question_mark_routes_the_same(mock):
    response = await mock.post("/beta/messages?", json=sms(), headers={"Authorization": BASIC})
    assert response.status == 202
    response = await mock.post("/v0.1/dispatch?", json=WORKFLOW, headers={"Authorization": BASIC})
    assert response.status == 202
    assert response.content_type == "application/json"


async def test_accepted_message_is_stored_with_its_request(mock):
    body = {**sms(to="447700900555"), "client_ref": "order-17"}
    _, answer = await post(mock, "/beta/messages", body)
    listed = (await (await mock.get("/_mock/messages", params={"to": "447700900555"})).json())["messages"]
    assert [m["message_uuid"] for m in listed] == [answer["message_uuid"]]
    message = listed[0]
    assert message["channel"] == "sms" and message["to"] == body["to"] and message["from"] == body["from"]
    assert message["message"] == body["message"] and message["client_ref"] == "order-17"
    assert message["workflow_uuid"] is None and message["status"] == "accepted"
    assert [h["status"] for h in message["history"]] == ["accepted"]


async def test_message_list_filters_and_is_newest_first(mock):
    first = (await post(mock, "/beta/messages", sms()))[1]["message_uuid"]
    second = (await post(mock, "/beta/messages", messenger()))[1]["message_uuid"]
    third = (await post(mock, "/beta/messages", sms()))[1]["message_uuid"]
    everything = (await (await mock.get("/_mock/messages")).json())["messages"]
    assert [m["message_uuid"] for m in everything] == [third, second, first]
    only_sms = (await (await mock.get("/_mock/messages", params={"channel": "sms", "limit": "1"})).json())
    assert [m["message_uuid"] for m in only_sms["messages"]] == [third]
    none = (await (await mock.get("/_mock/messages", params={"status": "read"})).json())["messages"]
    assert none == []


async def test_unknown_message_is_a_404_problem(mock):
    response = await mock.get("/_mock/messages/nope")
    assert response.status == 404 and set(await response.json()) >= PROBLEM_KEYS


async def test_invalid_body_lists_every_offending_field(mock):
    body = {"to": {"type": "messenger", "id": "1"}, "from": {"type": "messenger", "id": "2"},
            "message": {"content": {"type": "text", "text": "x" * 641},
                        "messenger": {"category": "message_tag"}}}
    status, problem = await post(mock, "/beta/messages", body)
    assert status == 400
    assert set(problem) >= PROBLEM_KEYS
    assert problem["title"] == "Invalid Parameters"
    names = {p["name"] for p in problem["invalid_parameters"]}
    assert names == {"message.content.text", "message.messenger.tag"}
    reasons = {p["name"]: p["reason"] for p in problem["invalid_parameters"]}
    assert "640" in reasons["message.content.text"]


@pytest.mark.parametrize(("raw", "content_type", "status"), [
    (b"{not json", "application/json", 400),
    (b"", "application/json", 400),
    (b"   ", "application/json", 400),
    (b"to=1&from=2", "application/x-www-form-urlencoded", 415),
    (b"<xml/>", "text/xml", 415),
    (b"[]", "application/json", 400),
    (b"null", "application/json", 400),
    (b'"a string"', "application/json", 400),
    (b"123", "application/json", 400),
    (b'{"to": 1, "from": [], "message": "x"}', "application/json", 400),
    (b'{"to": {"type": 5}, "from": {"type": null}, "message": {"content": {"type": []}}}', "application/json", 400),
    (b"\xff\xfe\x00garbage", "application/json", 400),
    (b"[" * 100_000 + b"]" * 100_000, "application/json", 400),
    (b'{"a":' * 5000 + b"1" + b"}" * 5000, "application/json", 400),
])
async def test_garbage_bodies_get_problem_details_never_5xx(mock, raw, content_type, status):
    response = await mock.post("/beta/messages", data=raw,
                               headers={"Authorization": BASIC, "Content-Type": content_type})
    assert response.status == status
    assert response.content_type == "application/json"
    body = await response.json()
    assert set(body) >= PROBLEM_KEYS
    assert "Traceback" not in await response.text()


async def test_nested_large_string_within_limit_is_a_clean_400(mock):
    body = {**sms(), "message": {"content": {"type": "text", "text": "x" * 200_000}}}
    status, problem = await post(mock, "/beta/messages", body)
    assert status == 400
    assert [p["name"] for p in problem["invalid_parameters"]] == ["message.content.text"]


async def test_body_over_the_limit_is_413(make_mock):
    client = await make_mock(max_body_bytes=1024)
    body = {**sms(), "message": {"content": {"type": "text", "text": "x" * 2000}}}
    response = await client.post("/beta/messages", json=body, headers={"Authorization": BASIC})
    assert response.status == 413
    problem = await response.json()
    assert problem["title"] == "Payload Too Large" and "1024" in problem["detail"]


async def test_one_megabyte_body_is_413_by_default(mock):
    response = await mock.post("/beta/messages", data=b'{"x": "' + b"y" * 1_048_576 + b'"}',
                               headers={"Authorization": BASIC, "Content-Type": "application/json"})
    assert response.status == 413


async def test_wrong_method_is_405_with_allow(mock):
    response = await mock.get("/beta/messages")
    assert response.status == 405
    assert response.headers["Allow"] == "POST"
    assert set(await response.json()) >= PROBLEM_KEYS


@pytest.mark.parametrize(("method", "path", "status", "allow"), [
    ("DELETE", "/_mock/messages", 405, "GET,HEAD"), ("PATCH", "/_mock/rules/abc", 405, "DELETE"),
    ("GET", "/_mock/nothing", 404, None), ("OPTIONS", "/", 405, "GET,HEAD"),
    ("GET", "/static/nothing.js", 404, None), ("GET", "/static/%2e%2e/app.py", 404, None),
    ("POST", "/static/app.js", 405, "GET,HEAD")])
async def test_every_route_answers_errors_as_problems(mock, method, path, status, allow):
    response = await mock.request(method, path)
    assert response.status == status
    assert response.headers["Content-Type"].startswith("application/json")
    assert set(await response.json()) >= PROBLEM_KEYS
    assert response.headers.get("Allow", "").replace(" ", "") == (allow or "")


@pytest.mark.parametrize(("path", "content_types"), [("/static/app.js", ("text/javascript", "application/javascript")),
                                                     ("/static/samples/photo.svg", ("image/svg+xml",))])
async def test_the_page_assets_are_served(mock, path, content_types):
    response = await mock.get(path)
    assert response.status == 200 and response.headers["Content-Type"].startswith(content_types)
    assert len(await response.read()) > 100


async def test_every_accepted_request_gets_a_uuid_of_its_own(mock):
    uuids = [(await post(mock, "/beta/messages", sms()))[1]["message_uuid"] for _ in range(200)]
    assert len(set(uuids)) == 200 and all(map(_is_uuid, uuids))


async def test_a_body_that_cannot_be_decompressed_is_a_400_problem_and_no_logged_error(mock, caplog):
    response = await mock.post("/beta/messages", data=b"\x00 not gzip at all", headers={
        "Authorization": BASIC, "Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert response.status == 400
    problem = await response.json()
    assert problem["title"] == "Bad Request" and problem["detail"].startswith("The request body could not be read")
    await asyncio.sleep(0.05)  # (wall time) aiohttp finishes with the connection after the answer
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR] == []


async def test_unknown_path_is_404_problem(mock):
    response = await mock.post("/beta/nothing", json={}, headers={"Authorization": BASIC})
    assert response.status == 404
    assert set(await response.json()) >= PROBLEM_KEYS


async def test_openapi_document_is_served_and_built_from_the_schemas(mock, contract):
    response = await mock.get("/openapi.json")
    assert response.status == 200
    document = await response.json()
    assert document["openapi"].startswith("3.1")
    for path in ("/beta/messages", "/v0.1/messages", "/beta/workflows", "/v0.1/dispatch", "/_mock/messages",
                 "/_mock/clock/advance", "/_mock/rules", "/_mock/inbound", "/_mock/wait"):
        assert path in document["paths"], path
    components = document["components"]["schemas"]
    for name in contract.schema_documents():
        assert component_name(name) in components, name
    assert components["message"]["required"] == contract.schema_documents()["message"]["required"]
    refs = []

    def collect(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    refs.append(value)
                else:
                    collect(value)
        elif isinstance(node, list):
            for item in node:
                collect(item)

    collect(document)
    for ref in refs:  # every $ref resolves inside the document
        target = document
        for part in ref.removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        assert isinstance(target, dict), ref


async def test_health(mock):
    response = await mock.get("/_mock/health")
    assert response.status == 200
    assert (await response.json())["status"] == "ok"
