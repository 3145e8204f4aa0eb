"""Property tests of the request contract: what the schemas allow is accepted, one step out of them is refused.

Strategies are written per channel from the reference's rules (hypothesis-jsonschema cannot read these Draft
2020-12 schemas), with lengths and ranges drawn at their boundaries. Volume goes through `Contract`; a sample
goes through the HTTP interface of a running mock.
"""

from __future__ import annotations

import json
import string
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver.contract import Contract

from .support import running_mock

CONTRACT = Contract()
VOLUME = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
SAMPLE = settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

TEXT_LIMITS = {"sms": 1000, "messenger": 640, "viber_service_msg": 1000}
CONTENT_TYPES = {"sms": ["text"], "messenger": ["text", "image", "audio", "video", "file"],
                 "viber_service_msg": ["text", "image"]}
V1_TEXT_LIMITS = {"sms": 3200, "messenger": 640, "viber_service": 1000}
V1_TYPES = {"sms": ["text"], "messenger": ["text", "image", "audio", "video", "file"],
            "viber_service": ["text", "image"]}
Body = dict[str, Any]
Mutant = tuple[Body, str]  # an invalid body and the dotted name of the field a problem must name


# -- strategies of valid bodies ---------------------------------------------------------------------------
def sized_text(low: int, high: int) -> st.SearchStrategy[str]:
    """Any text, with the boundary lengths (low and high) drawn often."""
    boundary = st.sampled_from(sorted({low, high})).flatmap(
        lambda size: st.characters(exclude_categories=["Cs"]).map(lambda char: char * size))
    return boundary | st.text(min_size=low, max_size=min(high, 60))


def bounded(low: int, high: int) -> st.SearchStrategy[int]:
    return st.sampled_from([low, high]) | st.integers(low, high)


def optional(body: Body, key: str, strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Body]:
    return st.one_of(st.just(body), strategy.map(lambda value: {**body, key: value}))


@st.composite
def messenger_block(draw: st.DrawFn) -> Body:
    category = draw(st.sampled_from([None, "response", "update", "message_tag"]))
    block = {} if category is None else {"category": category}
    if category == "message_tag" or draw(st.booleans()):
        block["tag"] = draw(sized_text(1, 30))
    return block


@st.composite
def viber_block(draw: st.DrawFn) -> Body:
    block = {}
    if draw(st.booleans()):
        block["category"] = draw(st.sampled_from(["transaction", "promotion"]))
    if draw(st.booleans()):
        block["ttl"] = draw(bounded(30, 86400))
    return block


LONGEST_URL = "https://example.com/" + "a" * 1980  # 2000 characters
HOST_CHARS = string.ascii_letters + string.digits + "-._~"
PATH_CHARS = HOST_CHARS + "!$&'()*+,;=:@/"  # percent-encoding: in the query


@st.composite
def http_urls(draw: st.DrawFn) -> str:
    """An http(s) URL as the shared definition admits it (tests/test_fuzz.py checks the pattern itself)."""
    host = draw(st.text(HOST_CHARS, min_size=1, max_size=20))
    port = draw(st.sampled_from(["", ":8080", ":1"]))
    query = draw(st.sampled_from(["", "?a=1&b=%20", "#top"]))
    return f"{draw(st.sampled_from(['http', 'https']))}://{host}{port}/{draw(st.text(PATH_CHARS, max_size=40))}{query}"


def media() -> st.SearchStrategy[Body]:
    return (http_urls() | st.just(LONGEST_URL)).map(lambda url: {"url": url})


@st.composite
def recipient_numbers(draw: st.DrawFn) -> str:
    """E.164 digits, at most 15, the first not 0; a leading + or 00 is tolerated."""
    first = draw(st.sampled_from("123456789"))
    return draw(st.sampled_from(["", "+", "00"])) + first + draw(st.text("0123456789", max_size=14))


