"""Service tokens for the provincial API: OAuth client credentials from the SSO provider, cached until near expiry."""

from __future__ import annotations

import asyncio
import time

import httpx

from auth.oidc import OidcClient, OidcError


class ServiceTokenProvider:
    def __init__(self, oidc: OidcClient, audience: str, refresh_margin: float = 30.0) -> None:
        self.oidc = oidc
        self.audience = audience
        self.refresh_margin = refresh_margin
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        if self._token and time.monotonic() < self._expires_at - self.refresh_margin:
            return self._token
        async with self._lock:
            if self._token and time.monotonic() < self._expires_at - self.refresh_margin:
                return self._token
            meta = await self.oidc.metadata()
            settings = self.oidc.settings
            try:
                response = await self.oidc.http.post(
                    meta["token_endpoint"],
                    data={"grant_type": "client_credentials", "audience": self.audience},
                    auth=(settings.client_id, settings.client_secret),
                    timeout=settings.http_timeout,
                )
            except httpx.HTTPError as exc:
                raise OidcError("token endpoint unreachable") from exc
            if response.status_code != 200:
                raise OidcError(f"client credentials refused: {response.status_code}")
            body = response.json()
            self._token = str(body["access_token"])
            self._expires_at = time.monotonic() + float(body.get("expires_in", 60))
            return self._token

    def invalidate(self) -> None:
        self._token = None
