"""The sandbox OIDC provider as a Litestar app (docs/sso.md)."""

from __future__ import annotations

import time
from typing import Any

from litestar import Litestar, MediaType, Response, get
from litestar.di import Provide

from sandbox.sso.authorize import authorize, login, logout
from sandbox.sso.keys import load_or_create
from sandbox.sso.provider import Provider, ProviderDep
from sandbox.sso.settings import SsoSettings
from sandbox.sso.state import Clock, ProviderState
from sandbox.sso.token import token, userinfo
from sandbox.sso.tokens import TokenIssuer


@get("/.well-known/openid-configuration", sync_to_thread=False)
def discovery(provider: ProviderDep) -> dict[str, Any]:
    issuer = provider.settings.issuer
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "jwks_uri": f"{issuer}/jwks.json",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "end_session_endpoint": f"{issuer}/logout",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "iss",
            "aud",
            "sub",
            "iat",
            "exp",
            "nonce",
            "auth_time",
            "sid",
            "identity_type",
            "name",
            "id_type",
            "id_number",
            "phone_number",
            "uscc",
            "agent_name",
        ],
    }


@get("/jwks.json", sync_to_thread=False)
def jwks(provider: ProviderDep) -> Response[Any]:
    return Response(
        {"keys": [provider.key.public_jwk]},
        media_type=MediaType.JSON,
        headers={"Cache-Control": "public, max-age=300"},
    )


@get("/healthz", sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def create_app(settings: SsoSettings | None = None, *, clock: Clock = time.time) -> Litestar:
    """The provider; ``clock`` lets tests move time forward to expire codes."""
    settings = settings or SsoSettings.from_env()
    key = load_or_create(settings.data_dir)
    provider = Provider(
        settings=settings, key=key, state=ProviderState(clock=clock), tokens=TokenIssuer(settings, key, clock)
    )
    return Litestar(
        route_handlers=[discovery, jwks, healthz, authorize, login, logout, token, userinfo],
        dependencies={"provider": Provide(lambda: provider, sync_to_thread=False)},
        openapi_config=None,
    )