@st.composite
def addresses(draw: st.DrawFn, channel: str) -> tuple[Body, Body]:
    ident = sized_text(1, 50)  # also an SMS sender: a number or an alphanumeric sender ID
    if channel == "sms":
        return {"type": "sms", "number": draw(recipient_numbers())}, {"type": "sms", "number": draw(ident)}
    if channel == "messenger":
        return {"type": "messenger", "id": draw(ident)}, {"type": "messenger", "id": draw(ident)}
    if draw(st.booleans()):  # Viber: number documented, id tolerated
        return {"type": channel, "number": draw(recipient_numbers())}, {"type": channel, "id": draw(ident)}
    return {"type": channel, "id": draw(ident)}, {"type": channel, "id": draw(ident)}


@st.composite
def messages(draw: st.DrawFn, channel: str | None = None) -> Body:
    """A valid beta/v0.1 message body: addresses, content and option blocks as the channel takes them."""
    channel = channel or draw(st.sampled_from(list(TEXT_LIMITS)))
    to, sender = draw(addresses(channel))
    kind = draw(st.sampled_from(CONTENT_TYPES[channel]))
    content = {"type": kind, kind: draw(sized_text(1, TEXT_LIMITS[channel]) if kind == "text" else media())}
    message: Body = {"content": content}
    if draw(st.booleans()):
        message["messenger"] = draw(messenger_block())
    if draw(st.booleans()):
        message["viber_service_msg"] = draw(viber_block())
    return draw(optional({"to": to, "from": sender, "message": message}, "client_ref", sized_text(1, 40)))


@st.composite
def workflows(draw: st.DrawFn) -> Body:
    """2-4 messages; every one but the last fails over, SMS only on delivered."""
    items = draw(st.lists(messages(), min_size=2, max_size=4))
    for item in items[:-1]:
        sms = item["to"]["type"] == "sms"
        condition = "delivered" if sms else draw(st.sampled_from(["delivered", "read"]))
        item["failover"] = {"expiry_time": draw(bounded(15, 86400)), "condition_status": condition}
    return {"template": "failover", "workflow": items}


@st.composite
def v1_messages(draw: st.DrawFn, failover: bool = True) -> Body:
    """A valid flat v1 body, optionally with failover messages."""
    channel = draw(st.sampled_from(list(V1_TEXT_LIMITS)))
    e164 = st.from_regex(r"[1-9][0-9]{6,14}", fullmatch=True)
    kind = draw(st.sampled_from(V1_TYPES[channel]))
    body: Body = {"channel": channel, "message_type": kind, "from": draw(sized_text(1, 50)),
                  "to": draw(e164 if channel != "messenger" else sized_text(1, 50))}
    body[kind] = draw(sized_text(1, V1_TEXT_LIMITS[channel]) if kind == "text" else media())
    if channel == "viber_service" and kind == "image" and draw(st.booleans()):
        body["image"]["caption"] = draw(sized_text(1, 1000))
    if channel == "sms" and draw(st.booleans()):
        body["ttl"] = draw(bounded(20, 604800))
    if channel == "messenger" and draw(st.booleans()):
        body["messenger"] = draw(messenger_block())
    if channel == "viber_service" and draw(st.booleans()):
        body["viber_service"] = {"category": draw(st.sampled_from(["transaction", "promotion"])),
                                 "ttl": draw(bounded(30, 259200))}
    body = draw(optional(body, "client_ref", sized_text(1, 100)))
    if failover and draw(st.booleans()):
        body["failover"] = draw(st.lists(v1_messages(failover=False), min_size=1, max_size=2))
    return body


# -- mutations: one step out of the contract, and the field that step touched ---------------------------
def set_at(path: str, value: Any, name: str | None = None) -> Callable[[Body], Mutant]:
    """Set the field at a dotted path; the problem must name `name` (default: the path)."""
    def mutate(body: Body) -> Mutant:
        *parents, leaf = path.split(".")
        node = body
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
        return body, name or path
    return mutate


def drop(path: str) -> Callable[[Body], Mutant]:
    def mutate(body: Body) -> Mutant:
        *parents, leaf = path.split(".")
        node = body
        for key in parents:
            node = node[key]
        del node[leaf]
        return body, path
    return mutate


