"""Outcome rules: which recipients fail, how, and how fast. The magic recipients are the default rule set."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from ..ids import new_uuid

OUTCOMES = ("delivered", "read", "rejected", "undeliverable", "stuck_submitted", "never_read", "slow")
SLOW_FACTOR = 30.0


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
    builtin: bool = False
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any], builtin: bool = False) -> Rule:
        match = data.get("match") or {}
        pattern = match.get("to_pattern")
        return cls(id=data.get("id") or new_uuid(), outcome=data["outcome"],
                   channel=match.get("channel"), to=match.get("to"), to_pattern=pattern,
                   text_contains=match.get("text_contains"), error_code=data.get("error_code"),
                   delay_factor=data.get("delay_factor"), description=data.get("description"),
                   builtin=builtin, _regex=re.compile(pattern) if pattern else None)

    def to_dict(self) -> dict[str, Any]:
        match = {key: value for key in ("channel", "to", "to_pattern", "text_contains")
                 if (value := getattr(self, key)) is not None}
        data: dict[str, Any] = {"id": self.id, "match": match, "outcome": self.outcome}
        for key in ("error_code", "delay_factor", "description"):
            if (value := getattr(self, key)) is not None:
                data[key] = value
        data["builtin"] = self.builtin
        return data

    def matches(self, channel: str, recipient: str, text: str | None) -> bool:
        return ((self.channel is None or self.channel == channel)
                and (self.to is None or self.to == recipient)
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
               builtin=True)


class RuleBook:
    """User rules first (newest last, in the order added), then the built-in magic recipients."""

    def __init__(self, user_rules: list[dict[str, Any]] | tuple[dict[str, Any], ...] = ()) -> None:
        self.builtin = [Rule.from_dict(data, builtin=True) for data in _load_data("magic_rules.json")]
        self._configured = [Rule.from_dict(data) for data in user_rules]
        self.user: list[Rule] = list(self._configured)
        # Built-in rules that match on the recipient alone (or with a channel) are found by dict, not by trying
        # each in turn; channel None stands for any channel.
        by_recipient = [rule for rule in self.builtin if rule.to and not (rule.to_pattern or rule.text_contains)]
        self._by_recipient = {(rule.channel, rule.to): rule for rule in reversed(by_recipient)}  # first wins
        self._other_builtin = [rule for rule in self.builtin if rule not in by_recipient]

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
