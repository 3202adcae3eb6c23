"""Rate limits (``bff.lib.ratelimit``): sign-in, submits, uploads and the public verification pages answer 429 with
``Retry-After`` and a Chinese message once over; per person and per client address; the client address believed
only from a trusted proxy; and with Redis gone, counting goes on in each instance and comes back to Redis."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from litestar.types import Receive, Scope, Send
from redis import Redis

from auth.sessions import Principal
from bff.db.migrate import upgrade
from bff.lib.ratelimit import LIMITS
from tests.support.inprocess import inprocess_app
from tests.support.servers import RedisServer, free_port
from tests.support.stack import Stack
from tests.uploads.corpus import jpeg

BASE = "http://127.0.0.1:8000"
SAME_ORIGIN = {"Origin": BASE}
CODE = "ABCDEFGHJKMNPQRS"  # a well-formed 核验码 that names no certificate


class Peer:
    """The TCP peer the app sees (the test client always says "testclient"): set ``host`` before a request."""

    def __init__(self, app: Litestar, host: str = "203.0.113.50") -> None:
        self.app = app
        self.host = host

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope["client"] = (self.host, 40000)
        await self.app(scope, receive, send)


def portal(tmp_path: Path, **env: str) -> Peer:
    tmp_path.mkdir(parents=True, exist_ok=True)
    upgrade(f"sqlite+aiosqlite:///{tmp_path / 'portal.db'}")
    app = inprocess_app(tmp_path, OIDC_ISSUER=f"http://127.0.0.1:{free_port()}", **env)  # the SSO refuses at once
    return Peer(app)


def client(peer: Peer) -> TestClient[Any]:
    return TestClient(peer, base_url=BASE)


def session(c: TestClient[Any], app: Litestar, sub: str, role: str = "person") -> dict[str, str]:
    """A signed-in browser's cookie, made as the callback makes it (the sign-in itself is tested elsewhere)."""
    principal = (Principal(sub=sub, role="person", name="张伟", id_type="01", id_number="110105199805120012")
                 if role == "person" else
                 Principal(sub=sub, role="employer", name="杭州云栖科技有限公司", uscc="91330106MA27QK3B27"))
    session_id = c.blocking_portal.call(app.state.sessions.create, principal)
    return {"Cookie": f"__Host-portal_session={session_id}", **SAME_ORIGIN}


def assert_json_429(r: httpx.Response, window: int) -> None:
    assert r.status_code == 429, r.text
    assert r.json()["code"] == "too_many_requests"
    assert r.json()["message"].startswith("操作过于频繁，请") and r.json()["message"].endswith("后再试")
    assert 0 < int(r.headers["Retry-After"]) <= window
    assert r.headers["Cache-Control"] == "no-store"


def test_sign_in_is_limited_per_address_with_a_json_429(tmp_path: Path) -> None:
    peer = portal(tmp_path, RATE_LIMIT_SIGN_IN="3/600")
    with client(peer) as c:
        answers = [c.get("/auth/login", follow_redirects=False).status_code for _ in range(2)]
        answers.append(c.get("/auth/callback", params={"state": "x", "code": "y"}).status_code)  # the same limit
        assert answers == [503, 503, 400]  # the provider is down; the callback's state is unknown
        over = c.get("/auth/login", follow_redirects=False)
        assert_json_429(over, 600)
        assert over.json()["message"] == "操作过于频繁，请 10 分钟后再试"
        peer.host = "198.51.100.7"  # another address is not affected
        assert c.get("/auth/login", follow_redirects=False).status_code == 503


def test_submits_are_limited_per_person_and_per_address(tmp_path: Path) -> None:
    peer = portal(tmp_path, RATE_LIMIT_SUBMIT="2/3600", RATE_LIMIT_SUBMIT_ADDRESS="5/3600",
                       RATE_LIMIT_SUBMIT_UNIT="1/3600")
    with client(peer) as c:
        def submit(who: dict[str, str]) -> httpx.Response:
            return c.post("/api/applications", json={}, headers={**who, "Idempotency-Key": str(uuid.uuid4())})

        a, b, c_ = (session(c, peer.app, sub) for sub in ("person-a", "person-b", "person-c"))
        assert [submit(a).status_code for _ in range(2)] == [400, 400]  # counted whatever the handler says
        assert_json_429(submit(a), 3600)  # A's own limit
        assert [submit(b).status_code for _ in range(2)] == [400, 400]  # B has its own
        assert submit(b).status_code == 429
        assert submit(c_).status_code == 400  # the address's fifth
        assert_json_429(submit(c_), 3600)  # the address's sixth: C's own count is only 2
        peer.host = "198.51.100.8"
        assert submit(session(c, peer.app, "person-d")).status_code == 400  # another address, another person

        for path in ("/api/unit/transfers", "/api/unit/applications"):
            peer.host = f"198.51.100.{9 if 'transfers' in path else 10}"
            unit = session(c, peer.app, f"unit-{path}", role="employer")
            first = c.post(path, json={}, headers={**unit, "Idempotency-Key": str(uuid.uuid4())})
            assert first.status_code == 400, first.text
            assert_json_429(c.post(path, json={}, headers={**unit, "Idempotency-Key": str(uuid.uuid4())}), 3600)


