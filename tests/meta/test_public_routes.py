"""Architecture guard: every route needs a session unless it is on this explicit public list."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.support.inprocess import inprocess_app

PUBLIC_ROUTES = {
    "/", "/{path:path}",  # the PWA's files (its data all comes from /api/, which is guarded)
    "/auth/login", "/auth/callback", "/auth/logout",
    "/v/{token:str}", "/V/{token:str}", "/v/{token:str}/id", "/V/{token:str}/id",  # verification, by the QR
    "/verify", "/verify/pdf", "/status/1", "/.well-known/jwks.json", "/healthz",  # by 核验码, by file; offline
    "/s/{share_id:str}",  # the 政审回复函's share link (its access code is the credential)
    "/metrics",  # no session, but only for METRICS_ALLOWED addresses (loopback by default): 404 for the rest
    "/schema", "/schema/openapi.json", "/schema/openapi.yaml", "/schema/openapi.yml", "/schema/{path:str}",
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Litestar:
    return inprocess_app(tmp_path_factory.mktemp("meta"))


def _handlers(app: Litestar) -> list[tuple[str, str, bool]]:
    found = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in getattr(handler, "http_methods", []):
                found.append((route.path, method, bool(handler.opt.get("public"))))
    return found


def test_only_the_listed_routes_are_public(app: Litestar) -> None:
    public = {path for path, _, is_public in _handlers(app) if is_public}
    assert public <= PUBLIC_ROUTES, f"routes made public without being listed: {public - PUBLIC_ROUTES}"


def test_every_other_route_answers_401_without_a_session(app: Litestar) -> None:
    guarded = [(p, m) for p, m, is_public in _handlers(app) if not is_public and m not in {"HEAD", "OPTIONS"}]
    assert guarded, "no guarded routes found"
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        for path, method in guarded:
            concrete = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path)
            r = client.request(method, concrete, headers={"Origin": "http://127.0.0.1:8000"})
            assert r.status_code == 401, f"{method} {path} answered {r.status_code} without a session"
            assert r.json()["code"] == "unauthenticated"


def test_committed_openapi_matches_the_app(app: Litestar) -> None:
    import json

    committed = json.loads(Path("web/openapi.json").read_text(encoding="utf-8"))
    assert committed == json.loads(json.dumps(app.openapi_schema.to_schema())), "run `make openapi`"
