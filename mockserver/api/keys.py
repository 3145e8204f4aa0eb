"""Typed keys for what the application holds."""

from aiohttp import web

from ..config import Settings
from ..contract import Contract
from ..mock import Mock
from .auth import Authenticator

MOCK = web.AppKey("mock", Mock)
CONTRACT = web.AppKey("contract", Contract)
AUTH = web.AppKey("auth", Authenticator)
SETTINGS = web.AppKey("settings", Settings)
STARTED_AT = web.AppKey("started_at", float)
