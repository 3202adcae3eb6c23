"""Sign-in, callback and sign-out: the OIDC relying party's three routes."""

from __future__ import annotations

import html
import logging
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromQuery, QueryParameter
from litestar.response import Redirect

from auth.guards import PUBLIC
from auth.oidc import OidcClient, OidcError
from auth.sessions import LOGIN_COOKIE, Principal, SessionManager
from bff.domain import audit
from bff.lib.errors import error_responses
from bff.lib.openapi import page_responses, redirect_response
from bff.lib.ratelimit import rate_limit
from bff.lib.security import server_page_csp

log = logging.getLogger("auth")

ROLES = {"person": "person", "employer": "legal_entity"}


def safe_next(value: str | None) -> str:
    """Only a path on this site: no scheme, no host, no ``//`` or back-slash tricks."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 300:
        return "/"
    return value


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    kind = claims.get("identity_type")
    if kind == "person":
        return Principal(sub=str(claims["sub"]), role="person", name=str(claims.get("name", "")),
                         id_type=claims.get("id_type"), id_number=claims.get("id_number"),
                         phone=claims.get("phone_number"))
    if kind == "legal_entity":
        return Principal(sub=str(claims["sub"]), role="employer", name=str(claims.get("name", "")),
                         uscc=claims.get("uscc"), agent_name=claims.get("agent_name"))
    raise OidcError("unknown identity type")


_NOTICE_STYLE = "<style>body{font-family:system-ui,sans-serif;padding:24px;line-height:1.6}h1{font-size:20px}</style>"
NOTICE_CSP = server_page_csp(_NOTICE_STYLE)  # no script; its one style block by hash


def _notice_page(title: str, message: str, status: int, sessions: SessionManager) -> Response[str]:
    """A plain page for a sign-in that cannot go on; it also drops any half-made session."""
    page = (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width,initial-scale=1'><title>{html.escape(title)}</title>"
        f"{_NOTICE_STYLE}</head><body>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>"
        "<p><a href='/'>返回首页</a></p></body></html>"
    )
    return Response(page, status_code=status, media_type="text/html", headers={"Content-Security-Policy": NOTICE_CSP},
                    cookies=[sessions.expired_cookie(), sessions.expired_login_cookie()])


def _login_failed(sessions: SessionManager) -> Response[str]:
    return _notice_page("登录未完成", "登录信息已失效或校验未通过，为保护您的信息安全，请重新登录。", 400, sessions)


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]
    opt = PUBLIC
    include_in_schema = True

    @get("/login", operation_id="login", summary="Start signing in (302 to the provider)", status_code=302,
         guards=[rate_limit("sign_in")], responses={**redirect_response(302, "to the sign-in provider"),
                                                    **error_responses(429), **page_responses(503)})
    async def login(self, request: Request[Any, Any, Any], role: FromQuery[str] = "person",
                    next: FromQuery[str | None] = None,
                    login_hint: FromQuery[str | None] = None) -> Response[Any]:
        oidc: OidcClient = request.app.state.oidc
        sessions: SessionManager = request.app.state.sessions
        identity_type = ROLES.get(role, "person")
        try:
            auth = await oidc.authorization_request(login_hint=login_hint, identity_type=identity_type)
        except OidcError as exc:
            log.warning("sign-in unavailable: %s", exc)
            await audit.record_request(request, audit.Entry("auth.sign_in", "failed", detail={
                "reason": "provider_unavailable", "role": role if role in ROLES else "person"}))
            return _notice_page("统一身份认证暂时无法访问", "暂时无法连接统一身份认证平台，请稍后再试。", 503, sessions)
        cookie = await sessions.begin_login(auth.state, auth.nonce, auth.code_verifier, safe_next(next))
        return Redirect(auth.url, status_code=302, cookies=[cookie])

    @get("/callback", operation_id="loginCallback", summary="Where the provider returns", status_code=303,
         guards=[rate_limit("sign_in")], responses={**redirect_response(303, "signed in: to the page asked for"),
                                                    **error_responses(429), **page_responses(400)})
    async def callback(self, request: Request[Any, Any, Any],
                       oauth_state: Annotated[str, QueryParameter(name="state")] = "",
                       code: FromQuery[str] = "", error: FromQuery[str | None] = None) -> Response[Any]:
        oidc: OidcClient = request.app.state.oidc
        sessions: SessionManager = request.app.state.sessions
        await sessions.destroy(request.cookies.get(sessions.settings.cookie_name))
        login = await sessions.finish_login(oauth_state, request.cookies.get(LOGIN_COOKIE))
        if login is None or error or not code:
            log.warning("sign-in refused: state or error", extra={"event": {"reason": error or "state"}})
            await audit.record_request(request, audit.Entry("auth.sign_in", "failed", detail={
                "reason": error[:40] if error and error.isascii() and error.replace("_", "").isalpha() else "state"}))
            return _login_failed(sessions)
        try:
            tokens = await oidc.exchange_code(code, login.code_verifier)
            claims = await oidc.validate_id_token(tokens["id_token"], login.nonce)
            principal = principal_from_claims(claims)
        except OidcError as exc:
            log.warning("sign-in refused: %s", exc)
            await audit.record_request(request, audit.Entry("auth.sign_in", "failed", detail={
                "reason": "token_refused"}))
            return _login_failed(sessions)
        session_id = await sessions.create(principal)  # the ID token (full 证件号码) is not kept
        log.info("signed in", extra={"event": {"role": principal.role}})
        await audit.record_request(request, audit.Entry("auth.sign_in", "ok", detail={"role": principal.role}),
                                   principal)
        return Redirect(login.next_path, status_code=303,
                        cookies=[sessions.cookie(session_id), sessions.expired_login_cookie()])

    @post("/logout", operation_id="logout", summary="Sign out here and at the provider", status_code=303)
    async def logout(self, request: Request[Any, Any, Any]) -> Redirect:
        oidc: OidcClient = request.app.state.oidc
        sessions: SessionManager = request.app.state.sessions
        session_id = request.cookies.get(sessions.settings.cookie_name)
        data = await sessions.load(session_id)
        await sessions.destroy(session_id)
        await audit.record_request(request, audit.Entry("auth.sign_out", "ok" if data else "failed",
                                                        detail={} if data else {"reason": "no_session"}),
                                   data.principal if data else None)
        home = f"{request.app.state.settings.server.public_base_url}/"
        target = await oidc.end_session_url(home) or "/"
        # The browser's HTTP cache goes too (answers are no-store, but a proxy or an old build may have cached one);
        # the PWA clears its own storage before the form is sent, keeping the language choice.
        return Redirect(target, status_code=303, cookies=[sessions.expired_cookie()],
                        headers={"Clear-Site-Data": '"cache"'})
