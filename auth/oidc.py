"""OpenID Connect relying party: discovery, JWKS, the authorization-code flow with PKCE, ID token checks."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from bff.settings import OidcSettings


class OidcError(Exception):
    """Anything wrong with the provider's answer: the sign-in is refused."""


@dataclass(frozen=True)
class AuthRequest:
    url: str
    state: str
    nonce: str
    code_verifier: str


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class OidcClient:
    """Talks to the provider. Discovery and JWKS are cached; an unknown ``kid`` refetches the JWKS once."""

    def __init__(self, settings: OidcSettings, http: httpx.AsyncClient, redirect_uri: str) -> None:
        self.settings = settings
        self.http = http
        self.redirect_uri = redirect_uri
        self._metadata: dict[str, Any] | None = None
        self._jwks: jwt.PyJWKSet | None = None
        self._jwks_fetched = 0.0

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            url = f"{self.settings.issuer}/.well-known/openid-configuration"
            try:
                response = await self.http.get(url, timeout=self.settings.http_timeout)
                response.raise_for_status()
            except httpx.HTTPError as exc:
                raise OidcError("discovery failed") from exc
            data = response.json()
            if data.get("issuer") != self.settings.issuer:
                raise OidcError("issuer mismatch in discovery")
            self._metadata = data
        return self._metadata

    async def _jwk_set(self, refresh: bool = False) -> jwt.PyJWKSet:
        stale = time.monotonic() - self._jwks_fetched > 3600
        if self._jwks is None or stale or (refresh and time.monotonic() - self._jwks_fetched > 10):
            meta = await self.metadata()
            try:
                response = await self.http.get(meta["jwks_uri"], timeout=self.settings.http_timeout)
                response.raise_for_status()
                self._jwks = jwt.PyJWKSet.from_dict(response.json())
            except (httpx.HTTPError, jwt.PyJWKSetError) as exc:
                raise OidcError("jwks fetch failed") from exc
            self._jwks_fetched = time.monotonic()
        return self._jwks

    async def signing_key(self, token: str) -> jwt.PyJWK:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise OidcError("malformed token") from exc
        for refresh in (False, True):
            keys = await self._jwk_set(refresh=refresh)
            for key in keys.keys:
                if key.key_id == kid:
                    return key
        raise OidcError("unknown signing key")

    async def authorization_request(self, *, login_hint: str | None, identity_type: str) -> AuthRequest:
        meta = await self.metadata()
        state = secrets.token_urlsafe(32)
        nonce = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)
        params = {
            "response_type": "code",
            "client_id": self.settings.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.settings.scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": _s256(verifier),
            "code_challenge_method": "S256",
            "identity_type": identity_type,
        }
        if login_hint:
            params["login_hint"] = login_hint
        return AuthRequest(f"{meta['authorization_endpoint']}?{urlencode(params)}", state, nonce, verifier)

    async def exchange_code(self, code: str, code_verifier: str) -> dict[str, Any]:
        meta = await self.metadata()
        try:
            response = await self.http.post(
                meta["token_endpoint"],
                data={"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
                      "code_verifier": code_verifier},
                auth=(self.settings.client_id, self.settings.client_secret),
                timeout=self.settings.http_timeout,
            )
        except httpx.HTTPError as exc:
            raise OidcError("token endpoint unreachable") from exc
        if response.status_code != 200:
            raise OidcError(f"token endpoint answered {response.status_code}")
        tokens: dict[str, Any] = response.json()
        if "id_token" not in tokens:
            raise OidcError("no id_token")
        return tokens

    async def validate_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        key = await self.signing_key(id_token)
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token, key=key, algorithms=["RS256", "ES256"], audience=self.settings.client_id,
                issuer=self.settings.issuer, options={"require": ["iss", "aud", "exp", "iat", "sub", "nonce"]},
                leeway=30,
            )
        except jwt.PyJWTError as exc:
            raise OidcError(f"id token rejected: {type(exc).__name__}") from exc
        if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise OidcError("nonce mismatch")
        return claims

    async def end_session_url(self, post_logout_redirect_uri: str) -> str | None:
        """RP-initiated logout by ``client_id``, without ``id_token_hint``: the ID token carries the person's
        证件号码 and mobile, and this URL passes through the browser (its history, the provider's access log).
        The provider ends its session by its own cookie."""
        try:
            meta = await self.metadata()
        except OidcError:
            return None
        endpoint = meta.get("end_session_endpoint")
        if not endpoint:
            return None
        params = {"post_logout_redirect_uri": post_logout_redirect_uri, "client_id": self.settings.client_id}
        return f"{endpoint}?{urlencode(params)}"
