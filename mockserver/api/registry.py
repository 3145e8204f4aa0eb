"""What an API generation is made of (the entries themselves are in generations.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ..backend import Backend
from ..contract import InvalidParameter
from ..payloads import WebhookRenderers
from .errors import Problem

# What an endpoint does with a valid body for its account's backend (given its generation's name): its 202 answer.
Action = Callable[[Backend, Any, str], dict[str, str]]
# The channel (as the request names it, and as the simulation does) and the recipient a valid body sends to first.
Recipient = Callable[[Any], tuple[str, str, str]]


@dataclass(frozen=True, slots=True)
class Dialect:
    """How a generation reads a body and answers one that breaks its schema."""

    read: Callable[[web.Request], Awaitable[Any]]
    invalid: Callable[[list[InvalidParameter]], Problem]
    error_statuses: tuple[int, ...]  # what its endpoints may answer besides 202 (for the OpenAPI document)
    edge_problems: str = "beta"  # its bodies of 401/402/403/404/429/500/503, by key of api/edge_problems.json


@dataclass(frozen=True, slots=True)
class Endpoint:
    path: str
    schema: str  # the request schema, by its name under schemas/
    summary: str
    answer: tuple[str, ...]  # the keys of its 202 answer
    act: Action
    optional_answer: dict[str, str] = field(default_factory=dict)  # keys given only sometimes: when
    recipient: Recipient | None = None  # for the edge: faults matching a channel or `to`, rate limits, the balance


@dataclass(frozen=True, slots=True)
class Generation:
    name: str
    prefix: str
    endpoints: tuple[Endpoint, ...]
    dialect: Dialect
    webhooks: WebhookRenderers

    @property
    def has_workflow_reports(self) -> bool:
        return self.webhooks.workflow_report is not None
