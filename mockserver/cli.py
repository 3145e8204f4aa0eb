"""The `mockserver` command: settings from flags > MOCK_* environment > config file > defaults, then serve."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import fields

from . import tls
from .config import CHOICES, DEFAULT_PORT, FILE_ONLY, ConfigError, Settings, is_loopback, load_settings

HELP = {
    "host": "address to bind (default 127.0.0.1; 0.0.0.0 in the container)",
    "port": f"port to serve on (default {DEFAULT_PORT})",
    "config": "a TOML or JSON file of settings (keys as the flags, with _)",
    "clock": "real: simulated time follows the wall clock (scaled); manual: time moves only by the control API",
    "time_scale": "real clock only: wall seconds per simulated second (0.01 makes 600 s take 6 s)",
    "start_time": "ISO 8601 time the simulated clock starts at (default: now); fix it for byte-identical runs",
    "status_url": "URL that receives status webhooks and workflow final reports",
    "inbound_url": "URL that receives inbound message webhooks",
    "auth": "lenient: any well-formed Basic/Bearer header; strict: check key/secret and JWT signature; off",
    "api_key": "the api_key strict mode accepts (Basic auth); also put in signed webhooks' api_key claim",
    "api_secret": "the api_secret strict mode accepts",
    "public_key": "PEM file of the application's public key; strict mode verifies RS256 JWTs with it",
    "application_id": "strict mode: the application_id JWTs must carry (any if unset)",
    "signature_secret": "sign webhooks: Authorization: Bearer <JWT HS256> with a payload_hash claim",
    "seed": "seed of every random choice (jitter, fake inbound data, demo replies)",
    "state_file": "SQLite file that keeps messages, workflows, rules, config changes, the clock and the webhook outbox "
                  "across restarts, kill -9 included (default: state is in memory only)",
    "log_level": "debug, info (one line per request), warning or error",
    "max_body_bytes": "largest request body accepted; larger gets 413",
    "body_timeout": "seconds a request body may take to arrive (slow senders get 408)",
    "header_timeout": "seconds a request's headers may take to arrive from their first byte (slow senders get 408)",
    "jwt_leeway": "seconds of clock skew allowed on JWT times in strict mode",
    "webhook_timeout": "seconds one webhook attempt may take",
    "webhook_retry_base": "first retry delay in simulated seconds; doubles each attempt",
    "webhook_retry_max_delay": "longest retry delay in simulated seconds",
    "webhook_max_attempts": "attempts before a webhook delivery gives up",
    "webhook_max_pending": "pending deliveries per URL before new ones are logged as gave_up",
    "history_limit": "messages/workflows/deliveries kept; the oldest are pruned (and counted) past it",
    "control_token": "protect /_mock/*, the page and /openapi.json with this token",
    "demo_mode": "simulated Messenger users sometimes reply by themselves after reading",
    "tls_cert": "serve https with this PEM certificate (chain); needs --tls-key",
    "tls_key": "the PEM private key of --tls-cert",
    "tls_self_signed": "serve https with a local CA and a certificate for localhost, 127.0.0.1 and ::1 made "
                       "at start; prints the CA file and how to trust it",
    "tls_dir": "folder where --tls-self-signed keeps its CA (reused across runs) and certificate "
               "(default ./mockserver-tls)",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mockserver", description="Local mock of the Messages and Workflows APIs.",
        epilog="Every flag is also an environment variable MOCK_<NAME> (e.g. MOCK_STATUS_URL) and a config-file "
               "key (status_url). Precedence: flag > environment > config file > default.")
    defaults = Settings()
    for field in fields(Settings):
        if field.name in FILE_ONLY:
            continue
        flag = "--" + field.name.replace("_", "-")
        default = getattr(defaults, field.name)
        kwargs = {"dest": field.name, "default": None, "help": f"{HELP[field.name]} [env MOCK_{field.name.upper()}]"}
        if isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, **kwargs)
        else:
            kwargs["choices"] = CHOICES.get(field.name)
            parser.add_argument(flag, metavar=field.name.upper() if not kwargs["choices"] else None, **kwargs)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(vars(args))
        server_tls = tls.server_tls(settings)
    except ConfigError as exc:
        sys.exit(f"mockserver: {exc}")
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not is_loopback(settings.host) and not settings.control_token:
        logging.getLogger("mockserver").warning(
            "serving on %s without a control token: anyone who can reach it can drive the mock "
            "(set --control-token)", settings.host)
    if server_tls and server_tls.ca:
        print(tls.trust_instructions(server_tls.ca, settings.port), flush=True)
    from .access_log import AccessLogger
    from .app import create_app
    from .gc_tuning import tune_gc
    from .http_server import serve

    try:
        app = create_app(settings)
    except ConfigError as exc:  # e.g. a state file another mock holds
        sys.exit(f"mockserver: {exc}")
    tune_gc()
    serve(app, host=settings.host, port=settings.port, access_log_class=AccessLogger,
          announce=lambda: logging.getLogger("mockserver").info(
              "serving the Messages API mock on %s://%s:%d (clock %s, auth %s)",
              "https" if server_tls else "http", settings.host, settings.port, settings.clock, settings.auth),
          shutdown_timeout=3.0, ssl_context=server_tls.context if server_tls else None,
          header_timeout=settings.header_timeout)