def _message_mutations(body: Body, channel: str) -> list[Callable[[Body], Mutant]]:
    """Each changes a valid message in one way the contract forbids; they mutate the body they are given."""
    content_type = body["message"]["content"]["type"]
    other_channel = next(name for name in TEXT_LIMITS if name != channel)
    mutations = [drop("to"), drop("from"), drop("message"), drop("message.content.type"),
                 drop(f"message.content.{content_type}"), set_at("bogus", 1), set_at("to.bogus", 1),
                 set_at("message.content.bogus", 1), set_at("to", 447700900000), set_at("client_ref", "x" * 41),
                 set_at("client_ref", ""), set_at("from.type", other_channel),
                 set_at("message.messenger", {"category": "message_tag"}, "message.messenger.tag"),
                 set_at("message.viber_service_msg.ttl", 29), set_at("message.viber_service_msg.ttl", 86401)]
    if content_type == "text":
        mutations += [set_at("message.content.text", "x" * (TEXT_LIMITS[channel] + 1)),
                      set_at("message.content.text", "")]
    if channel == "sms":
        mutations.append(set_at("message.content.type", "image"))
    if "number" in body["to"]:
        mutations += [set_at("to.number", "hello"), set_at("to.number", "07700900000")]
    if content_type != "text":
        mutations += [set_at(f"message.content.{content_type}.url", "javascript:alert(1)"),
                      set_at(f"message.content.{content_type}.url", "https://exa mple.com/x.jpg")]
    return mutations


@st.composite
def message_mutants(draw: st.DrawFn) -> Mutant:
    body = draw(messages())
    mutation = draw(st.sampled_from(_message_mutations(body, body["to"]["type"])))
    return mutation(json.loads(json.dumps(body)))


@st.composite
def workflow_mutants(draw: st.DrawFn) -> Mutant:
    body = draw(workflows())
    items = body["workflow"]
    last = len(items) - 1
    index = draw(st.integers(0, last - 1))
    choice = draw(st.sampled_from(["drop failover", "failover on last", "expiry", "one item", "template", "item"]))
    if choice == "drop failover":
        del items[index]["failover"]
        return body, f"workflow.{index}.failover"
    if choice == "failover on last":
        items[last]["failover"] = {"expiry_time": 600, "condition_status": "delivered"}
        return body, f"workflow.{last}.failover"
    if choice == "expiry":
        items[index]["failover"]["expiry_time"] = draw(st.sampled_from([14, 86401]))
        return body, f"workflow.{index}.failover.expiry_time"
    if choice == "one item":
        body["workflow"] = items[-1:]
        return body, "workflow"
    if choice == "template":
        body["template"] = draw(st.text().filter(lambda text: text != "failover"))
        return body, "template"
    mutation = draw(st.sampled_from(_message_mutations(items[index], items[index]["to"]["type"])))
    _, name = mutation(items[index])
    return body, f"workflow.{index}.{name}"


@st.composite
def v1_mutants(draw: st.DrawFn) -> Mutant:
    body = draw(v1_messages(failover=False))
    channel, kind = body["channel"], body["message_type"]
    choice = draw(st.sampled_from(["channel", "to", "type", "text", "unknown", "sms only", "nested failover",
                                   "missing", "url"]))
    if choice == "channel":
        body["channel"] = draw(st.sampled_from(["telegram", "WhatsApp", "SMS", ""]))
        return body, "channel"
    if choice == "to" and channel != "messenger":
        body["to"] = draw(st.sampled_from(["+447700900000", "0447700900000", "123456", "1234567890123456"]))
        return body, "to"
    if choice == "type" and channel == "sms":
        body["message_type"] = "image"
        return body, "message_type"
    if choice == "url" and kind != "text":
        body[kind]["url"] = draw(st.sampled_from(["javascript:alert(1)", "ftp://x/y.jpg", "not a url"]))
        return body, f"{kind}.url"
    if choice == "text" and kind == "text":
        body["text"] = "x" * (V1_TEXT_LIMITS[channel] + 1)
        return body, "text"
    if choice == "sms only" and channel != "sms":
        body["ttl"] = 600
        return body, "ttl"
    if choice == "nested failover":
        return {**body, "failover": [{**body, "failover": [body]}]}, "failover.0.failover"
    if choice == "missing":
        key = draw(st.sampled_from(["channel", "message_type", "to", "from"]))
        del body[key]
        return body, key
    body["colour"] = "red"
    return body, "colour"


