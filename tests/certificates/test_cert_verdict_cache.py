"""The verification page keeps a certificate's facts in memory (``verification.cache``), yet a revocation or a
reissue shows on the very next request: in the instance that recorded it, and through Redis in another one. A
change made outside the BFF shows within the cache's TTL."""

from __future__ import annotations

import datetime as dt
import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import text

from bff.db.migrate import upgrade
from bff.db.models import Application, Certificate
from bff.domain.certificates import services as certificates
from bff.domain.verification import cache as verdict_cache
from bff.domain.verification.cache import CertificateFacts, VerdictCache
from bff.domain.verification.tokens import TokenClaims, holder_hash, new_certificate_id
from tests.support.inprocess import inprocess_app
from tests.support.servers import free_port

BASE = "http://127.0.0.1:8000"
VALID, REVOKED, SUPERSEDED = "证明真实有效", "证明已被撤销", "已被新证明替代"


def portal(base: Path, **env: str) -> Litestar:
    """An instance on ``base``'s database and keys (two calls: two instances sharing them)."""
    return inprocess_app(base, OIDC_ISSUER=f"http://127.0.0.1:{free_port()}", **env)


async def issue_row(app: Litestar) -> tuple[str, str]:
    """A certificate row as ``certificates.services.issue`` leaves it, and its QR token: (certificate id, token)."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    cid, salt = new_certificate_id(), secrets.token_bytes(16)
    expires = now.date() + dt.timedelta(days=90)
    async with app.state.db_sessions() as db:
        application = Application(
            id=uuid.uuid4(), reference_no="DA" + secrets.token_hex(5).upper(), owner_sub="sub-zhangwei",
            idempotency_key=secrets.token_hex(8), request_hash="0" * 64, kind="archive_certificate",
            status="completed", holder_key="0" * 64, details={}, created_at=now, updated_at=now)
        db.add(application)
        await db.flush()
        db.add(Certificate(
            id=cid, application_id=application.id, owner_sub="sub-zhangwei", kind="archive_certificate",
            certificate_no="CZ" + secrets.token_hex(6).upper(), agency_name="北京市朝阳区人才服务中心",
            holder_name_masked="*伟", holder_id_masked="110105********0012", issued_on=now.date().isoformat(),
            template_version="v1", token_kid=app.state.token_keys.current_kid, sha256="0" * 64, storage_key="x",
            created_at=now, expires_on=expires.isoformat(), status_index=secrets.randbelow(1 << 20), salt=salt.hex(),
            id_hash=holder_hash(salt, "id", "110105199805120012").hex()))
        await db.commit()
    token = app.state.token_keys.issue(TokenClaims(
        certificate_id=cid, kind="archive_certificate", status_index=1, issued_at=now, expires_on=expires,
        content_hash=bytes(16), name_hash=holder_hash(salt, "name", "张伟"),
        id_hash=holder_hash(salt, "id", "110105199805120012")))
    return cid, token


async def revoke(app: Litestar, cid: str, reason: str) -> None:
    """What the poller does on the provincial system's ``revoked`` change."""
    async with app.state.db_sessions() as db:
        certificate = await db.get(Certificate, cid)
        assert certificate is not None
        application = await db.get(Application, certificate.application_id)
        assert application is not None
        await certificates.revoke(db, application, reason)
        await db.commit()


async def supersede(app: Litestar, cid: str) -> None:
    """What a reissue does to the certificate it replaces."""
    async with app.state.db_sessions() as db:
        certificate = await db.get(Certificate, cid)
        assert certificate is not None
        certificate.superseded_at = dt.datetime.now(dt.UTC)
        await db.commit()


def headline(c: TestClient[Any], token: str) -> str:
    page = c.get(f"/V/{token}")
    assert page.status_code == 200, page.text
    for words in (VALID, REVOKED, SUPERSEDED):
        if f"<h1>{words}</h1>" in page.text:
            return words
    raise AssertionError(page.text[:500])


