"""The schema files themselves: valid Draft 2020-12 documents, named by their path, every $ref resolving."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from mockserver.contract import default_schema_dir

SCHEMA_DIR = Path(__file__).parent.parent / "schemas"
BASE = "https://mockserver.local/schemas/"
FILES = sorted(SCHEMA_DIR.rglob("*.json"))
REQUIRED_NAMES = {
    "message", "workflow", "status-webhook", "inbound-webhook", "workflow-report",
    "control/inbound-request", "control/rule", "control/clock-advance", "control/config-update",
}  # fmt: skip
POSITIONAL = ("x-other-items", "x-last-item")


def _name(path: Path) -> str:
    return path.relative_to(SCHEMA_DIR).with_suffix("").as_posix()


def _document(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


DOCUMENTS = {_name(path): _document(path) for path in FILES}
REGISTRY = Registry().with_resources(
    (doc["$id"], Resource.from_contents(doc, default_specification=DRAFT202012)) for doc in DOCUMENTS.values()
)


def _subschemas(node: object, pointer: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object in a document with its JSON pointer (schemas, and a few plain objects such as examples)."""
    if isinstance(node, dict):
        yield pointer, node
        for key, value in node.items():
            if key not in ("examples", "enum", "const"):
                yield from _subschemas(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _subschemas(value, f"{pointer}/{index}")


def test_the_fixed_names_exist() -> None:
    assert set(DOCUMENTS) >= REQUIRED_NAMES


def test_default_schema_dir_is_the_checkout_folder_in_development() -> None:
    assert default_schema_dir().resolve() == SCHEMA_DIR.resolve()


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_header_names_the_dialect_and_the_file(name: str) -> None:
    document = DOCUMENTS[name]
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document["$id"] == f"{BASE}{name}.json"


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_is_a_valid_draft_2020_12_schema(name: str) -> None:
    Draft202012Validator.check_schema(DOCUMENTS[name])


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_every_ref_resolves(name: str) -> None:
    document = DOCUMENTS[name]
    resolver = REGISTRY.resolver(base_uri=document["$id"])
    refs = [node["$ref"] for _, node in _subschemas(document) if isinstance(node.get("$ref"), str)]
    for ref in refs:
        assert resolver.lookup(ref).contents is not None, ref


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_false_appears_only_as_additional_properties(name: str) -> None:
    """jsonschema reports a `false` subschema without its path; `{"not": {}}` keeps it."""
    for pointer, node in _subschemas(DOCUMENTS[name]):
        for key, value in node.items():
            assert value is not False or key == "additionalProperties", f"{pointer}/{key}"


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_rust_engine_compiles_it(name: str) -> None:
    registry = jsonschema_rs.Registry([(doc["$id"], doc) for doc in DOCUMENTS.values()])
    jsonschema_rs.Draft202012Validator({"$ref": DOCUMENTS[name]["$id"]}, registry=registry)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_x_reason_names_keywords_of_its_own_schema(name: str) -> None:
    for pointer, node in _subschemas(DOCUMENTS[name]):
        reason = node.get("x-reason")
        if isinstance(reason, dict):
            assert set(reason) <= set(node), f"{pointer}: x-reason for a keyword the schema lacks"
            assert all(isinstance(text, str) for text in reason.values()), pointer
        else:
            assert reason is None or isinstance(reason, str), pointer


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_positional_rules_sit_on_arrays_reached_by_properties(name: str) -> None:
    for pointer, node in _subschemas(DOCUMENTS[name]):
        if any(keyword in node for keyword in POSITIONAL):
            assert node.get("type") == "array", pointer
            assert all(part == "properties" for part in pointer.split("/")[1::2]), pointer
            for keyword in POSITIONAL:
                Draft202012Validator.check_schema(node.get(keyword, {}))


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_examples_in_a_schema_satisfy_it(name: str) -> None:
    document = DOCUMENTS[name]
    validator = Draft202012Validator(document, registry=REGISTRY)
    for example in document.get("examples", []):
        assert list(validator.iter_errors(example)) == []


URL_RULES = f"{BASE}common.json#/$defs/url-rules"


def _is_url_field(pointer: str) -> bool:
    name = pointer.rsplit("/", 1)[-1]
    return pointer.rsplit("/", 2)[-2:-1] == ["properties"] and (name == "url" or name.endswith("_url"))


def _reaches_url_rules(document: dict[str, Any], node: dict[str, Any]) -> bool:
    """Whether a schema is, through its $refs, the shared http(s) URL definition."""
    target = REGISTRY.resolver().lookup(URL_RULES).contents
    resolver = REGISTRY.resolver(base_uri=document["$id"])
    for _ in range(5):  # a URL field's schema is a short chain of $refs
        ref = node.get("$ref")
        if not isinstance(ref, str):
            return False
        resolved = resolver.lookup(ref)
        if resolved.contents is target:
            return True
        node, resolver = resolved.contents, resolved.resolver
    return False


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_every_url_field_is_the_one_http_url_definition(name: str) -> None:
    """Media, webhook, action and map URLs: each a $ref to common.json's url-rules, never a schema of its own."""
    document = DOCUMENTS[name]
    for pointer, node in _subschemas(document):
        if _is_url_field(pointer):
            assert _reaches_url_rules(document, node), f"{name}{pointer}: {node}"


def test_the_url_fields_are_found() -> None:
    found = {f"{name}{pointer}" for name, document in DOCUMENTS.items() for pointer, _ in _subschemas(document)
             if _is_url_field(pointer)}
    assert {"content/$defs/media/properties/url", "v1/messenger/properties/image/properties/url",
            "v1/viber_service/properties/viber_service/properties/action/properties/url",
            "v1/rcs/$defs/card/properties/media_url", "v1/sms/properties/webhook_url",
            "control/config-update/properties/status_url", "control/config-update/properties/inbound_url"} <= found


PATTERNS = sorted({node["pattern"] for doc in DOCUMENTS.values() for _, node in _subschemas(doc)
                   if isinstance(node.get("pattern"), str)})


@functools.cache
def _rust_pattern(pattern: str) -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator({"pattern": pattern})


@pytest.mark.parametrize("pattern", PATTERNS)
@settings(max_examples=50, deadline=None, database=None)
@given(data=st.data())
def test_both_regex_engines_match_alike_but_for_python_dollar(pattern: str, data: st.DataObject) -> None:
    """Problems are worded from jsonschema-rs's errors, as python-jsonschema's would be: Rust's regex must match
    where Python's re does, but for "$" before a final newline (Python only; contract.py drops those errors)."""
    text = data.draw(st.from_regex(pattern) | st.text() | st.from_regex(pattern).map(lambda s: s[:-1] + "\n"))
    rust = _rust_pattern(pattern).is_valid(text)
    python = re.search(pattern, text) is not None
    assert rust == python or (python and text.endswith("\n"))
