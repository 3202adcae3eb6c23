"""The sandbox OIDC provider: code flow with PKCE, tokens, sessions and logout (docs/sso.md)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from litestar.testing import TestClient

from sandbox.seed import person_by_username
from sandbox.sso import SsoSettings
from sandbox.sso import create_app as create_sso
from tests.sandbox.conftest import FakeClock
from tests.sandbox.helpers import CLIENT, REDIRECT_URI, pkce_pair

ISSUER = "http://127.0.0.1:8100"


def authorize(client: TestClient, challenge: str, **params: str) -> Any:
    query = {
        "response_type": "code",
        "client_id": "portal",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "state": "st-123",
        "nonce": "n-456",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **params,
    }
    return client.get("/authorize", params={k: v for k, v in query.items() if v is not None})


def redirect_params(response: Any) -> dict[str, str]:
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def sign_in_via_page(client: TestClient, challenge: str, username: str, **params: str) -> dict[str, str]:
    page = authorize(client, challenge, **params)
    assert page.status_code == 200
    tx = re.search(r'name="tx" value="([^"]+)"', page.text)
    assert tx
    response = client.post("/login", data={"tx": tx.group(1), "username": username})
    assert response.status_code == 303
    return redirect_params(response)


def exchange(client: TestClient, code: str, verifier: str, **overrides: Any) -> Any:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier}
    auth = overrides.pop("auth", CLIENT)
    data.update(overrides)
    return client.post("/token", data=data, auth=auth)


def verify_id_token(client: TestClient, token: str) -> dict[str, Any]:
    jwks = client.get("/jwks.json").json()
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(jwt.PyJWK(k) for k in jwks["keys"] if k["kid"] == kid)
    return jwt.decode(token, key, algorithms=["RS256"], audience="portal", issuer=ISSUER)


def test_discovery_and_jwks(sso: TestClient) -> None:
    doc = sso.get("/.well-known/openid-configuration").json()
    assert doc["issuer"] == ISSUER
    assert doc["authorization_endpoint"] == f"{ISSUER}/authorize"
    assert doc["token_endpoint"] == f"{ISSUER}/token"
    assert doc["jwks_uri"] == f"{ISSUER}/jwks.json"
    assert doc["userinfo_endpoint"] == f"{ISSUER}/userinfo"
    assert doc["end_session_endpoint"] == f"{ISSUER}/logout"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    keys = sso.get("/jwks.json").json()["keys"]
    assert len(keys) == 1 and keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256" and keys[0]["kid"]
    assert "d" not in keys[0]


def test_signing_key_survives_restart(sso_settings: SsoSettings) -> None:
    kids = []
    for _ in range(2):
        with TestClient(create_sso(sso_settings)) as client:
            kids.append(client.get("/jwks.json").json()["keys"][0]["kid"])
    assert kids[0] == kids[1]
    assert (sso_settings.data_dir / "sso" / "signing-key.pem").stat().st_mode & 0o077 == 0


def test_login_page_lists_persons_and_units(sso: TestClient) -> None:
    _, challenge = pkce_pair()
    page = authorize(sso, challenge)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "sso_session" not in page.headers.get("set-cookie", "")
    for text in ("个人用户登录", "法人用户登录", "张伟", "李娜", "王芳", "刘洋", "杭州云栖科技有限公司", "陈静"):
        assert text in page.text
    assert "110105199805120012" not in page.text  # ID numbers are masked on the page
    assert page.text.index("个人用户登录") < page.text.index("法人用户登录")
    entity_first = authorize(sso, challenge, identity_type="legal_entity")
    assert entity_first.text.index("法人用户登录") < entity_first.text.index("个人用户登录")


def test_full_code_flow_with_pkce(sso: TestClient) -> None:
    verifier, challenge = pkce_pair()
    params = sign_in_via_page(sso, challenge, "zhangwei")
    assert params["state"] == "st-123"
    cookie = sso.cookies.get("sso_session")
    assert cookie
    tokens = exchange(sso, params["code"], verifier)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0 and body["access_token"]
    assert tokens.headers["cache-control"] == "no-store"

    claims = verify_id_token(sso, body["id_token"])
    zhangwei = person_by_username("zhangwei")
    assert zhangwei is not None
    assert claims["sub"] == zhangwei.sub
    assert claims["nonce"] == "n-456"
    assert claims["exp"] - claims["iat"] == 600
    assert claims["auth_time"] <= claims["iat"] and claims["sid"]
    assert claims["identity_type"] == "person"
    assert (claims["name"], claims["id_type"], claims["id_number"], claims["phone_number"]) == (
        "张伟",
        "01",
        "110105199805120012",
        "13800138000",
    )
    assert "uscc" not in claims and "agent_name" not in claims

    info = sso.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200
    assert info.json() == {
        k: claims[k] for k in ("sub", "identity_type", "name", "id_type", "id_number", "phone_number")
    }


def test_session_cookie_attributes(sso: TestClient) -> None:
    _, challenge = pkce_pair()
    response = authorize(sso, challenge, login_hint="zhangwei")
    set_cookie = response.headers["set-cookie"]
    assert set_cookie.startswith("sso_session=")
    assert "HttpOnly" in set_cookie and "SameSite=lax" in set_cookie.replace("Lax", "lax") and "Path=/" in set_cookie


def test_wrong_verifier_is_rejected_and_burns_the_code(sso: TestClient) -> None:
    verifier, challenge = pkce_pair()
    code = redirect_params(authorize(sso, challenge, login_hint="zhangwei"))["code"]
    wrong, _ = pkce_pair()
    response = exchange(sso, code, wrong)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert exchange(sso, code, verifier).json()["error"] == "invalid_grant"


def test_code_is_single_use(sso: TestClient) -> None:
    verifier, challenge = pkce_pair()
    code = redirect_params(authorize(sso, challenge, login_hint="zhangwei"))["code"]
    assert exchange(sso, code, verifier).status_code == 200
    again = exchange(sso, code, verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_code_expires_after_60_seconds(sso: TestClient, clock: FakeClock) -> None:
    verifier, challenge = pkce_pair()
    code = redirect_params(authorize(sso, challenge, login_hint="zhangwei"))["code"]
    clock.offset += 61
    assert exchange(sso, code, verifier).json()["error"] == "invalid_grant"


def test_wrong_redirect_uri(sso: TestClient) -> None:
    verifier, challenge = pkce_pair()
    page = authorize(sso, challenge, redirect_uri="http://evil.example/cb", login_hint="zhangwei")
    assert page.status_code == 400 and "location" not in page.headers  # never redirect to an unknown URI
    code = redirect_params(authorize(sso, challenge, login_hint="zhangwei"))["code"]
    response = exchange(sso, code, verifier, redirect_uri="http://127.0.0.1:8000/other")
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": None}, "invalid_request"),
        ({"nonce": None}, "invalid_request"),
        ({"scope": "profile"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
)
def test_authorize_errors_go_back_to_the_client(sso: TestClient, params: dict[str, Any], error: str) -> None:
    _, challenge = pkce_pair()
    response = authorize(sso, challenge, login_hint="zhangwei", **params)
    assert response.status_code == 302
    query = redirect_params(response)
    assert query["error"] == error and query["state"] == "st-123" and "code" not in query


def test_unknown_client_gets_an_error_page(sso: TestClient) -> None:
    _, challenge = pkce_pair()
    response = authorize(sso, challenge, client_id="other")
    assert response.status_code == 400 and "location" not in response.headers


def test_client_authentication(sso: TestClient) -> None:
    verifier, challenge = pkce_pair()
    code = redirect_params(authorize(sso, challenge, login_hint="zhangwei"))["code"]
    post_auth = exchange(sso, code, verifier, auth=None, client_id="portal", client_secret="portal-dev-secret")
    assert post_auth.status_code == 200
    bad = sso.post("/token", data={"grant_type": "client_credentials"}, auth=("portal", "wrong"))
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    assert bad.headers["www-authenticate"].startswith("Basic")
    none = sso.post("/token", data={"grant_type": "client_credentials"})
    assert none.status_code == 401 and none.json()["error"] == "invalid_client"
    unsupported = sso.post("/token", data={"grant_type": "password"}, auth=CLIENT)
    assert unsupported.status_code == 400 and unsupported.json()["error"] == "unsupported_grant_type"


def test_login_hint_signs_a_unit_in_without_the_page(sso: TestClient) -> None:
    verifier, challenge = pkce_pair()
    response = authorize(sso, challenge, login_hint="yunqi-hr", identity_type="legal_entity")
    assert response.status_code == 302
    code = redirect_params(response)["code"]
    claims = verify_id_token(sso, exchange(sso, code, verifier).json()["id_token"])
    assert claims["identity_type"] == "legal_entity"
    assert (claims["name"], claims["uscc"], claims["agent_name"]) == (
        "杭州云栖科技有限公司",
        "91330106MA27QK3B27",
        "陈静",
    )
    assert "id_number" not in claims and "phone_number" not in claims


def test_provider_session_signs_in_directly(sso: TestClient) -> None:
    verifier, challenge = pkce_pair()
    first = sign_in_via_page(sso, challenge, "lina")
    second = authorize(sso, challenge, nonce="n-2")
    assert second.status_code == 302
    claims = verify_id_token(sso, exchange(sso, redirect_params(second)["code"], verifier).json()["id_token"])
    assert claims["name"] == "李娜" and claims["nonce"] == "n-2"
    assert claims["sid"] == verify_id_token(sso, exchange(sso, first["code"], verifier).json()["id_token"])["sid"]
    # asking for the other kind of identity shows the page rather than reusing the person's session
    assert authorize(sso, challenge, identity_type="legal_entity").status_code == 200
    assert authorize(sso, challenge, prompt="login").status_code == 200


def test_logout_ends_the_provider_session(sso: TestClient) -> None:
    verifier, challenge = pkce_pair()
    code = sign_in_via_page(sso, challenge, "zhangwei")["code"]
    id_token = exchange(sso, code, verifier).json()["id_token"]
    old_sid = sso.cookies.get("sso_session")
    response = sso.get(
        "/logout",
        params={"id_token_hint": id_token, "state": "bye", "post_logout_redirect_uri": "http://127.0.0.1:8000/"},
    )
    assert response.status_code == 302
    assert response.headers["location"] == "http://127.0.0.1:8000/?state=bye"
    set_cookie = response.headers["set-cookie"]
    assert set_cookie.startswith('sso_session=""') or "Max-Age=0" in set_cookie or "expires=" in set_cookie.lower()
    assert sso.cookies.get("sso_session") is None
    # the server-side session is gone too: the old cookie value no longer signs anyone in
    sso.cookies.set("sso_session", old_sid or "")
    assert authorize(sso, challenge).status_code == 200
    assert authorize(sso, challenge, prompt="none").headers["location"].find("error=login_required") > 0


def test_logout_to_an_unregistered_uri_does_not_redirect(sso: TestClient) -> None:
    _, challenge = pkce_pair()
    authorize(sso, challenge, login_hint="zhangwei")
    response = sso.get("/logout", params={"post_logout_redirect_uri": "http://evil.example/"})
    assert response.status_code == 400 and "location" not in response.headers
    assert authorize(sso, challenge).status_code == 200


def test_client_credentials_token(sso: TestClient) -> None:
    response = sso.post("/token", data={"grant_type": "client_credentials"}, auth=CLIENT)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300
    jwks = sso.get("/jwks.json").json()
    claims = jwt.decode(
        body["access_token"], jwt.PyJWK(jwks["keys"][0]), algorithms=["RS256"], audience="provincial-api", issuer=ISSUER
    )
    assert claims["sub"] == "portal" and claims["client_id"] == "portal" and claims["jti"]
    assert claims["exp"] - claims["iat"] == 300
    # a service token is not a user access token
    info = sso.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 401 and info.json()["error"] == "invalid_token"


@pytest.mark.parametrize(
    ("username", "name", "id_number"),
    [("chenchen", "陈晨", "330108199706150822"), ("sunhao", "孙浩", "52010319940922071X")],
)
def test_new_persons_sign_in_with_login_hint(sso: TestClient, username: str, name: str, id_number: str) -> None:
    verifier, challenge = pkce_pair()
    response = authorize(sso, challenge, login_hint=username)
    assert response.status_code == 302
    claims = verify_id_token(sso, exchange(sso, redirect_params(response)["code"], verifier).json()["id_token"])
    assert (claims["identity_type"], claims["name"], claims["id_number"]) == ("person", name, id_number)
