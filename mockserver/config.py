"""The settings object, and the one place that reads flags, environment variables and config files.

Every value is checked against one schema, schemas/control/settings.json, whichever way it comes; PUT /_mock/config
checks its keys against the same definitions. Only what a schema cannot say is checked here: that a file can be
read, that a date exists, that a pattern compiles, that rule ids differ.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import jwt
from jwt.algorithms import RSAAlgorithm

from .contract import Contract, InvalidParameter, default_schema_dir
from .simulation.clock import parse_iso
from .simulation.rules import Rule

ENV_PREFIX = "MOCK_"
DEFAULT_PORT = 8181
SCHEMA = "control/settings"


class ConfigError(ValueError):
    """A setting has a value that cannot be used."""


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    config: str | None = None
    clock: str = "real"
    time_scale: float = 1.0
    start_time: str | None = None
    status_url: str | None = None
    inbound_url: str | None = None
    auth: str = "lenient"
    api_key: str | None = None
    api_secret: str | None = None
    public_key: str | None = None
    application_id: str | None = None
    signature_secret: str | None = None
    seed: int = 1
    state_file: str | None = None
    log_level: str = "info"
    max_body_bytes: int = 256 * 1024
    body_timeout: float = 10.0
    header_timeout: float = 10.0
    jwt_leeway: float = 30.0
    webhook_timeout: float = 5.0
    webhook_retry_base: float = 5.0
    webhook_retry_max_delay: float = 900.0
    webhook_max_attempts: int = 10
    webhook_max_pending: int = 10_000
    history_limit: int = 100_000
    control_token: str | None = None
    demo_mode: bool = False
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_self_signed: bool = False
    tls_dir: str | None = None
    rules: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    profiles: dict[str, Any] = field(default_factory=dict)
    rate_limit: float = 0.0
    rate_burst: int = 0
    rate_limits: dict[str, float] = field(default_factory=dict)
    balance: float | None = None
    webhook_allow_hosts: str | None = None


# Settings that only a config file can hold (structured values).
FILE_ONLY = frozenset({"rules", "profiles", "rate_limits"})
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")
_SHOWN_LENGTH = 60


def setting_names() -> list[str]:
    return [f.name for f in fields(Settings)]


@functools.cache
def _schema_document() -> dict[str, Any]:
    return json.loads((default_schema_dir() / f"{SCHEMA}.json").read_text(encoding="utf-8"))


def setting_schema(name: str) -> dict[str, Any]:
    """The schema of one setting, as settings.json states it (e.g. its enum, for --help)."""
    return _schema_document()["properties"][name]


@functools.cache
def _default_contract() -> Contract:
    return Contract()


def _parse(name: str, raw: str) -> Any:
    """A flag's or an environment variable's text as the setting's type; text that is not one stays text, for the
    schema to refuse in its own words. An empty text unsets a setting that has no default, and is false for a
    boolean."""
    default = getattr(Settings(), name)
    if default is None:
        return _number_or_text(name, raw) if raw else None
    kind = type(default)
    if kind is bool:
        word = raw.strip().lower()
        return True if word in _TRUE else False if word in _FALSE else raw
    try:
        number = kind(raw) if kind in (int, float) else raw
    except ValueError:
        return raw
    return number if not isinstance(number, float) or math.isfinite(number) else raw


def _number_or_text(name: str, raw: str) -> Any:
    """A setting without a default that may be a number (balance): its text as a number when it is one."""
    if "number" not in setting_schema(name).get("type", ()):
        return raw
    try:
        number = float(raw)
    except ValueError:
        return raw
    return number if math.isfinite(number) else raw


def _typed(name: str, value: Any) -> Any:
    """A value the schema accepted, in the Python type of its setting (a TOML 81.0 port is the int 81)."""
    default = getattr(Settings(), name)
    if value is None or isinstance(default, bool):
        return value
    if isinstance(default, int | float):
        return type(default)(value)
    return tuple(value) if isinstance(default, tuple) else value


@dataclass(frozen=True)
class _Layer:
    """The settings one source gives, and how to name that source in an error."""

    values: dict[str, Any]
    where: Callable[[str], str]


def _value_at(values: Any, dotted: str) -> tuple[bool, Any]:
    for part in dotted.split("."):
        if isinstance(values, dict) and part in values:
            values = values[part]
        elif isinstance(values, list) and part.isdigit() and int(part) < len(values):
            values = values[int(part)]
        else:
            return False, None
    return True, values


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _SHOWN_LENGTH else text[:_SHOWN_LENGTH - 3] + "..."


def _line(problem: InvalidParameter, values: dict[str, Any], where: Callable[[str], str]) -> str:
    """One problem as `name: reason (got value, where it came from)`."""
    found, value = _value_at(values, problem.name)
    source = where(problem.name.split(".")[0])
    got = f"got {_show(value)}, {source}" if found else source
    return f"{problem.name}: {problem.reason} ({got})"


def _refuse(problems: list[InvalidParameter], values: dict[str, Any], where: Callable[[str], str]) -> None:
    if problems:
        raise ConfigError("; ".join(_line(problem, values, where) for problem in problems))


def read_config_file(path: str) -> dict[str, Any]:
    """A TOML (*.toml) or JSON config file; keys are setting names (with `_`)."""
    file = Path(path)
    try:
        text = file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror}") from exc
    try:
        data = tomllib.loads(text.decode()) if file.suffix == ".toml" else json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path}: {_first_line(exc)}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: must hold an object/table of settings")
    return data


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def env_values(environ: Mapping[str, str]) -> dict[str, str]:
    names = set(setting_names()) - FILE_ONLY
    found = {}
    for key, value in environ.items():
        if key.startswith(ENV_PREFIX) and key[len(ENV_PREFIX):].lower() in names:
            found[key[len(ENV_PREFIX):].lower()] = value
    return found


def _layers(flags: Mapping[str, Any], environ: Mapping[str, str]) -> list[_Layer]:
    """The config file, the environment and the flags, in rising precedence; `flags` holds only given flags."""
    env = env_values(environ)
    given = {name: value for name, value in flags.items() if value is not None}
    layers = []
    config_path = given.get("config") or env.get("config")
    if config_path:
        layers.append(_Layer(read_config_file(config_path), lambda _: f"in config file {config_path}"))
    layers.append(_Layer({name: _parse(name, value) for name, value in env.items()},
                         lambda name: f"from {ENV_PREFIX}{name.upper()}"))
    layers.append(_Layer({name: _parse(name, value) if isinstance(value, str) else value
                          for name, value in given.items()},
                         _flag_source))
    return layers


def _flag_source(name: str) -> str:
    # rules and profiles have no flag: they come this way only from code (the pytest plugin's settings)
    return "as given" if name in FILE_ONLY else "from --" + name.replace("_", "-")


def load_settings(flags: Mapping[str, Any], environ: Mapping[str, str] | None = None,
                  contract: Contract | None = None) -> Settings:
    """Merge the layers: flags > environment > config file > defaults, each checked against settings.json."""
    contract = contract or _default_contract()
    merged: dict[str, Any] = {}
    origin: dict[str, Callable[[str], str]] = {}
    for layer in _layers(flags, os.environ if environ is None else environ):
        _refuse(contract.problems(SCHEMA, layer.values), layer.values, layer.where)
        merged.update(layer.values)
        origin.update(dict.fromkeys(layer.values, layer.where))
    settings = replace(Settings(), **{name: _typed(name, value) for name, value in merged.items()})
    _refuse(list(_beyond_schema(settings)), merged, lambda name: origin[name](name))
    return settings


def _beyond_schema(settings: Settings) -> Iterator[InvalidParameter]:
    """What settings.json cannot check: the start time exists, the public key can be read, the rules compile."""
    if settings.start_time is not None:
        try:
            parse_iso(settings.start_time)
        except (ValueError, OverflowError) as exc:
            yield InvalidParameter("start_time", f"is not a valid date-time: {exc}")
    if settings.public_key is not None:
        reason = _public_key_problem(settings.public_key)
        if reason:
            yield InvalidParameter("public_key", reason)
    yield from _rule_problems(settings.rules)


def _public_key_problem(path: str) -> str | None:
    """Why the file cannot serve to verify RS256 JWTs (it is read once the app starts), or None."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    except UnicodeDecodeError:
        return "is not a PEM file (it is not text)"
    try:
        RSAAlgorithm(RSAAlgorithm.SHA256).prepare_key(text)
    except (jwt.PyJWTError, ValueError, TypeError):
        return "is not a PEM RSA key"
    return None


def _rule_problems(rules: tuple[dict[str, Any], ...]) -> Iterator[InvalidParameter]:
    first_with_id: dict[str, int] = {}
    for index, rule in enumerate(rules):
        try:
            Rule.from_dict(rule)
        except re.error as exc:
            yield InvalidParameter(f"rules.{index}.match.to_pattern", f"is not a valid RE2 regular expression: {exc}")
        if "id" in rule and first_with_id.setdefault(rule["id"], index) != index:
            yield InvalidParameter(f"rules.{index}.id", f"is already the id of rules.{first_with_id[rule['id']]}")


def is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")
