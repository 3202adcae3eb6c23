"""Headers on every answer, and the same-origin rule for state-changing requests (CSRF)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(self), geolocation=(), microphone=()"),
]


def page_csp(sso_origin: str) -> bytes:
    """The PWA's policy; sign-out's form is redirected to the provider, so form-action names it."""
    return (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; "
        "worker-src 'self' blob:; manifest-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
        f"form-action 'self' {sso_origin}"
    ).encode()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def security_middleware_factory(public_base_url: str, sso_url: str) -> Callable[[ASGIApp], ASGIApp]:
    allowed = _origin(public_base_url)
    csp = page_csp(_origin(sso_url))

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
            if scope.get("method", "GET") not in SAFE_METHODS:
                origin = headers.get("origin")
                fetch_site = headers.get("sec-fetch-site")
                if (origin and origin != "null" and _origin(origin) != allowed) or fetch_site == "cross-site":
                    body = json.dumps({"code": "forbidden", "message": "请求来源不受信任，请在本网站内操作"},
                                      ensure_ascii=False).encode()
                    start: Any = {"type": "http.response.start", "status": 403,
                                  "headers": [(b"content-type", b"application/json"), *HEADERS]}
                    await send(start)
                    await send({"type": "http.response.body", "body": body, "more_body": False})
                    return

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    existing = list(message.get("headers", []))
                    names = {k.lower() for k, _ in existing}
                    extra = [(k, v) for k, v in HEADERS if k not in names]
                    if b"content-security-policy" not in names:
                        extra.append((b"content-security-policy", csp))
                    message["headers"] = existing + extra
                await send(message)

            await app(scope, receive, send_with_headers)

        return middleware

    return factory
