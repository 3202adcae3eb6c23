"""Browser-facing endpoints: /authorize, the login page's /login, and /logout (end session)."""

from __future__ import annotations

import re
from typing import Any, Literal

from litestar import Request, Response, get, post, route
from litestar.datastructures import MultiDict

from sandbox.seed import Person, identity_by_username
from sandbox.sso import pages
from sandbox.sso.provider import Provider, ProviderDep, log, redirect_to
from sandbox.sso.settings import CLIENT_ID, SESSION_COOKIE
from sandbox.sso.state import AuthRequest, Session

_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
IDENTITY_TYPES = ("person", "legal_entity")


def _identity_type_of(username: str) -> str:
    return "person" if isinstance(identity_by_username(username), Person) else "legal_entity"


def _grant(provider: Provider, request: AuthRequest, session: Session, status_code: Literal[302, 303]) -> Response[Any]:
    code = provider.state.issue_code(request, session)
    return redirect_to(request.redirect_uri, status_code, code=code, state=request.state)


def _sign_in(provider: Provider, old_sid: str | None, username: str) -> Session:
    provider.state.end_session(old_sid)
    session = provider.state.new_session(username)
    identity = identity_by_username(username)
    log.info("signed in sub=%s", identity.sub if identity else "?")
    return session


@get("/authorize", sync_to_thread=False)
def authorize(request: Request[Any, Any, Any], provider: ProviderDep) -> Response[Any]:
    q = request.query_params
    settings = provider.settings
    if q.get("client_id") != CLIENT_ID:
        return provider.error_page("未知的接入应用（client_id 不正确）。")
    redirect_uri = q.get("redirect_uri") or ""
    if redirect_uri != settings.redirect_uri:
        return provider.error_page("回调地址（redirect_uri）与登记的不一致。")
    state = q.get("state") or ""

    def fail(error: str, description: str) -> Response[Any]:
        return redirect_to(redirect_uri, error=error, error_description=description, state=state)

    if q.get("response_type") != "code":
        return fail("unsupported_response_type", "only response_type=code is supported")
    scope = q.get("scope") or ""
    if "openid" not in scope.split():
        return fail("invalid_scope", "scope must include openid")
    challenge = q.get("code_challenge") or ""
    if q.get("code_challenge_method") != "S256" or not _CHALLENGE.fullmatch(challenge):
        return fail(
            "invalid_request", "PKCE is required: code_challenge (S256, base64url) and code_challenge_method=S256"
        )
    if not state:
        return fail("invalid_request", "state is required")
    nonce = q.get("nonce") or ""
    if not nonce:
        return fail("invalid_request", "nonce is required")
    requested_type = q.get("identity_type")
    auth = AuthRequest(
        client_id=CLIENT_ID,
        redirect_uri=redirect_uri,
        scope=scope,
        state=state,
        nonce=nonce,
        code_challenge=challenge,
        identity_type=requested_type if requested_type in IDENTITY_TYPES else "person",
    )
    prompt = set((q.get("prompt") or "").split())
    cookie_sid = request.cookies.get(SESSION_COOKIE)

    hint = q.get("login_hint") or ""
    if hint and identity_by_username(hint) is not None:
        session = _sign_in(provider, cookie_sid, hint)
        response = _grant(provider, auth, session, 302)
        response.cookies.append(provider.session_cookie(session))
        return response

    session_ = provider.state.session(cookie_sid)
    if session_ is not None and "login" not in prompt:
        if requested_type not in IDENTITY_TYPES or _identity_type_of(session_.username) == requested_type:
            return _grant(provider, auth, session_, 302)
    if "none" in prompt:
        return fail("login_required", "no provider session")
    tx = provider.state.start_login(auth)
    return provider.html(pages.login_page(tx, auth.identity_type))


@post("/login", status_code=200)
async def login(request: Request[Any, Any, Any], provider: ProviderDep) -> Response[Any]:
    form = await request.form()
    auth = provider.state.take_login(str(form.get("tx") or ""))
    if auth is None:
        return provider.error_page("登录页面已过期，请回到门户重新登录。")
    username = str(form.get("username") or "")
    if identity_by_username(username) is None:
        return provider.error_page("没有这个身份，请回到门户重新登录。")
    session = _sign_in(provider, request.cookies.get(SESSION_COOKIE), username)
    response = _grant(provider, auth, session, 303)
    response.cookies.append(provider.session_cookie(session))
    return response


@route("/logout", http_method=["GET", "POST"], status_code=200)
async def logout(request: Request[Any, Any, Any], provider: ProviderDep) -> Response[Any]:
    params: MultiDict[Any] = MultiDict(request.query_params.multi_items())
    if request.method == "POST":
        params = MultiDict([*params.multi_items(), *(await request.form()).multi_items()])
    provider.state.end_session(request.cookies.get(SESSION_COOKIE))
    hint = str(params.get("id_token_hint") or "")
    claims = provider.tokens.read_id_token_hint(hint) if hint else None
    if claims and isinstance(claims.get("sid"), str):
        provider.state.end_session(claims["sid"])
    target = str(params.get("post_logout_redirect_uri") or "")
    response: Response[Any]
    if target and target == provider.settings.post_logout_redirect_uri:
        response = redirect_to(target, state=str(params.get("state") or ""))
    elif target:
        response = provider.error_page("退出后的跳转地址未登记；您已退出统一身份认证。")
    else:
        link = (provider.settings.portal_url + "/", "返回门户")
        page = pages.message_page("已退出", "您已退出统一身份认证。", link)
        response = provider.html(page)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
