"""The BFF's OIDC relying party against the sandbox provider over real HTTP: what it must refuse."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from auth.oidc import OidcClient, OidcError
from bff.settings import OidcSettings
from tests.support.stack import Stack


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[OidcClient]:
    async with httpx.AsyncClient() as http:
        settings = OidcSettings(issuer=stack.sso, client_id="portal", client_secret="portal-dev-secret",
                                scopes="openid profile", http_timeout=5)
        yield OidcClient(settings, http, redirect_uri=f"{stack.portal}/auth/callback")


async def real_tokens(client: OidcClient) -> tuple[dict[str, str], str]:
    request = await client.authorization_request(login_hint="zhangwei", identity_type="person")
    answer = await client.http.get(request.url)
    assert answer.status_code in (302, 303), answer.text[:300]
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["state"] == [request.state]
    return await client.exchange_code(query["code"][0], request.code_verifier), request.nonce


async def test_a_genuine_id_token_is_accepted(client: OidcClient) -> None:
    tokens, nonce = await real_tokens(client)
    claims = await client.validate_id_token(tokens["id_token"], nonce)
    assert claims["identity_type"] == "person" and claims["name"] == "张伟"


async def test_wrong_nonce_is_refused(client: OidcClient) -> None:
    tokens, _ = await real_tokens(client)
    with pytest.raises(OidcError):
        await client.validate_id_token(tokens["id_token"], "another-nonce")


async def test_token_forged_with_another_key_is_refused(client: OidcClient) -> None:
    tokens, nonce = await real_tokens(client)
    genuine = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    kid = jwt.get_unverified_header(tokens["id_token"])["kid"]
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode({**genuine, "name": "李四"}, forger, algorithm="RS256", headers={"kid": kid})
    with pytest.raises(OidcError):
        await client.validate_id_token(forged, nonce)


async def test_expired_or_foreign_audience_is_refused(client: OidcClient, stack: Stack) -> None:
    tokens, nonce = await real_tokens(client)
    for_other_client = OidcClient(
        OidcSettings(issuer=stack.sso, client_id="someone-else", client_secret="x", scopes="openid", http_timeout=5),
        client.http, redirect_uri="unused")
    with pytest.raises(OidcError):
        await for_other_client.validate_id_token(tokens["id_token"], nonce)
    genuine = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert genuine["exp"] > time.time()
    kid = jwt.get_unverified_header(tokens["id_token"])["kid"]
    hmac_secret = "an-hmac-secret-that-is-long-enough-x"
    unsigned = jwt.encode({**genuine, "exp": int(time.time()) - 3600}, hmac_secret, algorithm="HS256",
                          headers={"kid": kid})
    with pytest.raises(OidcError):
        await client.validate_id_token(unsigned, nonce)


async def test_a_used_code_cannot_be_exchanged_again(client: OidcClient) -> None:
    request = await client.authorization_request(login_hint="zhangwei", identity_type="person")
    answer = await client.http.get(request.url)
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    await client.exchange_code(code, request.code_verifier)
    with pytest.raises(OidcError):
        await client.exchange_code(code, request.code_verifier)
