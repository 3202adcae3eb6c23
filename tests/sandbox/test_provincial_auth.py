"""Service tokens at the provincial API: only the SSO provider's RS256 tokens for ``provincial-api`` pass."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.provincial.auth import ServiceTokenVerifier
from sandbox.provincial.errors import ApiError
from sandbox.sso.keys import load_or_create
from tests.sandbox.conftest import service_token
from tests.sandbox.helpers import CLIENT, LiveServer, pkce_pair


def _claims(issuer: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": "provincial-api",
        "sub": "portal",
        "client_id": "portal",
        "iat": now,
        "exp": now + 300,
        "jti": "t1",
    }
    claims.update(overrides)
    return claims


def _sso_signed(live_sso: LiveServer, **overrides: Any) -> str:
    assert live_sso.data_dir is not None
    key = load_or_create(live_sso.data_dir)
    return jwt.encode(_claims(live_sso.url, **overrides), key.private_key, algorithm="RS256", headers={"kid": key.kid})


def _call(live_provincial: LiveServer, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.get(f"{live_provincial.url}/api/agencies", headers=headers)


def test_a_service_token_from_the_provider_is_accepted(live_provincial: LiveServer, live_sso: LiveServer) -> None:
    response = _call(live_provincial, service_token(live_sso.url))
    assert response.status_code == 200


def _assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["code"] == "unauthorized" and body["message"] and body["field"] is None


def test_missing_token(live_provincial: LiveServer) -> None:
    _assert_unauthorized(_call(live_provincial, None))
    _assert_unauthorized(httpx.get(f"{live_provincial.url}/api/agencies", headers={"Authorization": "Basic eA=="}))


def test_garbage_token(live_provincial: LiveServer) -> None:
    _assert_unauthorized(_call(live_provincial, "not-a-jwt"))


def test_forged_token_with_the_providers_kid(live_provincial: LiveServer, live_sso: LiveServer) -> None:
    assert live_sso.data_dir is not None
    kid = load_or_create(live_sso.data_dir).kid
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(_claims(live_sso.url), forger, algorithm="RS256", headers={"kid": kid})
    _assert_unauthorized(_call(live_provincial, token))


def test_forged_token_with_an_unknown_kid(live_provincial: LiveServer, live_sso: LiveServer) -> None:
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(_claims(live_sso.url), forger, algorithm="RS256", headers={"kid": "made-up"})
    _assert_unauthorized(_call(live_provincial, token))


def test_hs256_token_is_rejected(live_provincial: LiveServer, live_sso: LiveServer) -> None:
    token = jwt.encode(_claims(live_sso.url), "portal-dev-secret-but-long-enough-for-hs256", algorithm="HS256")
    _assert_unauthorized(_call(live_provincial, token))


def test_expired_token(live_provincial: LiveServer, live_sso: LiveServer) -> None:
    now = int(time.time())
    response = _call(live_provincial, _sso_signed(live_sso, iat=now - 600, exp=now - 60))
    _assert_unauthorized(response)
    assert "过期" in response.json()["message"]


@pytest.mark.parametrize("overrides", [{"aud": "portal"}, {"aud": "other-api"}, {"iss": "http://evil.example"}])
def test_wrong_audience_or_issuer(live_provincial: LiveServer, live_sso: LiveServer, overrides: dict[str, Any]) -> None:
    _assert_unauthorized(_call(live_provincial, _sso_signed(live_sso, **overrides)))


def test_an_id_token_is_not_a_service_token(live_provincial: LiveServer, live_sso: LiveServer) -> None:
    verifier, challenge = pkce_pair()
    authorize = httpx.get(
        f"{live_sso.url}/authorize",
        params={
            "response_type": "code",
            "client_id": "portal",
            "redirect_uri": "http://127.0.0.1:8000/auth/callback",
            "scope": "openid",
            "state": "s",
            "nonce": "n",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "login_hint": "zhangwei",
        },
    )
    code = httpx.URL(authorize.headers["location"]).params["code"]
    tokens = httpx.post(
        f"{live_sso.url}/token",
        auth=CLIENT,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": "http://127.0.0.1:8000/auth/callback",
        },
    ).json()
    _assert_unauthorized(_call(live_provincial, tokens["id_token"]))
    _assert_unauthorized(_call(live_provincial, tokens["access_token"]))


class _FakeProvider:
    """Serves discovery and JWKS from memory and counts fetches (exercises the verifier's key cache)."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.fetches = 0

    def add_key(self, kid: str) -> rsa.RSAPrivateKey:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return self.keys[kid]

    async def fetch(self, url: str) -> Any:
        self.fetches += 1
        if url.endswith("/.well-known/openid-configuration"):
            return {"issuer": "http://sso.test", "jwks_uri": "http://sso.test/jwks.json"}
        import json

        return {
            "keys": [
                {
                    **json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(k.public_key())),
                    "kid": kid,
                    "use": "sig",
                    "alg": "RS256",
                }
                for kid, k in self.keys.items()
            ]
        }


async def test_verifier_caches_keys_and_refetches_on_unknown_kid(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = _FakeProvider()
    first = provider.add_key("k1")
    verifier = ServiceTokenVerifier("http://sso.test", "provincial-api", provider.fetch)
    token = jwt.encode(_claims("http://sso.test"), first, algorithm="RS256", headers={"kid": "k1"})
    assert (await verifier.verify(token))["sub"] == "portal"
    assert (await verifier.verify(token))["sub"] == "portal"
    assert provider.fetches == 2  # discovery + JWKS, once

    second = provider.add_key("k2")  # the provider rotates its key
    monkeypatch.setattr("sandbox.provincial.auth.REFETCH_INTERVAL", 0.0)
    rotated = jwt.encode(_claims("http://sso.test"), second, algorithm="RS256", headers={"kid": "k2"})
    assert (await verifier.verify(rotated))["sub"] == "portal"
    assert provider.fetches == 4


async def test_verifier_without_reachable_provider_answers_503() -> None:
    async def unreachable(url: str) -> Any:
        raise httpx.ConnectError("refused")

    verifier = ServiceTokenVerifier("http://sso.test", "provincial-api", unreachable)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(_claims("http://sso.test"), key, algorithm="RS256", headers={"kid": "k1"})
    with pytest.raises(ApiError) as caught:
        await verifier.verify(token)
    assert caught.value.status_code == 503 and caught.value.code == "unavailable"