def test_uploads_are_limited_before_the_body_is_read_yet_a_20_page_letter_fits(tmp_path: Path) -> None:
    peer = portal(tmp_path)
    assert LIMITS["upload"].count >= 10 * 20  # ten whole letters of 20 photos an hour, retakes on top
    with client(peer) as c:
        who = session(c, peer.app, "graduate")
        document = c.post("/api/documents", json={"material": "unit_letter"}, headers=who)
        assert document.status_code == 201, document.text
        photo = jpeg(640, 900)
        pages = [c.put(f"/api/documents/{document.json()['id']}/files/{uuid.uuid4()}", params={"name": f"p{n}.jpg"},
                       content=photo, headers={**who, "Content-Type": "application/octet-stream"}).status_code
                 for n in range(20)]
        assert pages == [201] * 20

    peer = portal(tmp_path / "tight", RATE_LIMIT_UPLOAD="3/3600")
    with client(peer) as c:
        who = session(c, peer.app, "graduate")
        nowhere = f"/api/documents/{uuid.uuid4()}/files/{uuid.uuid4()}"
        assert [c.put(nowhere, content=b"x", headers=who).status_code for _ in range(3)] == [404] * 3
        assert_json_429(c.put(nowhere, content=b"x" * 1_000_000, headers=who), 3600)


def test_enumerating_public_links_gets_404s_then_an_html_429(tmp_path: Path) -> None:
    peer = portal(tmp_path, RATE_LIMIT_VERIFY_CODE="3/600", RATE_LIMIT_PUBLIC_PAGE="4/600",
                       RATE_LIMIT_VERIFY_PDF="1/600")
    with client(peer) as c:
        assert c.get("/verify").status_code == 200  # the empty form does not count
        codes = [c.get("/verify", params={"code": f"ABCDEFGHJKMNPQR{n}"}).status_code for n in "2345"]
        assert codes == [404, 404, 404, 429]
        over = c.get("/verify", params={"code": CODE})
        assert over.status_code == 429 and over.headers["content-type"].startswith("text/html")
        assert "操作过于频繁，请 10 分钟后再试" in over.text and "输入核验码" in over.text
        assert 0 < int(over.headers["Retry-After"]) <= 600

        shares = [c.get(f"/s/{uuid.uuid4().hex}").status_code for _ in range(3)]
        token_page = c.get("/V/" + "A" * 196)
        assert shares == [404] * 3 and token_page.status_code == 200  # one limit for /s/ and /v/ pages
        gone = c.get(f"/s/{uuid.uuid4().hex}")
        assert gone.status_code == 429 and "政审回复函" in gone.text and "后再试" in gone.text
        assert c.get("/v/" + "A" * 196).status_code == 429
        assert "Retry-After" in gone.headers

        assert c.post("/verify/pdf", files={"file": ("x.pdf", b"%PDF-1.7")}, headers=SAME_ORIGIN).status_code == 200
        assert c.post("/verify/pdf", files={"file": ("x.pdf", b"%PDF-1.7")}, headers=SAME_ORIGIN).status_code == 429


def test_limits_can_be_turned_off_for_load_tests_and_drills(tmp_path: Path) -> None:
    peer = portal(tmp_path, RATE_LIMIT_VERIFY_CODE="1/600", RATE_LIMITS_ENABLED="0")
    with client(peer) as c:
        assert [c.get("/verify", params={"code": CODE}).status_code for _ in range(3)] == [404] * 3


def test_a_forged_forwarded_for_from_an_untrusted_peer_does_not_dodge_the_limit(tmp_path: Path) -> None:
    peer = portal(tmp_path, RATE_LIMIT_VERIFY_CODE="3/600")  # TRUSTED_PROXIES: loopback only
    with client(peer) as c:
        peer.host = "203.0.113.5"
        codes = [c.get("/verify", params={"code": CODE}, headers={"X-Forwarded-For": f"192.0.2.{n}"}).status_code
                 for n in range(4)]
        assert codes == [404, 404, 404, 429]


