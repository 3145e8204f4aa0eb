"""The registry of accounts: one Backend per account (an api_key), built lazily from the mock's settings.

moto's BackendDict is the model: `accounts[key]` makes the account's backend on first use.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from .backend import DEFAULT_ACCOUNT, Backend
from .config import Settings
from .memory_store import MemoryStore
from .payloads import WebhookRenderers
from .persistence import StateFile
from .simulation.store import Store
from .webhooks import WebhookClient

log = logging.getLogger("mockserver")


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent a request, as its credentials say: the Basic api_key, or the application a JWT names."""

    api_key: str | None = None
    application_id: str | None = None


ANONYMOUS = Caller()  # auth off


class Accounts:
    def __init__(self, settings: Settings, renderers: Mapping[str, WebhookRenderers]) -> None:
        self.settings = settings
        self.renderers = renderers
        self.webhook_client = WebhookClient()
        self.state = StateFile(settings.state_file) if settings.state_file else None
        self._backends: dict[str, Backend] = {}
        self._started = False

    def __getitem__(self, account: str) -> Backend:
        return self._backends.get(account) or self._build(account)

    def _build(self, account: str) -> Backend:
        backend = self._backends[account] = Backend(account, self.settings, self._store_maker(account),
                                                    self.webhook_client, self.renderers)
        if self._started:
            backend.start()
        return backend

    def of(self, caller: Caller) -> Backend:
        """The backend of the account a request's caller belongs to: for now, every caller shares the default one."""
        return self.default

    @property
    def default(self) -> Backend:
        return self[DEFAULT_ACCOUNT]

    def __iter__(self) -> Iterator[Backend]:
        return iter(list(self._backends.values()))

    def _store_maker(self, account: str) -> Callable[[Callable[[], float]], Store]:
        limit, state = self.settings.history_limit, self.state
        if state is None:
            return lambda now: MemoryStore(now, limit)
        return lambda now: state.store(account, now, limit)

    def start(self) -> None:
        """On the running loop: every account the state file holds (and the default one) resumes."""
        for account in (DEFAULT_ACCOUNT, *(self.state.accounts() if self.state else ())):
            if account not in self._backends:
                self._build(account)
        for backend in self:
            backend.start()
        self._started = True
        if self.state:
            self.state.report_restored(self.by_account())

    async def close(self, grace: float = 2.0) -> int:
        """Let in-flight webhook attempts finish for up to `grace` seconds; returns how many remain pending."""
        pending = await asyncio.gather(*(backend.webhooks.close(grace) for backend in self))
        return sum(pending)

    def by_account(self) -> dict[str, Backend]:
        return dict(self._backends)
