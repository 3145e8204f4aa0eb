"""Schemathesis against the served OpenAPI document: every operation, no 5xx, every answer as documented.

The mock runs as `python -m mockserver` on a real port with strict auth and a control token, so the
generated requests meet the same checks a client's would, credentials and token included.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.request
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from mockserver.api.openapi import build_openapi
from mockserver.contract import Contract

from .support import free_port, get, post, running_mock, sms

API_KEY, API_SECRET, TOKEN = "fuzz-key", "fuzz-secret", "fuzz-token"
HEADERS = {"Authorization": "Basic " + base64.b64encode(f"{API_KEY}:{API_SECRET}".encode()).decode(),
           "X-Mock-Token": TOKEN}
WORKFLOW_PATHS = ("/beta/workflows", "/v0.1/dispatch")
WEBHOOK_TARGETS = ("status_url", "inbound_url")
EXAMPLES_PER_OPERATION = 50

CONTRACT = Contract()
# Built exactly as the server builds it; test_the_served_document_is_the_one_fuzzed proves they are the same.
DOCUMENT = build_openapi(CONTRACT)


CONFIG = schemathesis.Config.from_dict({"operations": [
    # A long-poll answers 408 when its condition does not hold in time: documented, for a valid request.
    {"include-path": "/_mock/wait",
     "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "401", "404", "408", "409"]}}},
    # Planning the coverage phase of bodies with URLs (the RFC 3986 pattern) takes 15-25 s: random fuzzing only.
    {"include-path": ["/_mock/config", "/_mock/inbound"], "phases": {"coverage": {"enabled": False}}},
    # The v1 body's eight sibling if/then rules are more than schemathesis 4 can turn into a generator (both
    # phases give up or take minutes): only its documented examples go through here; tests/test_properties.py
    # sends generated and mutated v1 bodies.
    {"include-path": "/v1/messages", "phases": {"fuzzing": {"enabled": False}, "coverage": {"enabled": False}}},
    # Likewise the inbound body's per-channel if/then rules (issue 15): its examples here; tests/test_v1_channels.py
    # and tests/test_inbound.py send every channel's content and the refusals.
    {"include-path": "/_mock/inbound", "phases": {"fuzzing": {"enabled": False}, "coverage": {"enabled": False}}},
    # The balance ignores unknown query parameters, as the REST API does, and every case carries the suite's Basic
    # credentials, so a case "without" them is not one: only the positive checks apply.
    {"include-path": "/account/get-balance", "checks": {"negative_data_rejection": {"enabled": False}}},
    # The same holds for the Applications API (unknown query parameters ignored; the suite's credentials on every
    # case); its bodies are refused with 400 by the positive and negative phases alike.
    {"include-path-regex": "^/v2/applications", "checks": {"negative_data_rejection": {"enabled": False}}}]})
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


@pytest.fixture(scope="module")
def live_mock() -> Iterator[str]:
    """The mock as its users run it; the manual clock keeps fuzzed time jumps instant."""
    flags = ("--clock", "manual", "--auth", "strict", "--api-key", API_KEY, "--api-secret", API_SECRET,
             "--control-token", TOKEN, "--webhook-timeout", "0.5", "--log-level", "error")
    with running_mock(*flags, headers=HEADERS) as mock:
        yield mock.base_url
        assert "Traceback" not in mock.output()


# Where fuzzed webhook URLs are pointed: a local port nobody listens on, never a generated host.
UNUSED_URL = f"http://127.0.0.1:{free_port()}/hook"


def keep_webhooks_local(body: Any) -> None:
    """A generated status/inbound URL could name any host on the internet; the fuzzer must not call it."""
    for key in WEBHOOK_TARGETS:
        if isinstance(body, dict) and CONTRACT.is_valid("control/config-update", {key: body.get(key)}):
            body[key] = UNUSED_URL


def follow_the_positional_rule(body: Any) -> None:
    """JSON Schema cannot say 'every item but the last has failover' (x-other-items, x-last-item): apply it."""
    if isinstance(body, dict) and isinstance(body.get("workflow"), list):
        items = [item for item in body["workflow"] if isinstance(item, dict)]
        for item in items[:-1]:
            item.setdefault("failover", {"expiry_time": 15, "condition_status": "delivered"})
        if items:
            items[-1].pop("failover", None)


def keep_waits_short(query: dict[str, Any]) -> None:
    """/_mock/wait long-polls up to 300 s: wait a tenth of a second at most, and name something to wait for."""
    try:
        timeout = float(query.get("timeout", 300))
    except (TypeError, ValueError):
        timeout = -1.0
    if 0.1 < timeout <= 300:
        query["timeout"] = 0.1
    if not {"message_uuid", "workflow_uuid", "to"} & set(query):
        query["to"] = "447700900000"


EDGE_OFF = {"rate_limit": 0, "rate_limits": {}, "balance": None}
HARMLESS_PATH = "/fuzzed/nothing-matches"


def keep_the_edge_open(body: Any) -> None:
    """A fuzzed rate limit or balance would answer later operations 429/402: they are set, but to off."""
    if isinstance(body, dict):
        for key, off in EDGE_OFF.items():
            if CONTRACT.is_valid("control/config-update", {key: body.get(key)}) and key in body:
                body[key] = off


def keep_faults_harmless(body: Any) -> None:
    """A fuzzed fault would drop or fail later operations: each matches a path nothing requests."""
    if isinstance(body, dict) and isinstance(body.get("match", {}), dict):
        body["match"] = {**body.get("match", {}), "path": HARMLESS_PATH}


@SCHEMA.hook
def map_case(context: Any, case: Any) -> Any:
    """Runs on every generated case, in every phase (body and query hooks skip the coverage phase)."""
    path = context.operation.path
    positive = case.meta is None or case.meta.generation.mode == GenerationMode.POSITIVE
    if path == "/_mock/config":
        keep_webhooks_local(case.body)
        keep_the_edge_open(case.body)
    elif path == "/_mock/faults" and positive:
        keep_faults_harmless(case.body)
    elif path in WORKFLOW_PATHS and positive:
        follow_the_positional_rule(case.body)
    elif path == "/_mock/wait":
        case.query = case.query if isinstance(case.query, dict) else {}
        keep_waits_short(case.query)
    return case


def test_the_served_document_is_the_one_fuzzed(live_mock: str) -> None:
    served = json.loads(get(live_mock + "/openapi.json", HEADERS))
    assert served == json.loads(json.dumps(DOCUMENT))


@SCHEMA.exclude(path="/_mock/events").parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
def test_every_operation_answers_as_documented(case: Any, live_mock: str) -> None:
    case.call_and_validate(base_url=live_mock, headers=HEADERS, timeout=10)


def test_the_event_stream_is_documented_and_served_as_event_stream(live_mock: str) -> None:
    """Excluded above because it never ends: its first bytes, with the documented media type."""
    documented = SCHEMA.raw_schema["paths"]["/_mock/events"]["get"]["responses"]["200"]["content"]
    request = urllib.request.Request(live_mock + "/_mock/events", headers=HEADERS)
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.headers["Content-Type"].split(";")[0] in documented
        assert response.readline() == b"retry: 1000\n"



# -- what the fuzzer found, each kept as a regression test ------------------------------------------------
def test_every_operation_documents_the_400_of_a_malformed_head() -> None:
    """A head aiohttp cannot parse (e.g. `content-length: 5|`) is answered 400 before any route sees it."""
    missing = [f"{method.upper()} {path}" for path, operations in DOCUMENT["paths"].items()
               for method, operation in operations.items() if "400" not in operation["responses"]]
    assert missing == []


async def test_a_fault_window_on_a_clock_at_year_9999_stays_readable(mock):
    assert (await mock.put("/_mock/config", json={"clock": "real", "time_scale": 1e-300})).status == 200
    response = await mock.post("/_mock/faults", json={"status": 500, "match": {"path": "/x"},
                                                      "window": {"start": 0, "duration": 30}})
    assert response.status == 201
    assert (await response.json())["window"] == {"start": "9999-12-31T23:59:59.000Z", "duration": 0}


async def test_a_date_that_matches_the_pattern_but_does_not_exist_is_a_400_not_a_500(mock):
    response = await mock.post("/_mock/clock/advance", json={"to": "2030-02-30T12:00:00Z"})
    assert response.status == 400
    assert [p["name"] for p in (await response.json())["invalid_parameters"]] == ["to"]


async def test_the_clock_cannot_be_pushed_past_year_9999_and_stays_readable(mock):
    assert (await mock.post("/_mock/clock/advance", json={"to": "9999-12-31T23:59:59Z"})).status == 200
    response = await mock.post("/_mock/clock/advance", json={"seconds": 315_000_000})
    assert response.status == 409
    assert (await (await mock.get("/_mock/clock")).json())["now"] == "9999-12-31T23:59:59.000Z"


async def test_a_real_clock_running_absurdly_fast_saturates_at_year_9999(mock):
    response = await mock.put("/_mock/config", json={"clock": "real", "time_scale": 1e-300})
    assert response.status == 200
    for path in ("/_mock/clock", "/_mock/health", "/_mock/config"):
        response = await mock.get(path)
        assert response.status == 200, path
    assert (await (await mock.get("/_mock/clock")).json())["now"] == "9999-12-31T23:59:59.000Z"


async def test_far_timers_from_a_huge_delay_factor_keep_every_view_readable(mock):
    rule = {"match": {"to": "447700900123"}, "outcome": "slow", "delay_factor": 7.5e307}
    assert (await mock.post("/_mock/rules", json=rule)).status == 201
    await post(mock, "/beta/messages", sms(to="447700900123"))
    for path in ("/_mock/clock", "/_mock/messages", "/_mock/conversations", "/_mock/health"):
        assert (await mock.get(path)).status == 200, path


async def test_a_rule_pattern_python_cannot_compile_is_a_400_naming_it(mock):
    response = await mock.post("/_mock/rules", json={"match": {"to_pattern": "[0-9"}, "outcome": "slow"})
    assert response.status == 400
    problem = await response.json()
    assert [p["name"] for p in problem["invalid_parameters"]] == ["match.to_pattern"]
    assert "regular expression" in problem["invalid_parameters"][0]["reason"]


@pytest.mark.parametrize("limit", ["²", "", "-1", "1e3", "100001"])
async def test_a_limit_that_is_not_a_plain_number_is_a_400(mock, limit):
    response = await mock.get("/_mock/messages", params={"limit": limit})
    assert response.status == 400, limit
    assert [p["name"] for p in (await response.json())["invalid_parameters"]] == ["limit"]


@pytest.mark.parametrize("url", ["http://exa mple.com/hook", "https://bücher.example/hook", "http://a/%zz",
                                 "http://a/hook\n", "http://[::1/hook", "http://a b@c/"])
async def test_a_webhook_url_that_is_not_a_valid_uri_is_refused(mock, url):
    response = await mock.put("/_mock/config", json={"status_url": url})
    assert response.status == 400, url
    assert [p["name"] for p in (await response.json())["invalid_parameters"]] == ["status_url"]


@pytest.mark.parametrize("url", ["http://localhost:3000/webhooks/status", "http://127.0.0.1:9/in",
                                 "https://user:pw@hooks.example.com:8443/a/b?x=1&y=%20#f",
                                 "https://xn--bcher-kva.example/hook"])
async def test_ordinary_webhook_urls_are_accepted(mock, url):
    response = await mock.put("/_mock/config", json={"status_url": url})
    assert response.status == 200, await response.text()


def test_every_string_the_url_pattern_admits_is_a_valid_uri() -> None:
    """The pattern is stricter than `format: uri`, never looser: what we accept, a client's validator accepts."""
    url_rules = CONTRACT.schema_documents()["common"]["$defs"]["url-rules"]
    pattern, uri = re.compile(url_rules["pattern"]), jsonschema_rs.Draft202012Validator(
        {"format": "uri"}, validate_formats=True)

    @settings(max_examples=500, database=None, deadline=None)
    @given(st.from_regex(pattern))
    def admitted_is_a_uri(text: str) -> None:
        assume("\n" not in text)  # Python's `$` also matches before a final newline; url-rules forbids it apart
        assert uri.is_valid(text), text

    admitted_is_a_uri()
