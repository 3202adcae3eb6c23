"""The provider object the route handlers share, and the small response helpers they use."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias
from urllib.parse import urlencode, urlsplit

from litestar import MediaType, Response
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import SkipValidation
from litestar.response import Redirect

from sandbox.seed import LEGAL_ENTITIES, PERSONS, LegalEntity, Person
from sandbox.sso import pages
from sandbox.sso.keys import SigningKey
from sandbox.sso.settings import SESSION_COOKIE, SsoSettings
from sandbox.sso.state import ProviderState, Session
from sandbox.sso.tokens import TokenIssuer

log = logging.getLogger("sandbox.sso")


@dataclass(slots=True)
class Provider:
    settings: SsoSettings
    key: SigningKey
    state: ProviderState
    tokens: TokenIssuer
    by_sub: dict[str, Person | LegalEntity] = field(default_factory=dict)

    def __post_init__(self) -> None:
        identities: list[Person | LegalEntity] = [*PERSONS, *LEGAL_ENTITIES]
        self.by_sub = {i.sub: i for i in identities}

    def session_cookie(self, session: Session) -> Cookie:
        return Cookie(
            key=SESSION_COOKIE,
            value=session.sid,
            path="/",
            httponly=True,
            samesite="lax",
            secure=self.settings.issuer.startswith("https://"),
        )

    def html(self, content: str, status_code: int = 200) -> Response[str]:
        portal = urlsplit(self.settings.portal_url)
        csp = (
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'; "
            f"form-action 'self' {portal.scheme}://{portal.netloc}"
        )
        return Response(
            content,
            status_code=status_code,
            media_type=MediaType.HTML,
            headers={
                "Cache-Control": "no-store",
                "Content-Security-Policy": csp,
                "Referrer-Policy": "no-referrer",
                "X-Content-Type-Options": "nosniff",
            },
        )

    def error_page(self, message: str, status_code: int = 400) -> Response[str]:
        link = (self.settings.portal_url + "/", "返回门户")
        return self.html(pages.message_page("登录出错", message, link), status_code)


# How route handlers ask for the provider (injected by name, not validated as a request value).
ProviderDep: TypeAlias = NamedDependency[SkipValidation[Provider]]


def redirect_to(uri: str, status_code: Literal[302, 303] = 302, **params: str) -> Redirect:
    query = urlencode({k: v for k, v in params.items() if v})
    target = f"{uri}{'&' if '?' in uri else '?'}{query}" if query else uri
    return Redirect(path=target, status_code=status_code, headers={"Cache-Control": "no-store"})


def oauth_error(error: str, description: str, status_code: int = 400, **headers: str) -> Response[Any]:
    return Response(
        {"error": error, "error_description": description},
        status_code=status_code,
        media_type=MediaType.JSON,
        headers={"Cache-Control": "no-store", "Pragma": "no-cache", **headers},
    )
