"""CSRF: every state-changing route of the app refuses a cross-site request with 403 before any guard or handler
runs, and lets the same origin through (``bff.lib.security``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from auth.sessions import Principal
from bff.db.migrate import upgrade
from tests.support.inprocess import inprocess_app
from tests.support.servers import free_port

BASE = "http://127.0.0.1:8000"
REFUSAL = "请求来源不受信任，请在本网站内操作"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
CROSS_SITE = {
    "a foreign Origin": {"Origin": "https://evil.example"},
    "a sibling port": {"Origin": "http://127.0.0.1:8001"},
    "the right host over another scheme": {"Origin": "https://127.0.0.1:8000"},
    "no Origin, Sec-Fetch-Site cross-site": {"Sec-Fetch-Site": "cross-site"},
    "no Origin, Sec-Fetch-Site same-site": {"Sec-Fetch-Site": "same-site"},
    "Origin null from a cross-site page": {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
    "our Origin but cross-site by fetch metadata": {"Origin": BASE, "Sec-Fetch-Site": "cross-site"},
}
SAME_ORIGIN = {
    "our Origin": {"Origin": BASE},
    "our Origin with fetch metadata": {"Origin": BASE, "Sec-Fetch-Site": "same-origin"},
    "Origin null from our no-referrer page": {"Origin": "null", "Sec-Fetch-Site": "same-origin"},
    "neither header (not a browser)": {},
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Litestar:
    base = tmp_path_factory.mktemp("csrf")
    upgrade(f"sqlite+aiosqlite:///{base / 'portal.db'}")
    return inprocess_app(base, OIDC_ISSUER=f"http://127.0.0.1:{free_port()}")


@pytest.fixture(scope="module")
def client(app: Litestar) -> Iterator[TestClient[Any]]:
    with TestClient(app, base_url=BASE) as c:
        yield c


def state_changing(app: Litestar) -> list[tuple[str, str]]:
    found = {(method, route.path) for route in app.routes
             for handler in getattr(route, "route_handlers", [])
             for method in getattr(handler, "http_methods", []) if method in UNSAFE}
    return sorted(found)


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path)


def cookie(client: TestClient[Any], app: Litestar, role: str) -> dict[str, str]:
    principal = (Principal(sub="csrf-person", role="person", name="张伟", id_type="01", id_number="110105199805120012")
                 if role == "person" else
                 Principal(sub="csrf-unit", role="employer", name="杭州云栖科技有限公司", uscc="91330106MA27QK3B27"))
    session_id = client.blocking_portal.call(app.state.sessions.create, principal)
    return {"Cookie": f"__Host-portal_session={session_id}"}


def refused_as_cross_site(r: httpx.Response) -> bool:
    return r.status_code == 403 and r.headers.get("content-type", "").startswith("application/json") \
        and r.json().get("message") == REFUSAL


def test_every_state_changing_route_refuses_cross_site_requests(app: Litestar, client: TestClient[Any]) -> None:
    routes = state_changing(app)
    assert ("POST", "/api/applications") in routes and ("PUT", "/api/documents/{document_id:str}/files/"
                                                         "{file_id:str}") in routes
    assert len(routes) >= 20, routes
    for method, path in routes:
        who = cookie(client, app, "employer" if path.startswith("/api/unit") else "person")  # fresh: one is /logout
        for name, headers in CROSS_SITE.items():
            r = client.request(method, concrete(path), headers={**who, **headers}, json={})
            assert refused_as_cross_site(r), f"{method} {path} with {name}: {r.status_code} {r.text[:200]}"
            assert r.headers["cache-control"] == "no-store"
        for name, headers in SAME_ORIGIN.items():
            r = client.request(method, concrete(path), headers={**who, **headers}, json={})
            assert not refused_as_cross_site(r), f"{method} {path} with {name} was refused as cross-site"


def test_the_refusal_comes_before_the_handler(app: Litestar, client: TestClient[Any]) -> None:
    """Signing out is a handler with an effect anyone can see: a cross-site sign-out leaves the session alive."""
    who = cookie(client, app, "person")
    refused = client.post("/auth/logout", headers={**who, "Origin": "https://evil.example"}, follow_redirects=False)
    assert refused_as_cross_site(refused)
    assert client.get("/api/me", headers=who).status_code == 200
    done = client.post("/auth/logout", headers={**who, "Origin": BASE}, follow_redirects=False)
    assert done.status_code == 303
    assert client.get("/api/me", headers=who).status_code == 401


def test_safe_methods_are_never_refused(client: TestClient[Any]) -> None:
    for method in ("GET", "OPTIONS"):  # a link from another site to the verification page must work
        r = client.request(method, "/verify", headers={"Origin": "https://evil.example",
                                                       "Sec-Fetch-Site": "cross-site"})
        assert r.status_code < 400, (method, r.status_code)
