"""Minting and checking the provider's JWTs (ID tokens, user access tokens, service tokens)."""

from __future__ import annotations

import secrets
from typing import Any

import jwt

from sandbox.seed import LegalEntity, Person
from sandbox.sso.keys import SigningKey
from sandbox.sso.settings import (
    ACCESS_TOKEN_TTL,
    ID_TOKEN_TTL,
    SERVICE_AUDIENCE,
    SERVICE_TOKEN_TTL,
    SsoSettings,
)
from sandbox.sso.state import Clock


def identity_claims(identity: Person | LegalEntity) -> dict[str, Any]:
    """The identity part of the ID token and of /userinfo (docs/sso.md, "Claims of the ID token")."""
    if isinstance(identity, Person):
        return {
            "sub": identity.sub,
            "identity_type": "person",
            "name": identity.name,
            "id_type": identity.id_type,
            "id_number": identity.id_number,
            "phone_number": identity.phone,
        }
    return {
        "sub": identity.sub,
        "identity_type": "legal_entity",
        "name": identity.unit.name,
        "uscc": identity.unit.uscc,
        "agent_name": identity.agent_name,
    }


class TokenIssuer:
    def __init__(self, settings: SsoSettings, key: SigningKey, clock: Clock) -> None:
        self._settings = settings
        self._key = key
        self._clock = clock

    def _sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._key.private_key, algorithm="RS256", headers={"kid": self._key.kid})

    def id_token(self, identity: Person | LegalEntity, *, client_id: str, nonce: str, auth_time: int, sid: str) -> str:
        now = int(self._clock())
        claims = {
            "iss": self._settings.issuer,
            "aud": client_id,
            "iat": now,
            "exp": now + ID_TOKEN_TTL,
            "nonce": nonce,
            "auth_time": auth_time,
            "sid": sid,
            **identity_claims(identity),
        }
        return self._sign(claims)

    def access_token(self, identity: Person | LegalEntity, *, client_id: str, sid: str) -> str:
        """A user access token, good only for /userinfo (its audience is the userinfo endpoint)."""
        now = int(self._clock())
        return self._sign(
            {
                "iss": self._settings.issuer,
                "aud": self._settings.userinfo_audience,
                "sub": identity.sub,
                "client_id": client_id,
                "scope": "openid",
                "sid": sid,
                "iat": now,
                "exp": now + ACCESS_TOKEN_TTL,
                "jti": secrets.token_urlsafe(16),
            }
        )

    def service_token(self, client_id: str) -> str:
        now = int(self._clock())
        return self._sign(
            {
                "iss": self._settings.issuer,
                "aud": SERVICE_AUDIENCE,
                "sub": client_id,
                "client_id": client_id,
                "iat": now,
                "exp": now + SERVICE_TOKEN_TTL,
                "jti": secrets.token_urlsafe(16),
            }
        )

    def verify_access_token(self, token: str) -> dict[str, Any] | None:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key.public_key,
                algorithms=["RS256"],
                audience=self._settings.userinfo_audience,
                issuer=self._settings.issuer,
                options={"require": ["exp", "iat", "sub"]},
            )
        except jwt.PyJWTError:
            return None
        return claims

    def read_id_token_hint(self, token: str) -> dict[str, Any] | None:
        """An ID token this provider issued, expired or not (as OIDC RP-initiated logout allows)."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key.public_key,
                algorithms=["RS256"],
                issuer=self._settings.issuer,
                options={"verify_exp": False, "verify_aud": False},
            )
        except jwt.PyJWTError:
            return None
        return claims
