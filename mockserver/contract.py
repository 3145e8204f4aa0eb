"""The request and webhook contract: loads the JSON Schemas, judges instances, explains every violation."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from .discriminators import Specialised, specialisable

Path_ = tuple[str | int, ...]

_OTHER_ITEMS = "x-other-items"
_LAST_ITEM = "x-last-item"

_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "object": "an object",
    "array": "an array",
    "boolean": "a boolean",
    "null": "null",
}


@dataclass(frozen=True, slots=True)
class InvalidParameter:
    """One violation: the dotted path of the offending field ("" for the body) and why, for a person."""

    name: str
    reason: str


def default_schema_dir() -> Path:
    """The schemas in the wheel (mockserver/schemas), else those of a source checkout (<repo>/schemas)."""
    here = Path(__file__).parent
    candidates = (here / "schemas", here.parent / "schemas")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"JSON schemas not found; looked in {candidates[0]} and {candidates[1]}")


@dataclass(frozen=True, slots=True)
class _Check:
    """One schema compiled twice: jsonschema-rs (a fast yes/no judge, and its errors) and python-jsonschema (the
    reference explanation). `errors` is None when only python-jsonschema could compile the schema."""

    fast: Callable[[object], bool]
    slow: Draft202012Validator
    errors: Callable[[object], Iterator[Any]] | None = None

    def fast_problems(self, instance: object, keywords: _Keywords) -> set[tuple[Path_, str]] | None:
        """The problems from jsonschema-rs's errors, worded as `_render` words python-jsonschema's; None when an
        error is not one `_render` would word alike (then the reference explains the instance)."""
        if self.errors is None:
            return None
        found: set[tuple[Path_, str]] = set()
        for error in self.errors(instance):
            keyword = keywords.at(error.absolute_keyword_location)
            if keyword is None or _FAST_KINDS.get(type(error.kind).__name__) != keyword.name:
                return None
            path: Path_ = tuple(error.instance_path)
            at = _at(instance, path)
            if keyword.name == "pattern" and _search(keyword.schema["pattern"], at):
                continue  # Python's re, the reference's, lets "$" match before a final newline; Rust's does not
            fields = _offending_fields(keyword.name, keyword.schema, at)
            if fields is None:
                found.add((path, keyword.reason))
            else:
                found.update(((*path, field), keyword.reason) for field in fields)
        return found


# jsonschema-rs error kinds reported exactly where python-jsonschema reports an error of the keyword, one for one
# (required: one per missing name in both). Left to the reference: anyOf/oneOf (their branches count errors
# differently, and the closest branch is chosen by that count), false schemas, keywords _REASONS does not word.
_FAST_KINDS = {
    "Required": "required", "Not": "not", "AdditionalProperties": "additionalProperties", "Type": "type",
    "Enum": "enum", "Constant": "const", "MinLength": "minLength", "MaxLength": "maxLength", "Minimum": "minimum",
    "Maximum": "maximum", "ExclusiveMinimum": "exclusiveMinimum", "ExclusiveMaximum": "exclusiveMaximum",
    "MultipleOf": "multipleOf", "MinItems": "minItems", "MaxItems": "maxItems", "UniqueItems": "uniqueItems",
    "MinProperties": "minProperties", "MaxProperties": "maxProperties", "Pattern": "pattern",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Keyword:
    """One keyword of a schema document: its name, the schema object holding it, and its reason."""

    name: str
    schema: dict[str, Any]
    reason: str


class _Keywords:
    """The keyword at each absolute keyword location of jsonschema-rs errors, resolved once per location."""

    def __init__(self, documents: Iterable[dict]) -> None:
        self._documents = {doc["$id"]: doc for doc in documents}
        self._resolved: dict[str | None, _Keyword | None] = {}

    def at(self, location: str | None) -> _Keyword | None:
        """None for a location outside the documents, or not at one of the keywords of _FAST_KINDS."""
        if location not in self._resolved:
            self._resolved[location] = self._resolve(location)
        return self._resolved[location]

    def _resolve(self, location: str | None) -> _Keyword | None:
        uri, _, pointer = (location or "").partition("#")
        parts = [unquote(part).replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:]]
        schema: Any = self._documents.get(uri)
        try:
            for part in parts[:-1]:
                schema = schema[int(part) if isinstance(schema, list) else part]
        except (KeyError, IndexError, TypeError, ValueError):
            return None
        name = parts[-1] if parts else ""
        if not isinstance(schema, dict) or name not in schema or name not in _FAST_KINDS.values():
            return None
        return _Keyword(name, schema, _reason(schema, name, schema[name], ""))


@dataclass(frozen=True, slots=True)
class _PositionalRule:
    """x-other-items / x-last-item of the array at `path`: rules JSON Schema cannot index from the end."""

    path: tuple[str, ...]
    others: _Check | None
    last: _Check | None

    def items(self, instance: object) -> list[Any] | None:
        for key in self.path:
            if not isinstance(instance, dict) or key not in instance:
                return None
            instance = instance[key]
        return instance if isinstance(instance, list) and instance else None

    def targets(self, items: list[Any]) -> Iterator[tuple[int, _Check]]:
        last_index = len(items) - 1
        for index in range(last_index + 1):
            check = self.last if index == last_index else self.others
            if check is not None:
                yield index, check


@dataclass(frozen=True, slots=True)
class _Compiled:
    """Everything needed to judge and explain one named schema."""

    whole: _Check
    positional: tuple[_PositionalRule, ...]

    def is_valid(self, instance: object) -> bool:
        """Raises ValueError for values JSON cannot hold (e.g. non-string keys), RecursionError if too deep."""
        if not self.whole.fast(instance):
            return False
        for rule in self.positional:
            items = rule.items(instance)
            if items is not None and not all(check.fast(items[i]) for i, check in rule.targets(items)):
                return False
        return True

    def fast_problems(self, instance: object, keywords: _Keywords) -> set[tuple[Path_, str]] | None:
        found = self.whole.fast_problems(instance, keywords)
        for rule in self.positional:
            items = rule.items(instance) or []
            for index, check in rule.targets(items):
                at_item = check.fast_problems(items[index], keywords)
                if found is None or at_item is None:
                    return None
                found.update(((*rule.path, index, *path), reason) for path, reason in at_item)
        return found

    def explain(self, instance: object) -> Iterator[tuple[Path_, str]]:
        for error in self.whole.slow.iter_errors(instance):
            yield from _render(error)
        for rule in self.positional:
            items = rule.items(instance) or []
            for index, check in rule.targets(items):
                for error in check.slow.iter_errors(items[index]):
                    for path, reason in _render(error):
                        yield (*rule.path, index, *path), reason


class Contract:
    """Every schema under a directory, compiled once; `problems` names each violation of one of them."""

    def __init__(self, schema_dir: Path | None = None) -> None:
        self._documents = _load(schema_dir or default_schema_dir())
        documents = list(self._documents.values())
        self._registry = Registry().with_resources(
            (doc["$id"], Resource.from_contents(doc, default_specification=DRAFT202012)) for doc in documents
        )
        self._rs_registry = jsonschema_rs.Registry([(doc["$id"], doc) for doc in documents])
        self._compiled = {name: self._compile(doc) for name, doc in self._documents.items()}
        self._keywords = _Keywords(documents)
        self._judges: dict[str, Callable[[object], bool]] = {}  # schema name -> judge(name), made on first use

    def problems(self, schema: str, instance: object) -> list[InvalidParameter]:
        """Every violation of `schema` (its path in the schema dir, without .json), ordered by path.

        Worded from jsonschema-rs's errors when each is one the reference words alike (tests/test_contract.py
        holds both to the same answers), else by `reference_problems`: python-jsonschema's walk is 40x slower."""
        compiled = self._get(schema)
        verdict = _verdict(compiled, instance)
        if verdict:
            return []
        try:
            found = compiled.fast_problems(instance, self._keywords) if verdict is False else None
        except (ValueError, RecursionError):  # e.g. too deep: iter_errors reads all the instance, is_valid may not
            found = None
        if found is None:
            return self._reference(compiled, instance, verdict)
        return _ordered(found or {((), "is not valid")})

    def reference_problems(self, schema: str, instance: object) -> list[InvalidParameter]:
        """`problems` as python-jsonschema's walk finds them: any schema, any instance, the reference wording."""
        compiled = self._get(schema)
        return self._reference(compiled, instance, _verdict(compiled, instance))

    @staticmethod
    def _reference(compiled: _Compiled, instance: object, verdict: bool | None) -> list[InvalidParameter]:
        try:
            found = set(compiled.explain(instance))
        except RecursionError:
            return [InvalidParameter("", "is nested too deeply")]
        if not found and verdict is False:
            # The two engines disagree; an invalid body must never come back as valid.
            found = {((), "is not valid")}
        return _ordered(found)

    def is_valid(self, schema: str, instance: object) -> bool:
        judge = self._judges.get(schema)
        if judge is None:
            judge = self._judges[schema] = self.judge(schema)
        return judge(instance)

    def judge(self, schema: str) -> Callable[[object], bool]:
        """`is_valid` of one schema, looked up once: an emulated endpoint asks it on every request."""
        compiled = self._get(schema)
        verdict = compiled.is_valid if compiled.positional else compiled.whole.fast

        def is_valid(instance: object) -> bool:
            try:
                return verdict(instance)
            except (ValueError, RecursionError):
                return not self.problems(schema, instance)

        return is_valid

    def schema_documents(self) -> dict[str, dict]:
        """Name -> a copy of the raw schema document, e.g. for building the OpenAPI document."""
        return copy.deepcopy(self._documents)

    def _get(self, schema: str) -> _Compiled:
        try:
            return self._compiled[schema]
        except KeyError:
            raise KeyError(f"no schema named {schema!r}; known: {', '.join(sorted(self._compiled))}") from None

    def _compile(self, document: dict) -> _Compiled:
        uri = document["$id"]
        rules = tuple(
            _PositionalRule(
                path,
                self._check_at(uri, pointer, _OTHER_ITEMS, node),
                self._check_at(uri, pointer, _LAST_ITEM, node),
            )
            for path, pointer, node in _arrays_with_positional_rules(document)
        )
        return _Compiled(self._check(uri), rules)

    def _check_at(self, uri: str, pointer: str, keyword: str, node: dict) -> _Check | None:
        return self._check(f"{uri}#{pointer}/{keyword}") if keyword in node else None

    def _check(self, uri: str) -> _Check:
        schema = {"$ref": uri}
        slow = Draft202012Validator(schema, registry=self._registry)
        try:
            fast = jsonschema_rs.Draft202012Validator(schema, registry=self._rs_registry, validate_formats=False)
            inlined = jsonschema_rs.dereference(schema, registry=self._rs_registry)
        except (ValueError, jsonschema_rs.ReferencingError):
            return _Check(slow.is_valid, slow)
        verdict = fast.is_valid
        if not _has_ref(inlined):  # circular ones stay, relative to a document that is no longer there
            # The error walk on the $refs inlined once: resolving them on each descent took 60 % of its time.
            slow = Draft202012Validator(inlined)
            if specialisable(inlined):
                specialised = Specialised(inlined, _fast_verdict)
                verdict = specialised if specialised.useful else verdict
        return _Check(verdict, slow, fast.iter_errors)