# -- through Contract, in volume --------------------------------------------------------------------------
def names(schema: str, body: Body) -> list[str]:
    return [problem.name for problem in CONTRACT.problems(schema, body)]


@VOLUME
@given(messages())
def test_every_generated_message_is_accepted(body: Body) -> None:
    assert CONTRACT.is_valid("message", body) and names("message", body) == []


@VOLUME
@given(message_mutants())
def test_every_mutated_message_is_refused_naming_the_field(mutant: Mutant) -> None:
    body, field = mutant
    assert not CONTRACT.is_valid("message", body)
    assert field in names("message", body)


@VOLUME
@given(workflows())
def test_every_generated_workflow_is_accepted(body: Body) -> None:
    assert CONTRACT.is_valid("workflow", body) and names("workflow", body) == []


@VOLUME
@given(workflow_mutants())
def test_every_mutated_workflow_is_refused_naming_the_field(mutant: Mutant) -> None:
    body, field = mutant
    assert not CONTRACT.is_valid("workflow", body)
    assert field in names("workflow", body)


@VOLUME
@given(v1_messages())
def test_every_generated_v1_message_is_accepted(body: Body) -> None:
    assert CONTRACT.is_valid("v1/message", body) and names("v1/message", body) == []


@VOLUME
@given(v1_mutants())
def test_every_mutated_v1_message_is_refused_naming_the_field(mutant: Mutant) -> None:
    body, field = mutant
    assert not CONTRACT.is_valid("v1/message", body)
    assert field in names("v1/message", body)


# -- through HTTP, a sample -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with running_mock("--clock", "manual", "--auth", "off", "--log-level", "error") as mock:
        yield mock.base_url


def send(base_url: str, path: str, body: Body) -> tuple[int, Body]:
    request = urllib.request.Request(base_url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def assert_refused(status: int, answer: Body, expected_status: int, field: str) -> None:
    assert status == expected_status, answer
    assert {"type", "title", "detail", "instance"} <= set(answer)
    assert field in [problem["name"] for problem in answer["invalid_parameters"]]


@SAMPLE
@given(messages(), st.sampled_from(["/beta/messages", "/v0.1/messages"]))
def test_generated_messages_get_202_over_http(base_url: str, body: Body, path: str) -> None:
    status, answer = send(base_url, path, body)
    assert status == 202 and set(answer) == {"message_uuid"}, answer


@SAMPLE
@given(message_mutants())
def test_mutated_messages_get_400_problem_details_over_http(base_url: str, mutant: Mutant) -> None:
    assert_refused(*send(base_url, "/beta/messages", mutant[0]), 400, mutant[1])


@SAMPLE
@given(workflows(), st.sampled_from([("/beta/workflows", "workflow_uuid"), ("/v0.1/dispatch", "dispatch_uuid")]))
def test_generated_workflows_get_202_over_http(base_url: str, body: Body, endpoint: tuple[str, str]) -> None:
    status, answer = send(base_url, endpoint[0], body)
    assert status == 202 and set(answer) == {endpoint[1]}, answer


@SAMPLE
@given(workflow_mutants())
def test_mutated_workflows_get_400_problem_details_over_http(base_url: str, mutant: Mutant) -> None:
    assert_refused(*send(base_url, "/beta/workflows", mutant[0]), 400, mutant[1])


@SAMPLE
@given(v1_messages())
def test_generated_v1_messages_get_202_over_http(base_url: str, body: Body) -> None:
    status, answer = send(base_url, "/v1/messages", body)
    assert status == 202 and answer["message_uuid"], answer
    assert ("workflow_id" in answer) == ("failover" in body)


@SAMPLE
@given(v1_mutants())
def test_mutated_v1_messages_get_422_problem_details_over_http(base_url: str, mutant: Mutant) -> None:
    assert_refused(*send(base_url, "/v1/messages", mutant[0]), 422, mutant[1])