def test_behind_a_trusted_proxy_each_client_is_limited_separately(tmp_path: Path) -> None:
    peer = portal(tmp_path, RATE_LIMIT_VERIFY_CODE="2/600", TRUSTED_PROXIES="10.0.0.0/8")
    with client(peer) as c:
        peer.host = "10.1.2.3"  # the load balancer

        def lookup(forwarded_for: str) -> int:
            return c.get("/verify", params={"code": CODE}, headers={"X-Forwarded-For": forwarded_for}).status_code

        assert [lookup("198.51.100.1"), lookup("198.51.100.1")] == [404, 404]
        assert lookup("198.51.100.2") == 404  # another client behind the same proxy
        assert lookup("198.51.100.1") == 429
        assert lookup("6.6.6.6, 198.51.100.1") == 429  # what the client wrote itself, left of the proxy's entry
        assert lookup("198.51.100.2, 10.9.9.9") == 404  # two proxies of ours: the client is left of them
        assert lookup("198.51.100.2") == 429
        v6 = ["2001:db8:1:2::1", "2001:db8:1:2::99", "2001:db8:1:2:ffff::7", "2001:db8:1:3::1"]
        assert [lookup(a) for a in v6] == [404, 404, 429, 404]  # IPv6 counts by /64 (a device has a whole /64)


def test_the_real_server_believes_only_a_trusted_peer(sec_stack: Stack) -> None:
    """uvicorn's own proxy handling is off; the app's rule holds on the real server (default TRUSTED_PROXIES).
    An instance of its own, with production's 核验码 limit (the shared stack raises it for the matrix and fuzzing)."""
    limit = LIMITS["verify_code"].count
    base = sec_stack.start_second_bff("bff-limits", RATE_LIMIT_VERIFY_CODE=f"{limit}/{LIMITS['verify_code'].seconds}")
    try:
        url = f"{base}/verify"
        with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"), timeout=10) as stranger:
            codes = [stranger.get(url, params={"code": CODE}, headers={"X-Forwarded-For": f"192.0.2.{n % 250}"})
                     .status_code for n in range(limit + 1)]
        assert codes == [404] * limit + [429]
        with httpx.Client(timeout=10) as proxy:  # 127.0.0.1: trusted by default
            first = [proxy.get(url, params={"code": CODE}, headers={"X-Forwarded-For": "198.51.100.21"}).status_code
                     for _ in range(limit + 1)]
            other = proxy.get(url, params={"code": CODE}, headers={"X-Forwarded-For": "198.51.100.22"}).status_code
    finally:
        sec_stack.stop("bff-limits")
    assert first == [404] * limit + [429] and other == 404


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def records() -> Iterator[Records]:
    handler = Records()
    logger = logging.getLogger("bff.ratelimit")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def test_with_redis_gone_each_instance_counts_and_serves_then_shares_again(tmp_path: Path, records: Records) -> None:
    redis = RedisServer()
    redis.start()
    try:
        peer = portal(tmp_path, REDIS_URL=redis.url, RATE_LIMIT_VERIFY_CODE="3/600")
        limiter = peer.app.state.rate_limits.limiter
        limiter.RECHECK_SECONDS = 0.2  # production waits 5 s between tries
        with client(peer) as c:
            def lookups(n: int) -> list[int]:
                return [c.get("/verify", params={"code": CODE}).status_code for _ in range(n)]

            def counted_in_redis() -> int:
                return len(Redis.from_url(redis.url).keys("portal:rl:verify_code:*"))

            assert lookups(4) == [404, 404, 404, 429]
            assert counted_in_redis() == 1

            redis.stop()
            assert c.get("/verify").status_code == 200  # the public pages are served
            assert c.get("/v/" + "A" * 196).status_code == 200
            assert lookups(4) == [404, 404, 404, 429]  # a fresh window in this instance: not open, not shut
            assert not limiter.shared
            time.sleep(0.3)
            assert lookups(1) == [429]  # tried Redis again, still gone: still counting here
            assert len([m for m in records.messages if "unreachable" in m]) == 1, records.messages  # once an outage

            redis.start()  # same port; it lost its counts
            time.sleep(0.3)
            assert lookups(1) == [404]
            assert limiter.shared and counted_in_redis() == 1
            assert len([m for m in records.messages if "reachable again" in m]) == 1
    finally:
        redis.close()
