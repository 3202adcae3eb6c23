"""What every answer carries (``bff.lib.security``): a strict CSP on every HTML page, the other security headers,
``no-store`` on /api and /auth, HSTS behind an https public URL, no CORS at all, and only our own host names."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from bff.db.migrate import upgrade
from bff.lib.security import style_hashes
from tests.support.inprocess import inprocess_app
from tests.support.servers import free_port

PUBLIC = "https://dangan.example.cn"
FOREIGN = "https://evil.example"
DIST = Path("web/dist")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Litestar:
    base = tmp_path_factory.mktemp("headers")
    upgrade(f"sqlite+aiosqlite:///{base / 'portal.db'}")
    return inprocess_app(base, PUBLIC_BASE_URL=PUBLIC, OIDC_ISSUER=f"http://127.0.0.1:{free_port()}",
                         ALLOWED_HOSTS="portal.internal:8443")


@pytest.fixture(scope="module")
def client(app: Litestar) -> Iterator[TestClient[Any]]:
    with TestClient(app, base_url=PUBLIC) as c:
        yield c


def directives(csp: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            found[words[0]] = words[1:]
    return found


def html_pages(client: TestClient[Any]) -> dict[str, httpx.Response]:
    return {
        "the PWA's shell": client.get("/"),
        "a PWA route": client.get("/applications/new"),
        "verification start": client.get("/verify"),
        "verification not found": client.get("/verify", params={"code": "ABCDEFGHJKMNPQRS"}),
        "verification by token": client.get("/V/" + "A" * 196),
        "share link gone": client.get("/s/0123456789abcdef0123456789abcdef"),
        "sign-in refused": client.get("/auth/callback", params={"state": "forged", "code": "x"}),
        "sign-in unavailable": client.get("/auth/login", follow_redirects=False),
    }


def test_every_html_page_has_a_strict_csp_its_own_markup_obeys(client: TestClient[Any]) -> None:
    for name, r in html_pages(client).items():
        assert r.headers["content-type"].startswith("text/html"), name
        policy = directives(r.headers["content-security-policy"])
        scripts = policy.get("script-src", policy["default-src"])
        styles = policy.get("style-src", policy["default-src"])
        assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts, name
        assert "'unsafe-inline'" not in styles, name
        assert policy["frame-ancestors"] == ["'none'"] and "base-uri" in policy, name
        assert "object-src" in policy or policy["default-src"] == ["'none'"], name
        # what the page itself holds is allowed by its policy: scripts only from files, styles only by hash
        html = r.text
        for tag in re.findall(r"<script\b[^>]*>", html, re.I):
            assert "src=" in tag and "'self'" in scripts, (name, tag)
        assert set(style_hashes(html)) <= set(styles), name
        assert not re.search(r"\sstyle\s*=", html, re.I), f"{name}: a style attribute no policy here allows"


def test_the_built_pwa_needs_no_inline_style_or_script() -> None:
    """Why the PWA's policy can drop ``'unsafe-inline'``: the build emits no inline script or style, and nothing in
    it writes a style attribute as markup (Vue and Vant set styles through the CSSOM, which CSP allows). The e2e
    photo-upload test fails on any CSP violation in the browser."""
    index = (DIST / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", index) and "<style" not in index
    for script in (DIST / "assets").glob("*.js"):
        text = script.read_text(encoding="utf-8")
        assert 'setAttribute("style"' not in text and "setAttribute(`style`" not in text, script.name
        assert not re.search(r"""style=\\?["'][^"'{]""", text), f"{script.name}: static style attribute in markup"


def test_security_headers_on_every_kind_of_answer(client: TestClient[Any]) -> None:
    answers = {**html_pages(client),
               "an API refusal": client.get("/api/me"),
               "a script": client.get("/registerSW.js"),
               "the keys": client.get("/.well-known/jwks.json"),
               "health": client.get("/healthz")}
    for name, r in answers.items():
        h = r.headers
        assert h["x-content-type-options"] == "nosniff", name
        assert h["x-frame-options"] == "DENY", name
        assert h["referrer-policy"] in ("same-origin", "no-referrer"), name
        assert "geolocation=()" in h["permissions-policy"] and "microphone=()" in h["permissions-policy"], name
        assert h["cross-origin-opener-policy"] == "same-origin", name
        assert h["cross-origin-resource-policy"] == "same-origin", name
        assert h["strict-transport-security"] == "max-age=31536000; includeSubDomains", name
        assert "frame-ancestors 'none'" in h["content-security-policy"], name


def test_no_hsts_over_plain_http(tmp_path: Path) -> None:
    app = inprocess_app(tmp_path, PUBLIC_BASE_URL="http://127.0.0.1:8000")
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        assert "strict-transport-security" not in c.get("/healthz").headers


def test_api_and_auth_answers_are_never_stored(client: TestClient[Any]) -> None:
    for r in (client.get("/api/me"), client.get("/api/applications/x"), client.get("/auth/login"),
              client.get("/auth/callback"),
              client.post("/auth/logout", headers={"Origin": PUBLIC}, follow_redirects=False)):
        assert r.headers.get_list("cache-control") == ["no-store"], (r.request.url, r.headers)
    assert client.get("/registerSW.js").headers["cache-control"] == "no-cache"  # the PWA's files keep theirs


def test_cors_is_closed_for_every_route(app: Litestar, client: TestClient[Any]) -> None:
    paths = {re.sub(r"\{[^}]+\}", "x", route.path) for route in app.routes}
    assert len(paths) > 20
    for path in sorted(paths):
        preflight = client.options(path, headers={"Origin": FOREIGN, "Access-Control-Request-Method": "POST",
                                                  "Access-Control-Request-Headers": "content-type"})
        plain = client.get(path, headers={"Origin": FOREIGN})
        for r in (preflight, plain):
            allowing = [k for k in r.headers if k.lower().startswith("access-control-")]
            assert not allowing, (path, r.request.method, allowing)


def test_only_our_host_names_are_served(tmp_path: Path) -> None:
    """The public URL's host, ALLOWED_HOSTS, and the instance's own address: a second instance behind the load
    balancer keeps the first one's PUBLIC_BASE_URL and is reached on its own port (as tests/support/stack.py does)."""
    app = inprocess_app(tmp_path, PUBLIC_BASE_URL="http://127.0.0.1:8000", BFF_PORT="8001",
                        ALLOWED_HOSTS="portal.internal,*.lb.internal")
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        def status(host: str, path: str = "/verify") -> int:
            return c.get(path, headers={"Host": host}).status_code

        assert [status("127.0.0.1:8000"), status("127.0.0.1:8001"), status("portal.internal")] == [200] * 3
        assert status("a.lb.internal") == 200
        for forged in ("evil.example", "127.0.0.1:8002", "localhost:8000", "portal.internal.evil.example"):
            assert status(forged) == 400, forged
        assert status("10.0.3.7:8001", "/healthz") == 200  # a load balancer's probe names the instance its own way


def test_the_demo_default_serves_its_own_address(tmp_path: Path) -> None:
    app = inprocess_app(tmp_path)
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        assert c.get("/verify").status_code == 200
        assert c.get("/verify", headers={"Host": "attacker.example:8000"}).status_code == 400  # DNS rebinding
