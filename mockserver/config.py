"""The settings object, and the one place that reads flags, environment variables and config files."""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "MOCK_"
DEFAULT_PORT = 8181


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


CHOICES: dict[str, tuple[str, ...]] = {
    "clock": ("real", "manual"),
    "auth": ("lenient", "strict", "off"),
    "log_level": ("debug", "info", "warning", "error"),
}

POSITIVE = frozenset({"time_scale", "webhook_timeout", "body_timeout", "webhook_retry_base", "webhook_retry_max_delay",
                      "max_body_bytes", "webhook_max_attempts", "webhook_max_pending", "history_limit",
                      "header_timeout"})
NON_NEGATIVE = frozenset({"jwt_leeway"})

# Settings that only a config file can hold (structured values).
FILE_ONLY = frozenset({"rules", "profiles"})


def setting_names() -> list[str]:
    return [f.name for f in fields(Settings)]


def _coerce(name: str, value: Any) -> Any:
    """Turn a raw value (a string from env/flags, or a parsed file value) into the setting's type."""
    default = getattr(Settings(), name)
    kind = type(default) if default is not None else str
    if value is None:
        return None
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("1", "true", "yes", "on"):
                return True
            if str(value).lower() in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(value)
        if kind is tuple:
            return tuple(value)
        coerced = kind(value) if kind in (int, float, str) else value
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name}: {value!r} is not a valid {kind.__name__}") from exc
    if name in CHOICES and coerced not in CHOICES[name]:
        raise ConfigError(f"{name}: {coerced!r} must be one of {', '.join(CHOICES[name])}")
    if name in POSITIVE and not coerced > 0:
        raise ConfigError(f"{name}: {coerced!r} must be greater than 0")
    if name in NON_NEGATIVE and not coerced >= 0:
        raise ConfigError(f"{name}: {coerced!r} must not be negative")
    if name == "port" and not 0 <= coerced <= 65535:
        raise ConfigError(f"port: {coerced!r} must be from 0 to 65535")
    return coerced


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
        raise ConfigError(f"config file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: must hold an object/table of settings")
    unknown = sorted(set(data) - set(setting_names()))
    if unknown:
        raise ConfigError(f"config file {path}: unknown settings {', '.join(unknown)}")
    return data


def env_values(environ: Mapping[str, str]) -> dict[str, str]:
    names = set(setting_names()) - FILE_ONLY
    found = {}
    for key, value in environ.items():
        if key.startswith(ENV_PREFIX) and key[len(ENV_PREFIX):].lower() in names:
            found[key[len(ENV_PREFIX):].lower()] = value
    return found


def load_settings(flags: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
    """Merge the layers: flags > environment > config file > defaults. `flags` holds only given flags."""
    environ = os.environ if environ is None else environ
    env = env_values(environ)
    config_path = flags.get("config") or env.get("config")
    layers: dict[str, Any] = {}
    if config_path:
        layers.update(read_config_file(config_path))
        layers["config"] = config_path
    layers.update(env)
    layers.update({k: v for k, v in flags.items() if v is not None})
    return replace(Settings(), **{name: _coerce(name, value) for name, value in layers.items()})


def is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")
