"""Every typed key of what the aiohttp application holds, in one place (the types are imported for checkers only,
so that any module may import this one)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from ..accounts import Accounts
    from ..config import Settings
    from ..contract import Contract
    from ..simulation.events import Event
    from .auth import Authenticator
    from .edge import Edge

ACCOUNTS: web.AppKey[Accounts] = web.AppKey("accounts")
CONTRACT: web.AppKey[Contract] = web.AppKey("contract")
AUTH: web.AppKey[Authenticator] = web.AppKey("auth")
SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
STARTED_AT: web.AppKey[float] = web.AppKey("started_at")
MAX_BODY_BYTES: web.AppKey[int] = web.AppKey("max_body_bytes")
EDGE: web.AppKey[Edge] = web.AppKey("edge")
OPEN_STREAMS: web.AppKey[set[asyncio.Queue[Event | None]]] = web.AppKey("open_streams")  # shutdown ends them at once
