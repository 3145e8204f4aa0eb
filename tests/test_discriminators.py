"""Schemas specialised by their discriminators judge exactly as the whole schema does."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver.contract import Contract
from mockserver.discriminators import MAX_SEEN, Specialised, discriminators, specialisable, specialise
from tests.test_contract import CASES, Case, _mutants

IS_SMS = {"required": ["type"], "properties": {"type": {"const": "sms"}}}
CHANNELS = {
    "type": "object",
    "properties": {
        "to": {
            "type": "object",
            "allOf": [
                {"if": IS_SMS, "then": {"required": ["number"]}, "else": {"required": ["id"]}},
                {"if": {"required": ["type"], "properties": {"type": {"const": "messenger"}}},
                 "then": {"properties": {"number": False}}},
            ],
        },
        "items": {"type": "array", "items": {"if": IS_SMS, "then": {"required": ["number"]}}},
    },
}


@pytest.fixture(scope="module")
def contract() -> Contract:
    return Contract()


def _whole(contract: Contract, schema: str) -> Any:
    ref = {"$ref": contract.schema_documents()[schema]["$id"]}
    return jsonschema_rs.Draft202012Validator(ref, registry=contract._rs_registry, validate_formats=False)


def test_the_paths_that_decide_an_if_are_found_with_the_values_they_name() -> None:
    assert discriminators(CHANNELS) == {("to", "type"): frozenset({"sms", "messenger"})}  # not under items


def test_a_path_that_decides_a_single_if_is_not_worth_reading() -> None:
    one = {"properties": {"to": {"if": IS_SMS, "then": {"required": ["number"]}}}}
    assert discriminators(one) == {}
    assert discriminators({"allOf": [one, one]}) == {("to", "type"): frozenset({"sms"})}


def test_a_decided_if_becomes_its_chosen_branch_and_others_stay() -> None:
    sms = specialise(CHANNELS, {("to", "type"): "sms"})
    assert sms["properties"]["to"]["allOf"] == [{"allOf": [{"required": ["number"]}]}, {}]
    assert sms["properties"]["items"] == CHANNELS["properties"]["items"]  # its place depends on the instance
    other = specialise(CHANNELS, {("to", "type"): object()})
    assert other["properties"]["to"]["allOf"] == [{"allOf": [{"required": ["id"]}]}, {}]


def test_an_undecided_path_leaves_its_conditions() -> None:
    assert specialise(CHANNELS, {}) == CHANNELS


def test_schemas_whose_meaning_specialising_could_change_are_left_whole() -> None:
    assert specialisable(CHANNELS)
    assert not specialisable({"allOf": [CHANNELS], "unevaluatedProperties": False})
    assert not specialisable({"properties": {"a": {"$ref": "#"}}})


@pytest.mark.parametrize("instance", [
    {"to": {"type": "sms", "number": "1"}}, {"to": {"type": "sms", "id": "1"}},
    {"to": {"type": "messenger", "id": "1"}}, {"to": {"type": "messenger", "number": "1", "id": "2"}},
    {"to": {"type": "viber", "id": "1"}}, {"to": {"type": "viber"}}, {"to": {"type": 5, "id": "1"}},
    {"to": {"type": 5}}, {"to": {}}, {"to": "sms"}, {}, [], "x",
    {"to": {"type": "sms", "number": "1"}, "items": [{"type": "sms"}]},
])
def test_the_specialised_verdict_is_the_whole_schemas(instance: Any) -> None:
    whole = jsonschema_rs.Draft202012Validator(CHANNELS).is_valid
    assert Specialised(CHANNELS, lambda schema: jsonschema_rs.Draft202012Validator(schema).is_valid)(instance) \
        is whole(instance)


def test_past_max_seen_values_the_verdict_is_still_right() -> None:
    judge = Specialised(CHANNELS, lambda schema: jsonschema_rs.Draft202012Validator(schema).is_valid)
    for n in range(MAX_SEEN + 10):
        assert judge({"to": {"type": f"t{n}", "id": "1"}}) is True
        assert judge({"to": {"type": f"t{n}"}}) is False
    assert len(judge._by_values) == MAX_SEEN and len(judge._by_facts) == 1  # every unknown type: one schema


def test_the_request_schemas_are_specialised(contract: Contract) -> None:
    for name in ("message", "control/inbound-request", "v1/inbound-webhook"):
        assert isinstance(contract._get(name).whole.fast, Specialised), name


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.schema}: {case.id}")
def test_every_table_case_is_judged_as_by_the_whole_schema(contract: Contract, case: Case) -> None:
    assert contract._get(case.schema).whole.fast(case.instance) is _whole(contract, case.schema).is_valid(case.instance)


@settings(max_examples=1000, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_bodies_are_judged_as_by_the_whole_schema(contract: Contract, data: st.DataObject) -> None:
    schema, instance = data.draw(_mutants(contract))
    try:
        whole = _whole(contract, schema).is_valid(instance)
    except ValueError:  # keys JSON cannot hold: the contract asks the reference instead
        return
    assert contract._get(schema).whole.fast(instance) is whole
