"""Service tokens: RS256 JWTs from the SSO provider, checked against its discovery document and JWKS."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

import httpx
import jwt
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from sandbox.provincial.errors import ApiError

log = logging.getLogger("sandbox.provincial")

FetchJson = Callable[[str], Awaitable[Any]]
REFETCH_INTERVAL = 5.0  # an unknown kid refetches the JWKS at most this often
LEEWAY = 5


async def fetch_json(url: str) -> Any:
    async with httpx.AsyncClient(timeout=5.0) as client:
        response = await client.get(url)
        response.raise_for_status()
        return response.json()


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


class ServiceTokenVerifier:
    """Caches the provider's keys; a token signed with a key it does not know makes it look again."""

    def __init__(self, issuer: str, audience: str, fetch: FetchJson = fetch_json) -> None:
        self.issuer = issuer
        self.audience = audience
        self._fetch = fetch
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def _refresh(self) -> None:
        self._fetched_at = time.monotonic()
        discovery = await self._fetch(f"{self.issuer}/.well-known/openid-configuration")
        if not isinstance(discovery, dict) or discovery.get("issuer") != self.issuer:
            raise ValueError("the discovery document names another issuer")
        document = await self._fetch(str(discovery["jwks_uri"]))
        keys: dict[str, jwt.PyJWK] = {}
        for entry in document.get("keys", []) if isinstance(document, dict) else []:
            if entry.get("kty") == "RSA" and entry.get("use", "sig") == "sig" and entry.get("kid"):
                keys[str(entry["kid"])] = jwt.PyJWK(entry, algorithm="RS256")
        self._keys = keys

    async def _key(self, kid: str) -> jwt.PyJWK | None:
        if kid in self._keys:
            return self._keys[kid]
        async with self._lock:  # concurrent first requests wait for the one fetch instead of failing
            stale = self._fetched_at is None or time.monotonic() - self._fetched_at >= REFETCH_INTERVAL
            if kid not in self._keys and stale:
                try:
                    await self._refresh()
                except (httpx.HTTPError, ValueError, KeyError, TypeError, jwt.PyJWTError) as exc:
                    log.warning("cannot fetch the SSO provider's keys: %s", type(exc).__name__)
                    if not self._keys:
                        message = "暂时无法连接统一认证，不能校验服务令牌，请稍后再试"
                        raise ApiError(503, "unavailable", message) from exc
        return self._keys.get(kid)

    async def verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise _unauthorized("服务令牌格式不正确") from exc
        kid = header.get("kid")
        if header.get("alg") != "RS256" or not isinstance(kid, str):
            raise _unauthorized("服务令牌必须使用 RS256 签名并带有 kid")
        key = await self._key(kid)
        if key is None:
            raise _unauthorized("服务令牌的签名密钥不是统一认证发布的")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise _unauthorized("服务令牌已过期") from exc
        except jwt.InvalidAudienceError as exc:
            raise _unauthorized("服务令牌不是签发给省级系统的") from exc
        except jwt.InvalidIssuerError as exc:
            raise _unauthorized("服务令牌不是统一认证签发的") from exc
        except jwt.InvalidSignatureError as exc:
            raise _unauthorized("服务令牌签名无效") from exc
        except jwt.PyJWTError as exc:
            raise _unauthorized("服务令牌无效") from exc
        return claims


async def service_token_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    header = connection.headers.get("authorization", "")
    if header[:7].lower() != "bearer " or not header[7:].strip():
        raise ApiError(401, "unauthorized", "缺少服务令牌", headers={"WWW-Authenticate": "Bearer"})
    verifier = cast(ServiceTokenVerifier, connection.app.state.verifier)
    await verifier.verify(header[7:].strip())
