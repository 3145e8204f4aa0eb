"""The `mockserver` command: settings from flags > MOCK_* environment > config file > defaults, then serve.

A setting that cannot be used, at any step of the start, ends the command with one line on stderr naming it, and
exit status 2.
"""

from __future__ import annotations

import argparse
import errno
import logging
import socket
import sys
from dataclasses import fields
from typing import Any, NoReturn

from . import tls
from .config import FILE_ONLY, ConfigError, Settings, is_loopback, load_settings, setting_schema
from .contract import Contract

EXIT_BAD_SETTING = 2

HELP = {
    "host": "address to bind",
    "port": "port to serve on; 0 picks a free one",
    "config": "a TOML or JSON file of settings (keys as the flags, with _)",
    "clock": "real: simulated time follows the wall clock (scaled); manual: time moves only by the control API",
    "time_scale": "real clock only: wall seconds per simulated second (0.01 makes 600 s take 6 s)",
    "start_time": "ISO 8601 time the simulated clock starts at; fix it for byte-identical runs",
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
                  "across restarts, kill -9 included",
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
    "tls_dir": "folder where --tls-self-signed keeps its CA (reused across runs) and certificate",
    "rate_limit": "requests per simulated second per account; more get 429 with Retry-After (0: off)",
    "rate_burst": "requests an account may send at once before the rate limit applies (0: the rate, at least 1)",
    "balance": "EUR each account has to spend; a send it cannot cover gets 402",
    "webhook_allow_hosts": "comma-separated hosts a /v1 request's webhook_url may name (* is any)",
}


# The default of each setting without a value of its own (None), as --help tells it.
UNSET_DEFAULTS = {
    "host": "127.0.0.1; the container image sets 0.0.0.0",
    "config": "none",
    "start_time": "now",
    "status_url": "none: no status webhooks",
    "inbound_url": "none: no inbound webhooks",
    "api_key": "none: strict mode refuses Basic auth",
    "api_secret": "none",
    "public_key": "none: strict mode refuses JWTs",
    "application_id": "none: any",
    "signature_secret": "none: webhooks are not signed",
    "state_file": "none: state is in memory only",
    "control_token": "none: no token asked",
    "webhook_allow_hosts": "any host when listening on loopback, else the hosts of configured webhook URLs",
    "tls_cert": "none: plain http",
    "tls_key": "none",
    "tls_dir": f"./{tls.DEFAULT_DIR}",
    "balance": "none: unlimited",
}


def shown_default(name: str) -> str:
    """The default of a setting as --help shows it."""
    default = getattr(Settings(), name)
    if name in UNSET_DEFAULTS:
        return UNSET_DEFAULTS[name]
    if isinstance(default, bool):
        return "on" if default else "off"
    return f"{default:g}" if isinstance(default, float) else str(default)


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error on one line like every other start-up error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_SETTING, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mockserver", description="Local mock of the Messages and Workflows APIs.",
        epilog="Every flag is also an environment variable MOCK_<NAME> (e.g. MOCK_STATUS_URL) and a config-file "
               "key (status_url). Precedence: flag > environment > config file > default. An empty value leaves "
               "a setting whose default is none unset. Every value is checked by schemas/control/settings.json.")
    for field in fields(Settings):
        if field.name in FILE_ONLY:
            continue
        flag = "--" + field.name.replace("_", "-")
        kwargs: dict[str, Any] = {
            "dest": field.name, "default": None,
            "help": f"{HELP[field.name]} (default: {shown_default(field.name)}) [env MOCK_{field.name.upper()}]"}
        if isinstance(getattr(Settings(), field.name), bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, **kwargs)
        else:
            choices = setting_schema(field.name).get("enum")
            metavar = "{" + ",".join(choices) + "}" if choices else field.name.upper()
            parser.add_argument(flag, metavar=metavar, **kwargs)
    return parser


def _fail(message: str) -> NoReturn:
    print(f"mockserver: {message}", file=sys.stderr, flush=True)
    raise SystemExit(EXIT_BAD_SETTING)


def check_bindable(host: str, port: int) -> None:
    """Bind each address of host:port once and let go, as the server will: a taken port or a host that is not
    this machine's is told before the app starts (and logs its start and stop). Raises OSError."""
    for family, kind, proto, _, address in set(socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                                                   flags=socket.AI_PASSIVE)):
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio's create_server does
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)


def bind_problem(exc: OSError, host: str, port: int) -> str:
    """The one line telling why the server cannot listen on host:port."""
    reason = exc.strerror or str(exc)
    if isinstance(exc, socket.gaierror):
        return f"host: cannot resolve {host!r} ({reason}); give a name or address of this machine with --host"
    if exc.errno == errno.EADDRINUSE:
        return f"port: {port} is already in use on {host}; choose another with --port"
    if exc.errno == errno.EACCES:
        return f"port: {port} on {host} is not allowed for this user ({reason}); choose another with --port"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"host: {host} is not an address of this machine ({reason}); choose another with --host"
    return f"host, port: cannot serve on {host}:{port} ({reason})"


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    contract = Contract()
    try:
        settings = load_settings(vars(args), contract=contract)
    except ConfigError as exc:
        _fail(str(exc))
    try:
        check_bindable(settings.host, settings.port)
    except OSError as exc:
        _fail(bind_problem(exc, settings.host, settings.port))
    try:
        server_tls = tls.server_tls(settings)
    except ConfigError as exc:
        _fail(str(exc))
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not is_loopback(settings.host) and not settings.control_token:
        logging.getLogger("mockserver").warning(
            "serving on %s without a control token: anyone who can reach it can drive the mock "
            "(set --control-token)", settings.host)
    if server_tls and server_tls.ca:
        print(tls.trust_instructions(server_tls.ca, settings.port), flush=True)
    _serve(settings, contract, server_tls)


def _serve(settings: Settings, contract: Contract, server_tls: tls.ServerTls | None) -> None:
    from .access_log import AccessLogger
    from .app import create_app
    from .gc_tuning import tune_gc
    from .http_server import serve

    try:
        app = create_app(settings, contract=contract)
    except ConfigError as exc:  # e.g. a state file another mock holds
        _fail(str(exc))
    tune_gc()
    try:
        serve(app, host=settings.host, port=settings.port, access_log_class=AccessLogger,
              announce=lambda: logging.getLogger("mockserver").info(
                  "serving the Messages API mock on %s://%s:%d (clock %s, auth %s)",
                  "https" if server_tls else "http", settings.host, settings.port, settings.clock, settings.auth),
              shutdown_timeout=3.0, ssl_context=server_tls.context if server_tls else None,
              header_timeout=settings.header_timeout)
    except OSError as exc:  # the port was taken after check_bindable let it go
        _fail(bind_problem(exc, settings.host, settings.port))
    except ConfigError as exc:  # e.g. a state file whose records cannot be read
        _fail(str(exc))
