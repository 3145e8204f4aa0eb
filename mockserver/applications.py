"""One account's applications (the Applications API v2 records) and their RSA keys; nothing here knows HTTP.

An application owns webhook URLs (`capabilities.messages.webhooks`), the shape of its webhooks
(`capabilities.messages.version`) and the public key its JWTs are verified with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .ids import new_uuid

KEY_BITS = 2048


def generate_key_pair() -> tuple[str, str]:
    """(private PEM in PKCS#8, public PEM), as the platform hands out."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    private_pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode()
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private_pem, public_pem


@dataclass(slots=True)
class Application:
    id: str
    name: str
    capabilities: dict[str, Any] = field(default_factory=dict)
    privacy: dict[str, Any] = field(default_factory=dict)
    public_key: str | None = None
    private_key: str | None = None  # kept (the state file holds it) but shown only in the create answer

    def _webhook(self, name: str) -> str | None:
        hook = ((self.capabilities.get("messages") or {}).get("webhooks") or {}).get(name) or {}
        return hook.get("address") or None

    @property
    def status_url(self) -> str | None:
        return self._webhook("status_url")

    @property
    def inbound_url(self) -> str | None:
        return self._webhook("inbound_url")

    @property
    def version(self) -> str | None:
        """The API generation whose webhook shapes its messages get: "v1" or "v0.1" (None: the sending path's)."""
        return (self.capabilities.get("messages") or {}).get("version")

    def to_record(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "capabilities": self.capabilities, "privacy": self.privacy,
                "public_key": self.public_key, "private_key": self.private_key}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Application:
        return cls(**record)


class Applications:
    """An account's applications, in creation order; `owners` (application id → account) is shared by all
    accounts, so a JWT's application finds its account with one lookup."""

    def __init__(self, account: str, owners: dict[str, str], save: Callable[[list[dict[str, Any]]], None]) -> None:
        self.account = account
        self.owners = owners
        self._save = save
        self._apps: dict[str, Application] = {}

    def __iter__(self) -> Iterator[Application]:
        return iter(list(self._apps.values()))

    def __len__(self) -> int:
        return len(self._apps)

    def get(self, application_id: str | None) -> Application | None:
        return self._apps.get(application_id) if application_id else None

    def create(self, body: dict[str, Any], application_id: str | None = None, generate: bool = True) -> Application:
        """A new application from a validated body; without `keys.public_key`, a generated key pair."""
        public_key = (body.get("keys") or {}).get("public_key")
        private_key = None
        if not public_key and generate:
            private_key, public_key = generate_key_pair()
        app = Application(id=application_id or new_uuid(), name=body["name"],
                          capabilities=body.get("capabilities") or {}, privacy=body.get("privacy") or {},
                          public_key=public_key, private_key=private_key)
        self._add(app)
        self._changed()
        return app

    def replace(self, application_id: str, body: dict[str, Any]) -> Application | None:
        """PUT: name and capabilities replaced; privacy and a given public key too."""
        app = self._apps.get(application_id)
        if app is None:
            return None
        app.name, app.capabilities = body["name"], body.get("capabilities") or {}
        if "privacy" in body:
            app.privacy = body["privacy"]
        public_key = (body.get("keys") or {}).get("public_key")
        if public_key and public_key != app.public_key:
            app.public_key, app.private_key = public_key, None
        self._changed()
        return app

    def delete(self, application_id: str) -> bool:
        if self._apps.pop(application_id, None) is None:
            return False
        self.owners.pop(application_id, None)
        self._changed()
        return True

    def restore(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            self._add(Application.from_record(record))

    def _add(self, app: Application) -> None:
        self._apps[app.id] = app
        self.owners[app.id] = self.account

    def _changed(self) -> None:
        self._save([app.to_record() for app in self._apps.values()])

    def has_webhooks(self) -> bool:
        return any(app.status_url for app in self._apps.values())
