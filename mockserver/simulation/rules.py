"""Outcome rules: which recipients fail, how, and how fast. The magic recipients are the default rule set.

Recipient patterns are RE2 expressions, matched in time linear in the recipient's length: a pattern such as
`(a+)+$` cannot stall the event loop the way a backtracking engine lets it.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

import re2

from ..ids import new_uuid

OUTCOMES = ("delivered", "read", "rejected", "undeliverable", "stuck_submitted", "never_read", "slow")
SLOW_FACTOR = 30.0

# Where a rule comes from: the magic table, the `rules` setting (back after every reset), or POST /_mock/rules.
Source = Literal["builtin", "config", "api"]
SOURCES: tuple[Source, ...] = ("builtin", "config", "api")

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # RE2 would also print each refused pattern on stderr


def compile_pattern(pattern: str) -> Any:
    """The RE2 form of a recipient pattern; raises re.error (as Python's re does) for one RE2 cannot compile."""
    try:
        return re2.compile(pattern, options=_RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "cannot be compiled"
        raise re.error(reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)) from None


def normalise_number(recipient: str) -> str:
    """A phone number as the rules and the magic table see it: without a leading '+' or international '00'."""
    if recipient.startswith("+"):
        return recipient[1:]
    if recipient.startswith("00"):
        return recipient[2:]
    return recipient


def _load_data(name: str) -> Any:
    return json.loads(resources.files(__package__).joinpath(name).read_text())


ERROR_REASONS: dict[int, str] = {int(code): reason for code, reason in _load_data("error_codes.json").items()}


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    outcome: str
    channel: str | None = None
    to: str | None = None
    to_pattern: str | None = None
    text_contains: str | None = None
    error_code: int | None = None
    delay_factor: float | None = None
    description: str | None = None
    source: Source = "api"
    _regex: Any = field(default=None, compare=False, repr=False)
    _to_key: str | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: Source = "api") -> Rule:
        """A rule from the body of POST /_mock/rules (or its to_dict(), whose `source` is kept)."""
        match = data.get("match") or {}
        pattern, to = match.get("to_pattern"), match.get("to")
        source = data["source"] if data.get("source") in SOURCES else source
        return cls(id=data.get("id") or new_uuid(), outcome=data["outcome"],
                   channel=match.get("channel"), to=to, to_pattern=pattern,
                   text_contains=match.get("text_contains"), error_code=data.get("error_code"),
                   delay_factor=data.get("delay_factor"), description=data.get("description"), source=source,
                   _regex=compile_pattern(pattern) if pattern else None,
                   _to_key=normalise_number(to) if to is not None else None)

    @property
    def builtin(self) -> bool:
        return self.source == "builtin"

    def to_dict(self) -> dict[str, Any]:
        match = {key: value for key in ("channel", "to", "to_pattern", "text_contains")
                 if (value := getattr(self, key)) is not None}
        data: dict[str, Any] = {"id": self.id, "match": match, "outcome": self.outcome}
        for key in ("error_code", "delay_factor", "description"):
            if (value := getattr(self, key)) is not None:
                data[key] = value
        data["builtin"] = self.builtin
        data["source"] = self.source
        return data

    def matches(self, channel: str, recipient: str, text: str | None) -> bool:
        """`recipient` normalised (normalise_number), as RuleBook.decide passes it."""
        return ((self.channel is None or self.channel == channel)
                and (self._to_key is None or self._to_key == recipient)
                and (self._regex is None or self._regex.fullmatch(recipient) is not None)
                and (self.text_contains is None or (text is not None and self.text_contains in text)))

    @property
    def error(self) -> dict[str, Any] | None:
        if self.error_code is None:
            return None
        return {"code": self.error_code, "reason": ERROR_REASONS.get(self.error_code, "Unknown")}

    @property
    def factor(self) -> float:
        if self.delay_factor is not None:
            return self.delay_factor
        return SLOW_FACTOR if self.outcome == "slow" else 1.0


SUCCESS = Rule(id="default", outcome="read", description="anyone else: the full successful lifecycle",
               source="builtin")


@functools.cache
def _builtin_rules() -> tuple[list[Rule], dict[tuple[str | None, str | None], Rule], list[Rule]]:
    """The magic recipients (frozen rules, read only), and how they are looked up: those that match on the
    recipient alone (or with a channel) by dict, not by trying each in turn (channel None stands for any)."""
    builtin = [Rule.from_dict(data, source="builtin") for data in _load_data("magic_rules.json")]
    by_recipient = [rule for rule in builtin if rule.to and not (rule.to_pattern or rule.text_contains)]
    lookup = {(rule.channel, rule._to_key): rule for rule in reversed(by_recipient)}  # the first wins
    return builtin, lookup, [rule for rule in builtin if rule not in by_recipient]


class RuleBook:
    """User rules first (newest last, in the order added), then the built-in magic recipients."""

    def __init__(self, user_rules: list[dict[str, Any]] | tuple[dict[str, Any], ...] = ()) -> None:
        self.builtin, self._by_recipient, self._other_builtin = _builtin_rules()  # shared by every account's book
        self._configured = [Rule.from_dict(data, source="config") for data in user_rules]
        self.user: list[Rule] = list(self._configured)

    def add(self, data: dict[str, Any]) -> Rule:
        rule = Rule.from_dict(data)
        if any(existing.id == rule.id for existing in self.user):
            raise KeyError(rule.id)
        self.user.append(rule)
        return rule

    def delete(self, rule_id: str) -> bool:
        before = len(self.user)
        self.user = [rule for rule in self.user if rule.id != rule_id]
        return len(self.user) != before

    def reset(self) -> None:
        """Back to the rules from the configuration."""
        self.user = list(self._configured)

    def all(self) -> list[Rule]:
        return [*self.user, *self.builtin]

    def decide(self, channel: str, recipient: str, text: str | None) -> Rule:
        recipient = normalise_number(recipient)
        for rule in self.user:
            if rule.matches(channel, recipient, text):
                return rule
        found = self._by_recipient.get((None, recipient)) or self._by_recipient.get((channel, recipient))
        if found is not None:
            return found
        for rule in self._other_builtin:
            if rule.matches(channel, recipient, text):
                return rule
        return SUCCESS
