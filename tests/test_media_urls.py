"""Media URLs on every generation of the API, over HTTP: an http(s) URL in RFC 3986 syntax or a problem naming the
field (the one definition in schemas/common.json, `url-rules`, which the webhook URLs use too)."""

from __future__ import annotations

from typing import Any

import pytest

from .support import messenger, post, sms, viber

BAD_URLS = ["javascript:alert(1)", "ftp://x/y.jpg", "not a url", "https://exa mple.com/x.jpg",
            "data:image/png;base64,AA", "file:///etc/passwd", "https://bücher.example/x.jpg", "http://"]
GOOD_URLS = ["https://example.com/cat.jpg", "http://127.0.0.1:3000/media/cat.png?size=2#x",
             "https://xn--bcher-kva.example/x%20y.jpg"]
REASON = "must be an http or https URL"
V1_INVALID_PARAMS = "https://developer.nexmo.com/api-errors/messages-olympus#1150"
MESSAGE_PATHS = ("/beta/messages", "/v0.1/messages")
WORKFLOW_PATHS = ("/beta/workflows", "/v0.1/dispatch")


def media(kind: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    body = body or messenger()
    return {**body, "message": {**body["message"], "content": {"type": kind, kind: {"url": url}}}}


def failover(first: dict[str, Any], last: dict[str, Any]) -> dict[str, Any]:
    return {"template": "failover",
            "workflow": [{**first, "failover": {"expiry_time": 60, "condition_status": "delivered"}}, last]}


def v1_image(url: str) -> dict[str, Any]:
    return {"channel": "messenger", "message_type": "image", "to": "1234567890123456", "from": "9876543210",
            "image": {"url": url}}


def v1_sms() -> dict[str, Any]:
    return {"channel": "sms", "message_type": "text", "to": "447700900000", "from": "447700900001", "text": "Hi"}


async def refused(client, path: str, body: dict[str, Any], status: int = 400) -> list[dict[str, str]]:
    """The invalid_parameters of a refusal, after checking it is one and that nothing was sent."""
    answer_status, problem = await post(client, path, body)
    assert answer_status == status, problem
    assert (await (await client.get("/_mock/messages")).json())["messages"] == []
    return problem["invalid_parameters"]


@pytest.mark.parametrize("path", MESSAGE_PATHS)
@pytest.mark.parametrize("url", BAD_URLS)
async def test_a_messenger_image_url_that_is_not_http_is_refused_naming_it(mock, path, url):
    assert await refused(mock, path, media("image", url)) == [
        {"name": "message.content.image.url", "reason": REASON}]


@pytest.mark.parametrize("kind", ["audio", "video", "file"])
async def test_every_media_kind_is_checked(mock, kind):
    assert await refused(mock, "/v0.1/messages", media(kind, "javascript:alert(1)")) == [
        {"name": f"message.content.{kind}.url", "reason": REASON}]


async def test_a_viber_image_url_is_checked(mock):
    assert await refused(mock, "/beta/messages", media("image", "ftp://x/y.jpg", viber())) == [
        {"name": "message.content.image.url", "reason": REASON}]


@pytest.mark.parametrize("path", WORKFLOW_PATHS)
async def test_a_workflow_item_url_is_checked_in_any_position(mock, path):
    first = await refused(mock, path, failover(media("image", "not a url"), sms()))
    assert first == [{"name": "workflow.0.message.content.image.url", "reason": REASON}]
    last = await refused(mock, path, failover(sms(), media("video", "javascript:alert(1)")))
    assert last == [{"name": "workflow.1.message.content.video.url", "reason": REASON}]


@pytest.mark.parametrize("url", BAD_URLS[:4])
async def test_a_v1_image_url_is_a_422_invalid_params_naming_it(mock, url):
    status, problem = await post(mock, "/v1/messages", v1_image(url))
    assert (status, problem["type"]) == (422, V1_INVALID_PARAMS)
    assert problem["invalid_parameters"] == [{"name": "image.url", "reason": REASON}]


async def test_a_v1_failover_message_url_and_a_viber_action_url_are_checked(mock):
    parameters = await refused(mock, "/v1/messages", {**v1_sms(), "failover": [v1_image("javascript:alert(1)")]},
                               status=422)
    assert parameters == [{"name": "failover.0.image.url", "reason": REASON}]
    viber_action = {"channel": "viber_service", "message_type": "text", "to": "447700900000", "from": "viber-id",
                    "text": "Hi", "viber_service": {"action": {"url": "javascript:alert(1)", "text": "Open"}}}
    parameters = await refused(mock, "/v1/messages", viber_action, status=422)
    assert parameters == [{"name": "viber_service.action.url", "reason": REASON}]


@pytest.mark.parametrize("url", GOOD_URLS)
async def test_http_urls_are_accepted_on_every_generation(mock, url):
    for path in MESSAGE_PATHS:
        assert (await post(mock, path, media("image", url)))[0] == 202, path
    for path in WORKFLOW_PATHS:
        assert (await post(mock, path, failover(media("file", url), sms())))[0] == 202, path
    status, answer = await post(mock, "/v1/messages", {**v1_image(url), "failover": [v1_image(url)]})
    assert status == 202, answer
    stored = (await (await mock.get("/_mock/messages")).json())["messages"]
    assert {message["message"]["content"].get("image", message["message"]["content"].get("file"))["url"]
            for message in stored} == {url}
