"""The registry of accounts: one Backend per account (an api_key), built lazily from the mock's settings.

moto's BackendDict is the model: `accounts[key]` makes the account's backend on first use.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .applications import Application
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
        self.owners: dict[str, str] = {}  # application id -> the account that owns it
        self.on_new: list[Callable[[Backend], None]] = []  # e.g. a whole-mock event stream joins new accounts
        self._started = False

    def __getitem__(self, account: str) -> Backend:
        return self._backends.get(account) or self._build(account)

    def _build(self, account: str) -> Backend:
        backend = self._backends[account] = Backend(account, self.settings, self._store_maker(account),
                                                    self.webhook_client, self.renderers, self.owners)
        if self._started:
            self._start(backend)
        for listener in self.on_new:
            listener(backend)
        return backend

    def _start(self, backend: Backend) -> None:
        """Start an account; any but the default one first inherits the whole mock's config and rules, which the
        default account holds (what the account's own store kept then wins)."""
        if backend.account == DEFAULT_ACCOUNT:
            backend.start()
            return
        default = self.default
        backend.inherit_config(default.own_config())
        backend.start(now=default.clock.now())  # a new account's clock starts where the whole mock's is
        if not backend.rules.user and default.rules.user:
            for rule in default.rules.user:
                backend.add_rule(rule.to_dict())

    def of(self, caller: Caller) -> Backend:
        """The backend of the caller's account: the Basic api_key's, else the one that owns the JWT's application,
        else (auth off, an unknown application in lenient mode) the default one."""
        account = caller.api_key or self.owners.get(caller.application_id) or DEFAULT_ACCOUNT  # type: ignore[arg-type]
        return self._backends.get(account) or self._build(account)

    def application(self, application_id: str) -> Application | None:
        """The application of that id, in whichever account owns it."""
        account = self.owners.get(application_id)
        return self._backends[account].applications.get(application_id) if account in self._backends else None

    @property
    def default(self) -> Backend:
        return self[DEFAULT_ACCOUNT]

    def home(self) -> Backend:
        """Where an injected inbound message that names no account goes: the --api-key's account when one is set,
        else the one account in use besides `default` (a single app's), else `default`."""
        if self.settings.api_key:
            return self[self.settings.api_key]
        others = [account for account in self._backends if account != DEFAULT_ACCOUNT]
        return self[others[0]] if len(others) == 1 else self.default

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
        for backend in sorted(self, key=lambda backend: backend.account != DEFAULT_ACCOUNT):  # the default first
            self._start(backend)
        self._started = True
        self._premade_application()
        if self.state:
            self.state.report_restored(self.by_account())

    async def close(self, grace: float = 2.0) -> int:
        """Let in-flight webhook attempts finish for up to `grace` seconds; returns how many remain pending."""
        pending = await asyncio.gather(*(backend.webhooks.close(grace) for backend in self))
        return sum(pending)

    def by_account(self) -> dict[str, Backend]:
        return dict(self._backends)

    def _premade_application(self) -> None:
        """--application-id (with --public-key) is an application made at start, of the --api-key's account (else
        the default one)."""
        settings = self.settings
        if settings.application_id and settings.application_id not in self.owners:
            public_key = Path(settings.public_key).read_text() if settings.public_key else None
            body: dict[str, Any] = {"name": "mockserver", "keys": {"public_key": public_key} if public_key else {}}
            owner = self[settings.api_key or DEFAULT_ACCOUNT]
            owner.applications.create(body, application_id=settings.application_id, generate=False)
