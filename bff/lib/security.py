"""Headers on every answer, the host names served, and the same-origin rule for state-changing requests (CSRF).

- **CSRF.** A request with an unsafe method is refused (403, before routing reaches any guard or handler) when its
  ``Origin`` names another origin, or when ``Sec-Fetch-Site`` says ``cross-site`` or ``same-site``. ``Origin: null``
  (what browsers send from a page whose referrer policy is ``no-referrer``, such as the verification pages) and
  requests without either header (not a browser) pass on to the session cookie's ``SameSite=Lax``.
- **CORS is closed**: nothing here or in Litestar's config adds ``Access-Control-Allow-*``; another origin's script
  can neither read an answer nor get a preflight approved.
- **CSP.** The PWA: scripts, styles, fonts and connections from this origin only; no ``'unsafe-inline'``: the
  built app has no inline script (``registerSW.js`` is a file) and needs no inline style (Vue and Vant set styles
  through the CSSOM, which ``style-src`` does not govern, and the build emits CSS files only). Images also from
  ``blob:`` (photo previews) and ``data:``; workers also from ``blob:`` (the photo-shrinking worker); the sign-out
  form posts to the provider, so ``form-action`` names it.
  Server-rendered pages (verification, sign-in notices) run no script at all: ``default-src 'none'`` and their
  one ``<style>`` block allowed by its hash (``server_page_csp``).
- **Others.** ``nosniff``; ``Referrer-Policy: same-origin`` (the /v/ tokens never leave in a Referer; not
  ``no-referrer``, which would make browsers send ``Origin: null`` on the PWA's own requests and blunt the CSRF
  rule); ``X-Frame-Options`` and ``frame-ancestors`` deny framing; COOP and CORP ``same-origin``; a
  Permissions-Policy allowing only the camera, for this origin; HSTS when ``PUBLIC_BASE_URL`` is https; and
  ``Cache-Control: no-store`` on every /api and /auth answer (personal data, session cookies).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from litestar.config.allowed_hosts import AllowedHostsConfig
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
PERMISSIONS = ("accelerometer=(), camera=(self), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
               "payment=(), usb=()")
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", PERMISSIONS.encode()),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
NO_STORE_PREFIXES = ("/api/", "/auth/")
CROSS_SITE = json.dumps({"code": "forbidden", "message": "请求来源不受信任，请在本网站内操作"},
                        ensure_ascii=False).encode()
_STYLE_BLOCK = re.compile(r"<style>(.*?)</style>", re.S)


def pwa_csp(sso_origin: str) -> str:
    """The PWA's policy (see the module docstring for why each source is there)."""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; "
        "connect-src 'self'; worker-src 'self' blob:; manifest-src 'self'; object-src 'none'; frame-ancestors 'none'; "
        f"base-uri 'self'; form-action 'self' {sso_origin}"
    )


def style_hashes(html: str) -> list[str]:
    """CSP hash sources of the ``<style>`` blocks in ``html``."""
    return [f"'sha256-{base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()}'"
            for css in _STYLE_BLOCK.findall(html)]


def server_page_csp(sample_html: str) -> str:
    """For a server-rendered page: no script, nothing loaded, its own ``<style>`` blocks only (by hash, taken from
    a page rendered by the same code, so the policy follows the stylesheet when it changes); forms post here."""
    styles = " ".join(dict.fromkeys(style_hashes(sample_html))) or "'none'"
    return (f"default-src 'none'; style-src {styles}; frame-ancestors 'none'; base-uri 'none'; "
            "form-action 'self'")


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def allowed_hosts(public_base_url: str, host: str, port: int, extra: tuple[str, ...]) -> AllowedHostsConfig:
    """The Host headers served: the public URL's, the instance's own address (a second instance behind a load
    balancer is reached on its own port) and ``ALLOWED_HOSTS``. Litestar compares the whole header, port included.
    ``/healthz`` is exempt: a load balancer's probe names the instance by whatever address it has."""
    netloc = urlsplit(public_base_url).netloc.lower()
    hosts = [netloc, *extra]
    if host not in ("0.0.0.0", "::", ""):  # noqa: S104 - listening everywhere names no host
        hosts.append(f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
    return AllowedHostsConfig(allowed_hosts=list(dict.fromkeys(hosts)), exclude=["^/healthz"], www_redirect=False)


def is_cross_site(headers: dict[str, str], allowed_origin: str) -> bool:
    origin = headers.get("origin")
    if headers.get("sec-fetch-site") in ("cross-site", "same-site"):
        return True
    return bool(origin) and origin != "null" and origin_of(str(origin)) != allowed_origin


def security_middleware_factory(public_base_url: str, sso_url: str) -> Callable[[ASGIApp], ASGIApp]:
    allowed = origin_of(public_base_url)
    csp = pwa_csp(origin_of(sso_url)).encode()
    always = [*HEADERS, HSTS] if allowed.startswith("https://") else list(HEADERS)

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            if scope.get("method", "GET") not in SAFE_METHODS:
                headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
                if is_cross_site(headers, allowed):
                    start: Any = {"type": "http.response.start", "status": 403,
                                  "headers": [(b"content-type", b"application/json"), *always,
                                              (b"content-security-policy", csp), (b"cache-control", b"no-store")]}
                    await send(start)
                    await send({"type": "http.response.body", "body": CROSS_SITE, "more_body": False})
                    return
            path = str(scope.get("path", ""))
            no_store = path.startswith(NO_STORE_PREFIXES) or path in ("/api", "/auth")

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    existing = [(k, v) for k, v in message.get("headers", [])
                                if not (no_store and k.lower() == b"cache-control")]
                    names = {k.lower() for k, _ in existing}
                    extra = [(k, v) for k, v in always if k not in names]
                    if b"content-security-policy" not in names:
                        extra.append((b"content-security-policy", csp))
                    if no_store:
                        extra.append((b"cache-control", b"no-store"))
                    message["headers"] = existing + extra
                await send(message)

            await app(scope, receive, send_with_headers)

        return middleware

    return factory
