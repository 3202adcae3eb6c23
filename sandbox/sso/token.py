"""Back-channel endpoints: /token (authorization_code with PKCE, client_credentials) and /userinfo."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from typing import Any
from urllib.parse import unquote_plus

from litestar import MediaType, Request, Response, post, route
from litestar.datastructures import FormMultiDict

from sandbox.seed import identity_by_username
from sandbox.sso.provider import Provider, ProviderDep, log, oauth_error
from sandbox.sso.settings import ACCESS_TOKEN_TTL, CLIENT_ID, CLIENT_SECRET, SERVICE_TOKEN_TTL
from sandbox.sso.tokens import identity_claims

_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class ClientAuthError(Exception):
    def __init__(self, response: Response[Any]) -> None:
        self.response = response


def _authenticate_client(request: Request[Any, Any, Any], form: FormMultiDict) -> str:
    """The client id, after checking client_secret_basic or client_secret_post (never both)."""
    header = request.headers.get("authorization", "")
    basic = header[:6].lower() == "basic "
    if basic:
        if form.get("client_secret"):
            raise ClientAuthError(oauth_error("invalid_request", "use one client authentication method"))
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
            raw_id, raw_secret = decoded.split(":", 1)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raw_id, raw_secret = "", ""
        client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
        if form.get("client_id") and form.get("client_id") != client_id:
            client_id = ""
    else:
        client_id, secret = str(form.get("client_id") or ""), str(form.get("client_secret") or "")
    if not (hmac.compare_digest(client_id, CLIENT_ID) and hmac.compare_digest(secret, CLIENT_SECRET)):
        extra = {"WWW-Authenticate": 'Basic realm="sandbox-sso"'} if basic else {}
        raise ClientAuthError(oauth_error("invalid_client", "client authentication failed", 401, **extra))
    return client_id


def _token_response(body: dict[str, Any]) -> Response[Any]:
    return Response(body, media_type=MediaType.JSON, headers=_NO_STORE)


def _authorization_code(provider: Provider, client_id: str, form: FormMultiDict) -> Response[Any]:
    code, redirect_uri = str(form.get("code") or ""), str(form.get("redirect_uri") or "")
    verifier = str(form.get("code_verifier") or "")
    if not code or not redirect_uri or not verifier:
        return oauth_error("invalid_request", "code, redirect_uri and code_verifier are required")
    grant = provider.state.redeem_code(code)
    if grant is None or grant.request.client_id != client_id:
        return oauth_error("invalid_grant", "the authorization code is invalid, expired or already used")
    if redirect_uri != grant.request.redirect_uri:
        return oauth_error("invalid_grant", "redirect_uri does not match the authorization request")
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    if not _VERIFIER.fullmatch(verifier) or not hmac.compare_digest(digest, grant.request.code_challenge):
        return oauth_error("invalid_grant", "code_verifier does not match the code_challenge")
    identity = identity_by_username(grant.username)
    if identity is None:
        return oauth_error("invalid_grant", "the signed-in identity no longer exists")
    tokens = provider.tokens
    return _token_response(
        {
            "access_token": tokens.access_token(identity, client_id=client_id, sid=grant.sid),
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_TTL,
            "scope": grant.request.scope,
            "id_token": tokens.id_token(
                identity, client_id=client_id, nonce=grant.request.nonce, auth_time=grant.auth_time, sid=grant.sid
            ),
        }
    )


@post("/token", status_code=200)
async def token(request: Request[Any, Any, Any], provider: ProviderDep) -> Response[Any]:
    form = await request.form()
    try:
        client_id = _authenticate_client(request, form)
    except ClientAuthError as exc:
        return exc.response
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        return _authorization_code(provider, client_id, form)
    if grant_type == "client_credentials":
        log.info("service token issued client_id=%s", client_id)
        return _token_response(
            {
                "access_token": provider.tokens.service_token(client_id),
                "token_type": "Bearer",
                "expires_in": SERVICE_TOKEN_TTL,
            }
        )
    if not grant_type:
        return oauth_error("invalid_request", "grant_type is required")
    return oauth_error("unsupported_grant_type", "use authorization_code or client_credentials")


@route("/userinfo", http_method=["GET", "POST"], status_code=200)
async def userinfo(request: Request[Any, Any, Any], provider: ProviderDep) -> Response[Any]:
    header = request.headers.get("authorization", "")
    token_ = header[7:].strip() if header[:7].lower() == "bearer " else ""
    claims = provider.tokens.verify_access_token(token_) if token_ else None
    identity = provider.by_sub.get(str(claims.get("sub"))) if claims else None
    if identity is None:
        challenge = 'Bearer error="invalid_token"' if token_ else 'Bearer realm="sandbox-sso"'
        return oauth_error(
            "invalid_token", "a valid bearer access token is required", 401, **{"WWW-Authenticate": challenge}
        )
    return Response(identity_claims(identity), media_type=MediaType.JSON, headers=_NO_STORE)
