"""With a state file, a request is answered only once what it changed is in the file (so a 202 survives kill -9)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from ..persistence import StateFile, StateFileError
from .errors import API_ERRORS, Handler, Problem

log = logging.getLogger("mockserver.state")


def commit_middleware(state: StateFile) -> Callable[[web.Request, Handler], Any]:
    @web.middleware
    async def commit_first(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)  # handlers answer their own problems
        try:
            await state.committed()
        except StateFileError as exc:  # e.g. the disk is full, or shutdown closed the file
            log.error("%s %s not confirmed: %s", request.method, request.path, exc)
            return Problem(503, f"{API_ERRORS}#state-file", "State file unavailable",
                           f"What this request changed could not be saved: {exc}").response()
        return response

    return commit_first
