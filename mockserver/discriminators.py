"""Schemas specialised by the values of their discriminators, for a faster yes/no verdict.

A request schema picks its rules with `if` conditions on a few string fields (`to.type`, `channel`,
`message.content.type`...): {"if": {"required": ["type"], "properties": {"type": {"const": "sms"}}}, "then": ...}.
The validator evaluates every such condition on every request, and they are most of its work. Once those fields'
values are read from an instance, each condition is known, and `if`/`then`/`else` is exactly its chosen branch:
the schema specialised for those values gives the same verdict with a fraction of the work.

Only conditions at a fixed place of the instance (reached through `properties` alone) are specialised; those
under `items`, `additionalProperties` and the like stay as they are. A schema with `unevaluatedProperties` or
`unevaluatedItems` is left whole (an `if` that passes marks what it read as evaluated), and so is one with a
`$ref` left after inlining (a recursive one, such as /v1's failover items: compiled apart, it would resolve
elsewhere).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Path = tuple[str, ...]
Verdict = Callable[[object], bool]

# Keywords whose subschemas apply at the same place of the instance as the schema holding them (with
# `properties`, that place's children); all others apply at places that depend on the instance (`items`...).
_IN_PLACE_LISTS = ("allOf", "anyOf", "oneOf")
_IN_PLACE = ("not", "then", "else", "if")
_ANNOTATIONS = ("description", "title", "$comment", "examples", "default")
_OTHER = object()  # the value of a discriminator that no condition names
MAX_SEEN = 256
MIN_DECIDED = 2


def _condition(schema: Any, at: Path) -> tuple[Path, Any] | None:
    """(path, value) when `schema`, applied at `at`, holds exactly when the string at `path` equals `value`
    (given that the path leads to a string through objects); None for any other condition."""
    if not isinstance(schema, dict):
        return None
    keys = {key for key in schema if key not in _ANNOTATIONS and not key.startswith("x-")}
    if keys == {"const"} and isinstance(schema["const"], str):
        return at, schema["const"]
    properties = schema.get("properties")
    if (not keys <= {"type", "required", "properties"} or schema.get("type", "object") != "object"
            or not isinstance(properties, dict) or len(properties) != 1):
        return None
    (name, inner), = properties.items()
    if not set(schema.get("required", [name])) <= {name}:
        return None
    return _condition(inner, (*at, name))


def _decided(schema: Any, at: Path, facts: dict[Path, Any]) -> bool | None:
    """Whether condition `schema` holds for an instance with those facts; None when they don't tell."""
    found = _condition(schema, at)
    if found is not None:
        path, value = found
        return facts[path] == value if path in facts else None
    if isinstance(schema, dict) and set(schema) - set(_ANNOTATIONS) in ({"anyOf"}, {"allOf"}):
        kind = "anyOf" if "anyOf" in schema else "allOf"
        parts = [_decided(part, at, facts) for part in schema[kind]]
        if None in parts:
            return None
        return any(parts) if kind == "anyOf" else all(parts)
    return None


def discriminators(schema: Any) -> dict[Path, frozenset[str]]:
    """The paths that decide at least MIN_DECIDED of the `if`s of `schema`, each with the values its conditions
    name (reading a path costs every request a few lookups; one that decides a single `if` saves less)."""
    found: dict[Path, set[str]] = {}
    decided: dict[Path, int] = {}

    def collect(condition: Any, at: Path) -> None:
        hit = _condition(condition, at)
        if hit is not None:
            found.setdefault(hit[0], set()).add(hit[1])
            decided[hit[0]] = decided.get(hit[0], 0) + 1
        elif isinstance(condition, dict):
            for part in condition.get("anyOf", []) + condition.get("allOf", []):
                collect(part, at)

    _walk(schema, (), lambda node, at: collect(node["if"], at))
    return {path: frozenset(values) for path, values in found.items() if path and decided[path] >= MIN_DECIDED}