@pytest.fixture
def base(tmp_path: Path) -> Path:
    upgrade(f"sqlite+aiosqlite:///{tmp_path / 'portal.db'}")
    return tmp_path


def test_a_revocation_shows_on_the_next_request_though_the_page_was_cached(base: Path) -> None:
    app = portal(base)
    with TestClient(app, base_url=BASE) as c:
        cid, token = c.blocking_portal.call(issue_row, app)
        assert headline(c, token) == VALID
        assert headline(c, token) == VALID and app.state.verdicts.get(cid) is not None  # served from memory now
        c.blocking_portal.call(revoke, app, cid, "证明内容有误")
        page = c.get(f"/V/{token}")
        assert f"<h1>{REVOKED}</h1>" in page.text and "撤销原因：证明内容有误" in page.text


def test_a_reissue_shows_the_old_certificate_superseded_at_once(base: Path) -> None:
    app = portal(base)
    with TestClient(app, base_url=BASE) as c:
        cid, token = c.blocking_portal.call(issue_row, app)
        assert headline(c, token) == VALID
        c.blocking_portal.call(supersede, app, cid)
        assert headline(c, token) == SUPERSEDED


def test_another_instance_hears_of_the_revocation_through_redis(base: Path, redis_url: str) -> None:
    redis = redis_url.rsplit("/", 1)[0] + "/5"  # rate-limit windows apart from other tests
    first, second = portal(base, REDIS_URL=redis), portal(base, REDIS_URL=redis)
    # Both instances live in this process; forget that the second one's cache is reachable from here, so that only
    # the Redis channel can tell it, as it would another process. Its own TTL is long: only the message counts.
    verdict_cache._caches.discard(second.state.verdicts)
    second.state.verdicts.ttl = 600
    with TestClient(first, base_url=BASE) as a, TestClient(second, base_url=BASE) as b:
        cid, token = a.blocking_portal.call(issue_row, first)
        assert headline(a, token) == VALID and headline(b, token) == VALID
        assert second.state.verdicts.get(cid) is not None
        a.blocking_portal.call(revoke, first, cid, "证明内容有误")
        assert headline(a, token) == REVOKED
        deadline = time.monotonic() + 5
        while headline(b, token) != REVOKED:
            assert time.monotonic() < deadline, "the other instance still shows the revoked certificate as valid"
            time.sleep(0.02)


def test_a_change_made_outside_the_bff_shows_within_the_ttl(base: Path) -> None:
    app = portal(base)
    app.state.verdicts.ttl = 0.5
    with TestClient(app, base_url=BASE) as c:
        cid, token = c.blocking_portal.call(issue_row, app)
        assert headline(c, token) == VALID

        async def by_hand() -> None:  # SQL an operator might run: the ORM does not see it
            async with app.state.db_sessions() as db:
                await db.execute(text("UPDATE certificates SET revoked_at = :now WHERE id = :id"),
                                 {"now": dt.datetime.now(dt.UTC), "id": cid})
                await db.commit()

        c.blocking_portal.call(by_hand)
        time.sleep(0.6)
        assert headline(c, token) == REVOKED


def test_a_read_begun_before_a_change_does_not_put_the_old_facts_back() -> None:
    cache = VerdictCache()
    facts = CertificateFacts(
        id="AAAAAAAAAAAAAAAA", kind="archive_certificate", agency_name="x", certificate_no="CZ1",
        issued_on=dt.date(2026, 1, 1), expires_on=None, holder_name_masked="*伟", holder_id_masked="1101**",
        revoked=False, revoked_reason=None, superseded=False)
    generation = cache.generation  # a request starts reading the row...
    cache.forget([facts.id])  # ...the revocation commits meanwhile...
    cache.put(facts, generation)  # ...and the request's (old) answer is not kept
    assert cache.get(facts.id) is None
    cache.put(facts, cache.generation)
    assert cache.get(facts.id) == facts


@pytest.fixture(autouse=True)
def _no_leftover_caches() -> Iterator[None]:
    yield
    verdict_cache._caches.clear()  # instances of finished tests need no more telling
