"""Credentials on the emulated API: Basic key:secret and Bearer JWT (RS256), in lenient, strict or off mode."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt

from ..accounts import ANONYMOUS, Caller
from ..applications import Application
from ..config import Settings
from .errors import unauthorized

REQUIRED_CLAIMS = ("application_id", "iat", "jti")
DEFAULT_JWT_LIFETIME = 15 * 60  # tokens without `exp` count as valid for 15 minutes after `iat`
PASSED_BASIC_LIMIT = 1024  # Basic headers remembered as passed (a client sends the same one every time)


class Authenticator:
    def __init__(self, settings: Settings, applications: Callable[[str], Application | None] = lambda _: None) -> None:
        self.applications = applications  # an application by id, whichever account owns it
        self.mode = settings.auth
        self.api_key = settings.api_key
        self.api_secret = settings.api_secret
        self.application_id = settings.application_id
        self.leeway = settings.jwt_leeway
        self.public_key = Path(settings.public_key).read_text() if settings.public_key else None
        self._passed_basic: dict[str, Caller] = {}  # Basic credentials never expire, unlike JWTs

    def check(self, header: str | None) -> Caller:
        """Who the Authorization header says the caller is; a 401 Problem unless it passes in the current mode."""
        if self.mode == "off":
            return ANONYMOUS
        if not header:
            raise unauthorized("Request header 'Authorization' missing")
        passed = self._passed_basic.get(header)
        if passed is not None:
            return passed
        if not header.isascii():  # base64 and JWTs are ASCII; anything else cannot be either of them
            raise unauthorized("The Authorization header must be ASCII: 'Basic base64(api_key:api_secret)' "
                               "or 'Bearer <JWT>'")
        scheme, _, credentials = header.partition(" ")
        scheme = scheme.lower()
        credentials = credentials.strip()
        if scheme == "basic":
            caller = Caller(api_key=self._check_basic(credentials))
            if len(self._passed_basic) < PASSED_BASIC_LIMIT:
                self._passed_basic[header] = caller
            return caller
        if scheme == "bearer":
            return Caller(application_id=self._check_jwt(credentials))
        raise unauthorized("Authorization must be 'Basic base64(api_key:api_secret)' or 'Bearer <JWT>'")

    def _check_basic(self, credentials: str) -> str:
        """The api_key of valid Basic credentials."""
        try:
            key, sep, secret = base64.b64decode(credentials, validate=True).decode().partition(":")
        except ValueError:  # binascii.Error (not base64) and UnicodeDecodeError (not UTF-8) are ValueErrors
            raise unauthorized("Basic credentials are not valid base64 of 'api_key:api_secret'") from None
        if not (sep and key and secret):
            raise unauthorized("Basic credentials must be base64 of 'api_key:api_secret'")
        if self.mode == "strict" and (self.api_key is None or (key, secret) != (self.api_key, self.api_secret)):
            raise unauthorized("You did not provide correct credentials: unknown api_key or wrong api_secret")
        return key

    def _check_jwt(self, token: str) -> str | None:
        """The application_id of a JWT that passes."""
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise unauthorized(f"Invalid Token: {exc}") from None
        if self.mode != "strict":
            application = claims.get("application_id") if isinstance(claims, dict) else None
            return application if isinstance(application, str) else None
        if header.get("alg") != "RS256":
            raise unauthorized("Invalid Token: the JWT must be signed with RS256")
        public_key = self._public_key(claims)
        try:
            claims = jwt.decode(token, public_key, algorithms=["RS256"], leeway=self.leeway,
                                options={"require": list(REQUIRED_CLAIMS), "verify_aud": False})
        except jwt.PyJWTError as exc:
            raise unauthorized(f"Invalid Token: {exc}") from None
        self._check_claims(claims)
        return claims["application_id"]

    def _public_key(self, claims: Any) -> str:
        """The key that verifies the token: its application's (created through /v2/applications or --application-id
        with --public-key), else --public-key when no --application-id pins one; else a 401."""
        application_id = claims.get("application_id") if isinstance(claims, dict) else None
        app = self.applications(application_id) if isinstance(application_id, str) else None
        if app is not None:
            if app.public_key:
                return app.public_key
            raise unauthorized("Invalid Token: no public key is configured to verify JWTs (--public-key)")
        if self.public_key is not None and not self.application_id:
            return self.public_key
        raise unauthorized("Invalid Token: unknown application_id: create it with POST /v2/applications, or start "
                           "the mock with --public-key")

    def _check_claims(self, claims: dict) -> None:
        """What PyJWT does not check of a verified token: iat's type, the 15-minute default lifetime, the app."""
        iat = claims["iat"]
        if isinstance(iat, bool) or not isinstance(iat, int | float):  # PyJWT lets any int()-able value pass, "1"
            raise unauthorized("Invalid Token: iat must be a number (seconds since the epoch)")
        if "exp" not in claims and time.time() > iat + DEFAULT_JWT_LIFETIME + self.leeway:
            raise unauthorized("Invalid Token: expired (no exp claim: valid for 15 minutes after iat)")
        if iat > time.time() + self.leeway:
            raise unauthorized("Invalid Token: iat is in the future")