def specialise(schema: Any, facts: dict[Path, Any]) -> Any:
    """`schema` with every `if` that `facts` decide replaced by the branch it chooses."""

    def rewrite(node: Any, at: Path) -> Any:
        if isinstance(node, list):
            return [rewrite(item, at) for item in node]
        if not isinstance(node, dict):
            return node
        out = {key: _rewrite_child(key, value, at, rewrite) for key, value in node.items()}
        verdict = _decided(node["if"], at, facts) if "if" in node else None
        if verdict is not None:
            chosen = out.pop("then" if verdict else "else", None)
            out.pop("if")
            out.pop("else" if verdict else "then", None)
            if chosen is not None:
                out["allOf"] = [*out.get("allOf", []), chosen]
        return out

    return rewrite(schema, ())


def _rewrite_child(key: str, value: Any, at: Path, rewrite: Callable[[Any, Path], Any]) -> Any:
    """Subschemas at a fixed place are rewritten; those applied elsewhere (items...), and $defs, are kept."""
    if key == "properties" and isinstance(value, dict):
        return {name: rewrite(sub, (*at, name)) for name, sub in value.items()}
    if key == "dependentSchemas" and isinstance(value, dict):
        return {name: rewrite(sub, at) for name, sub in value.items()}
    if key in _IN_PLACE_LISTS or key in _IN_PLACE:
        return rewrite(value, at)
    return value


def _walk(schema: Any, at: Path, visit: Callable[[dict, Path], None]) -> None:
    """Visit every schema object holding an `if` at a fixed place (its path in the instance)."""
    if isinstance(schema, list):
        for item in schema:
            _walk(item, at, visit)
        return
    if not isinstance(schema, dict):
        return
    if "if" in schema:
        visit(schema, at)
    for key, value in schema.items():
        if key == "properties" and isinstance(value, dict):
            for name, sub in value.items():
                _walk(sub, (*at, name), visit)
        elif key == "dependentSchemas" and isinstance(value, dict):
            _walk(list(value.values()), at, visit)
        elif key in _IN_PLACE_LISTS or key in _IN_PLACE:
            _walk(value, at, visit)


def specialisable(schema: Any) -> bool:
    """False when the schema (its `$ref`s inlined) uses keywords whose meaning specialising could change."""
    if isinstance(schema, dict):
        if {"unevaluatedProperties", "unevaluatedItems", "$ref", "$dynamicRef"} & schema.keys():
            return False
        return all(specialisable(value) for key, value in schema.items() if key != "$defs")
    if isinstance(schema, list):
        return all(specialisable(item) for item in schema)
    return True


class Specialised:
    """A verdict function: the specialised schema's for the instance's discriminator values, compiled on first
    use (a discriminator that is missing or not a string decides nothing). Values no condition names all share
    one specialisation; past MAX_SEEN distinct values (a fuzzer's), an unseen one is looked up the slow way."""

    def __init__(self, schema: dict, compile_: Callable[[dict], Verdict]) -> None:
        self._schema = schema
        self._compile = compile_
        found = discriminators(schema)
        self._paths = tuple(found)
        self._known = tuple(found[path] for path in self._paths)
        self._by_values: dict[tuple[str | None, ...], Verdict] = {}  # as read from instances
        self._by_facts: dict[tuple[Any, ...], Verdict] = {}  # what each value decides: known, other or None

    @property
    def useful(self) -> bool:
        return bool(self._paths)

    def __call__(self, instance: object) -> bool:
        values = []
        for path in self._paths:  # inlined: this runs on every request
            value = instance
            for name in path:
                value = value.get(name) if value.__class__ is dict else None
            values.append(value if value.__class__ is str else None)
        key = tuple(values)
        verdict = self._by_values.get(key)
        if verdict is None:
            verdict = self._verdict_for(key)
        return verdict(instance)

    def _verdict_for(self, values: tuple[str | None, ...]) -> Verdict:
        facts = tuple(value if value is None or value in known else _OTHER
                      for value, known in zip(values, self._known, strict=True))
        verdict = self._by_facts.get(facts)
        if verdict is None:
            decided = {path: fact for path, fact in zip(self._paths, facts, strict=True) if fact is not None}
            verdict = self._by_facts[facts] = self._compile(specialise(self._schema, decided))
        if len(self._by_values) < MAX_SEEN:
            self._by_values[values] = verdict
        return verdict
