"""Which account a control-API request addresses: `?account=KEY` or the header `X-Mock-Account: KEY`.

None means the whole mock. The accounts issue makes every /_mock/* endpoint honour it; faults, rate limits and
balance read the same value, so there is one way to name an account.
"""

from __future__ import annotations

from aiohttp import web

from ..contract import InvalidParameter
from .errors import API_ERRORS, Problem

ACCOUNT_HEADER = "X-Mock-Account"
MAX_ACCOUNT_CHARS = 128


def requested_account(request: web.Request) -> str | None:
    """The account named by the request, or None for the whole mock; a 400 for a name no api_key can have."""
    raw = request.query.get("account") or request.headers.get(ACCOUNT_HEADER) or None
    if raw is None:
        return None
    if len(raw) > MAX_ACCOUNT_CHARS or not raw.isprintable() or raw != raw.strip():
        raise Problem(400, f"{API_ERRORS}#invalid-account", "Invalid account",
                      f"An account is an api_key: 1 to {MAX_ACCOUNT_CHARS} printable characters, no surrounding "
                      "spaces.", [InvalidParameter("account", "is not a valid api_key")])
    return raw