def _fast_verdict(schema: dict) -> Callable[[object], bool]:
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=False).is_valid


def _verdict(compiled: _Compiled, instance: object) -> bool | None:
    """jsonschema-rs's verdict; None when it cannot judge (keys JSON cannot hold, nesting too deep)."""
    try:
        return compiled.is_valid(instance)
    except (ValueError, RecursionError):
        return None


def _at(instance: Any, path: Path_) -> Any:
    for part in path:  # jsonschema-rs names an object's key "0" as the int 0
        instance = instance[str(part)] if isinstance(instance, dict) else instance[part]
    return instance


def _has_ref(node: Any) -> bool:
    if isinstance(node, dict):
        return "$ref" in node or any(_has_ref(value) for value in node.values())
    return isinstance(node, list) and any(_has_ref(value) for value in node)


def _load(schema_dir: Path) -> dict[str, dict]:
    documents = {}
    for path in sorted(schema_dir.rglob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(document, dict) or "$id" not in document:
            raise ValueError(f"{path}: a schema document needs an $id")
        documents[path.relative_to(schema_dir).with_suffix("").as_posix()] = document
    if not documents:
        raise FileNotFoundError(f"no *.json schema in {schema_dir}")
    return documents


def _arrays_with_positional_rules(document: dict) -> Iterator[tuple[tuple[str, ...], str, dict]]:
    """(instance path, JSON pointer, schema) of each `properties`-reachable schema with a positional rule."""

    def walk(node: dict, path: tuple[str, ...], pointer: str) -> Iterator[tuple[tuple[str, ...], str, dict]]:
        if _OTHER_ITEMS in node or _LAST_ITEM in node:
            yield path, pointer, node
        for name, sub in node.get("properties", {}).items():
            if isinstance(sub, dict):
                escaped = name.replace("~", "~0").replace("/", "~1")
                yield from walk(sub, (*path, name), f"{pointer}/properties/{escaped}")

    return walk(document, (), "")


def _ordered(found: Iterable[tuple[Path_, str]]) -> list[InvalidParameter]:
    """Sorted by path, then reason; of paths with one dotted name ("a.b" and a/b) the first in that order counts,
    so the answer does not depend on the order the errors were found in."""
    answer: dict[tuple[str, str], InvalidParameter] = {}
    for path, reason in sorted(found, key=lambda problem: (_path_key(problem[0]), problem[1])):
        name = ".".join(map(str, path))
        answer.setdefault((name, reason), InvalidParameter(name, reason))
    return list(answer.values())


def _path_key(path: Path_) -> tuple[tuple[int, int, str], ...]:
    return tuple((0, part, "") if isinstance(part, int) else (1, 0, part) for part in path)


def _render(error: ValidationError) -> Iterator[tuple[Path_, str]]:
    """The leaf problems of one jsonschema error, each as (instance path, reason)."""
    worded = _custom_reason(error.schema, error.validator) is not None
    if error.validator in ("anyOf", "oneOf") and error.context and not worded:
        for sub_error in _closest_branch(error.context):
            yield from _render(sub_error)
        return
    path: Path_ = tuple(error.absolute_path)
    reason = _reason(error.schema, error.validator, error.validator_value, error.message)
    fields = _offending_fields(error.validator, error.schema, error.instance)
    if fields is None:
        yield path, reason
    else:
        for field in fields:
            yield (*path, field), reason


def _closest_branch(errors: list[ValidationError]) -> list[ValidationError]:
    """The errors of the anyOf/oneOf branch the instance came closest to (fewest errors, first on ties)."""
    branches: dict[object, list[ValidationError]] = {}
    for error in errors:
        branches.setdefault(error.relative_schema_path[0], []).append(error)
    return min(branches.values(), key=len)


def _offending_fields(keyword: str, schema: dict[str, Any], instance: object) -> list[str] | None:
    """For errors reported on an object about some of its properties, the names of those properties."""
    if not isinstance(instance, dict):
        return None
    if keyword == "required":
        return [name for name in schema["required"] if name not in instance]
    if keyword == "additionalProperties" and schema["additionalProperties"] is False:
        known = schema.get("properties", {})
        patterns = schema.get("patternProperties", {})
        return [name for name in instance if name not in known and not any(_search(p, name) for p in patterns)]
    return None


def _search(pattern: str, text: object) -> bool:
    return isinstance(text, str) and re.search(pattern, text) is not None


def _custom_reason(schema: object, keyword: str) -> str | None:
    """The schema's own wording: "x-reason" as a string for any keyword, or an object keyed by keyword."""
    reason = schema.get("x-reason") if isinstance(schema, dict) else None
    if isinstance(reason, dict):
        reason = reason.get(keyword)
    return reason if isinstance(reason, str) else None


def _reason(schema: object, keyword: str, value: object, message: str) -> str:
    """The reason for an error of `keyword` (whose value is `value`) in `schema`; `message` for unworded ones."""
    custom = _custom_reason(schema, keyword)
    if custom is not None:
        return custom
    render = _REASONS.get(keyword)
    return render(value) if render else message


def _show(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _quote(value: object) -> str:
    return f"'{value}'" if isinstance(value, str) else json.dumps(value)


def _type_reason(expected: str | list[str]) -> str:
    names = [expected] if isinstance(expected, str) else expected
    return "must be " + " or ".join(_TYPE_NAMES.get(name, name) for name in names)


def _min_length_reason(limit: int) -> str:
    return "must not be empty" if limit == 1 else f"must be at least {limit} characters"


_REASONS: dict[str, Callable[[Any], str]] = {
    "not": lambda _: "is not allowed",
    "required": lambda _: "is required",
    "additionalProperties": lambda _: "is not allowed",
    "type": _type_reason,
    "enum": lambda values: "must be one of: " + ", ".join(_show(v) for v in values),
    "const": lambda value: f"must be {_quote(value)}",
    "minLength": _min_length_reason,
    "maxLength": lambda limit: f"must be at most {limit} characters",
    "minimum": lambda limit: f"must be at least {limit}",
    "maximum": lambda limit: f"must be at most {limit}",
    "exclusiveMinimum": lambda limit: f"must be greater than {limit}",
    "exclusiveMaximum": lambda limit: f"must be less than {limit}",
    "multipleOf": lambda step: f"must be a multiple of {step}",
    "minItems": lambda limit: f"must have at least {limit} items",
    "maxItems": lambda limit: f"must have at most {limit} items",
    "uniqueItems": lambda _: "must not contain duplicate items",
    "minProperties": lambda limit: f"must have at least {limit} properties",
    "maxProperties": lambda limit: f"must have at most {limit} properties",
    "pattern": lambda pattern: f"must match the pattern {pattern}",
    "anyOf": lambda _: "does not match any of the allowed forms",
    "oneOf": lambda _: "must match exactly one of the allowed forms",
}
