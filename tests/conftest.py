"""Shared fixtures: the mock behind a real aiohttp test server, and real webhook receivers on real ports."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from hypothesis import settings

from mockserver.app import create_app
from mockserver.config import Settings
from mockserver.contract import Contract

from .support import Receiver

# Property tests draw the same examples on every run, so CI is repeatable; HYPOTHESIS_PROFILE=explore draws new ones.
settings.register_profile("deterministic", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


@pytest.fixture(scope="session")
def contract() -> Contract:
    return Contract()


@pytest.fixture
async def receiver(aiohttp_server: Callable[..., Awaitable[Any]]) -> Receiver:
    recv = Receiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", recv.handle)
    server = await aiohttp_server(app)
    recv.base_url = str(server.make_url("")).rstrip("/")
    return recv


MakeMock = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def make_mock(aiohttp_client: Callable[..., Awaitable[TestClient]], contract: Contract) -> MakeMock:
    """Start the mock (manual clock by default) with the given settings; returns an aiohttp test client."""

    async def make(**overrides: Any) -> TestClient:
        settings = replace(Settings(clock="manual", port=0), **overrides)
        return await aiohttp_client(create_app(settings, contract=contract))

    return make


@pytest.fixture
async def mock(make_mock: MakeMock) -> TestClient:
    return await make_mock()
