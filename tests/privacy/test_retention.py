"""The retention purge with an explicit ``now`` on SQLite and PostgreSQL, files in a real store: each category goes
when due and not before, and nothing still needed goes (an application in progress, a certificate, material the
relay has not forwarded yet, a letter another live application uses). Then ``python -m bff purge`` by hand."""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bff.db.engine import create_engine, session_factory
from bff.db.migrate import upgrade
from bff.db.models import (
    Application,
    ApplicationDocument,
    Certificate,
    Document,
    DocumentFile,
    LetterRequest,
    Notification,
    Rating,
    StatusEvent,
)
from bff.domain.audit import SYSTEM, Entry, chain
from bff.domain.retention.services import purge
from bff.lib.crypto import Keyring, new_key_spec, parse_keys, use_keyring
from bff.lib.files import LocalFileStore
from bff.settings import DatabaseSettings, RetentionSettings
from tests.support.servers import fresh_database
from tests.support.stack import REPO

ID_NUMBER, PHONE, NAME, RELATIVE = "110105199805120012", "13800138000", "张伟", "张建国"
KEY = new_key_spec("r1")
T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
SETTINGS = RetentionSettings(enabled=True, interval_seconds=3600, draft_hours=24, originals_days=30,
                             finished_days=365, notifications_days=30, batch=2)  # small batches: the loops run
DETAILS = {"purpose": "办理落户", "phone": PHONE, "delivery": "post", "needs": [], "needs_known": True,
           "post_address": {"recipient": NAME, "phone": PHONE, "region_code": "110105", "address": "朝阳北路 101 号",
                            "postcode": "100020"},
           "relative": {"relation": "51", "name": RELATIVE},
           "review": {"purpose": "party", "unit": {"name": "某某大学", "uscc": "12100000400000624D"},
                      "contact_name": "李老师", "contact_phone": "01062751234"},
           "applicant": {"name": NAME, "id_type": "01", "id_number": ID_NUMBER}}
CLEAR = (ID_NUMBER, PHONE, NAME, RELATIVE, "朝阳北路", "李老师", "01062751234", "办理落户")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'portal.db'}"
    else:
        url = fresh_database(request.getfixturevalue("pg_url"), "retention_" + uuid.uuid4().hex[:8])
    upgrade(url)
    return url


@pytest.fixture
async def db_sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(DatabaseSettings(url=database_url, echo=False))
    use_keyring(engine, Keyring(parse_keys(KEY)))
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
def files(tmp_path: Path) -> LocalFileStore:
    return LocalFileStore(tmp_path / "files")


# -- builders: rows as the services leave them ---------------------------------------------------------------------

async def application(db: AsyncSession, status: str, at: datetime, *, forwarded_at: datetime | None = None,
                      details: dict[str, Any] | None = None) -> Application:
    app = Application(id=uuid.uuid4(), reference_no="SQ" + secrets.token_hex(6).upper(), owner_sub="sub-zhangwei",
                      idempotency_key=secrets.token_hex(8), request_hash="", kind="political_review", status=status,
                      holder_key="h" * 64, initiated_by="person", agency_code="11010501",
                      agency_name="北京市朝阳区人才服务中心", archive_no="11010500001234",
                      details=details or DETAILS, forwarded_at=forwarded_at, created_at=at, updated_at=at)
    db.add(app)
    await db.flush()
    return app


async def document(db: AsyncSession, files: LocalFileStore, at: datetime, *, state: str = "attached",
                   pages: int = 1) -> Document:
    """A letter of ``pages`` photos: each with its shown copy and its original; attached ones with a forward PDF."""
    doc = Document(id=uuid.uuid4(), owner_sub="sub-zhangwei", material="review_letter", state=state, created_at=at,
                   attached_at=at if state == "attached" else None)
    db.add(doc)
    for n in range(pages):
        shown, original = f"uploads/{secrets.token_hex(8)}.jpg", f"uploads/{secrets.token_hex(8)}.jpg"
        await files.put(shown, b"shown", "image/jpeg")
        await files.put(original, b"original with EXIF", "image/jpeg")
        db.add(DocumentFile(document_id=doc.id, file_id=f"file-{n:04d}", kind="image", content_type="image/jpeg",
                            name=f"{NAME}的政审函{n}.jpg", size=10, upload_sha256="0" * 64, pages=1,
                            original_key=original, display_key=shown, created_at=at))
    if state == "attached":
        doc.forward_key = f"uploads/{secrets.token_hex(8)}.pdf"
        doc.forward_sha256 = "0" * 64
        await files.put(doc.forward_key, b"%PDF forward", "application/pdf")
    await db.flush()
    return doc


async def attach(db: AsyncSession, app: Application, doc: Document, forwarded_at: datetime | None,
                 role: str = "review_unit") -> None:
    db.add(ApplicationDocument(application_id=app.id, document_id=doc.id, material=doc.material, role=role,
                               attached_by="person", forwarded_at=forwarded_at, created_at=doc.created_at))
    await db.flush()


async def keys_of(db: AsyncSession, doc: Document) -> dict[str, set[str]]:
    rows = (await db.execute(select(DocumentFile.original_key, DocumentFile.display_key)
                             .where(DocumentFile.document_id == doc.id))).all()
    found = await db.scalar(select(Document.forward_key).where(Document.id == doc.id))
    return {"original": {r[0] for r in rows}, "shown": {r[1] for r in rows}, "forward": {found} if found else set()}


def stored(files: LocalFileStore, keys: set[str]) -> set[str]:
    return {k for k in keys if (files.root / k).is_file()}


async def run(db_sessions: async_sessionmaker[AsyncSession], files: LocalFileStore, now: datetime,
              dry_run: bool = False, settings: RetentionSettings = SETTINGS) -> dict[str, tuple[int, int]]:
    report = await purge(db_sessions, files, settings, now, dry_run=dry_run)
    return {o.name: (o.rows, o.files) for o in report.outcomes}


NOTHING = {"drafts": (0, 0), "originals": (0, 0), "finished": (0, 0), "notifications": (0, 0), "audit": (0, 0)}


# -- 1. drafts --------------------------------------------------------------------------------------------------

async def test_drafts_go_a_day_after_upload_and_not_before(db_sessions: async_sessionmaker[AsyncSession],
                                                           files: LocalFileStore) -> None:
    async with db_sessions() as db:
        drafts = [await document(db, files, T0, state="draft", pages=2) for _ in range(3)]
        fresh = await document(db, files, T0 + timedelta(hours=2), state="draft")
        app = await application(db, "accepted", T0, forwarded_at=T0)
        attached = await document(db, files, T0)
        await attach(db, app, attached, T0)
        await db.commit()
        before = {d.id: await keys_of(db, d) for d in [*drafts, fresh, attached]}
    all_keys = {k for ks in before.values() for kind in ks.values() for k in kind}

    assert await run(db_sessions, files, T0 + timedelta(hours=23)) == NOTHING
    assert await run(db_sessions, files, T0 + timedelta(hours=25), dry_run=True) == {**NOTHING, "drafts": (3, 12)}
    assert stored(files, all_keys) == all_keys  # a dry run changes nothing
    assert await run(db_sessions, files, T0 + timedelta(hours=25)) == {**NOTHING, "drafts": (3, 12)}

    async with db_sessions() as db:
        left = set(await db.scalars(select(Document.id)))
    assert left == {fresh.id, attached.id}
    gone = {k for d in drafts for kind in before[d.id].values() for k in kind}
    assert not stored(files, gone)
    assert stored(files, all_keys - gone) == all_keys - gone
    assert await run(db_sessions, files, T0 + timedelta(hours=27)) == {**NOTHING, "drafts": (1, 2)}


# -- 2. originals of forwarded material -----------------------------------------------------------------------------

async def test_originals_go_30_days_after_forwarding_and_only_when_nothing_waits_for_them(
        db_sessions: async_sessionmaker[AsyncSession], files: LocalFileStore) -> None:
    async with db_sessions() as db:
        done = await application(db, "accepted", T0, forwarded_at=T0)  # in progress, but forwarded
        sent = await document(db, files, T0, pages=2)
        await attach(db, done, sent, T0)
        queued = await application(db, "submitted", T0)  # the relay has not forwarded it yet (provincial outage)
        waiting = await document(db, files, T0)
        await attach(db, queued, waiting, None)
        half = await application(db, "accepted", T0, forwarded_at=T0)  # forwarded, one file not recorded as sent
        unsent = await document(db, files, T0)
        await attach(db, half, unsent, None)
        shared = await document(db, files, T0)  # one letter for two: the second application is not forwarded
        await attach(db, done, shared, T0, role="current_unit")
        await attach(db, queued, shared, None, role="current_unit")
        await db.commit()
        before = {d.id: await keys_of(db, d) for d in (sent, waiting, unsent, shared)}

    assert await run(db_sessions, files, T0 + timedelta(days=29)) == NOTHING
    assert (await run(db_sessions, files, T0 + timedelta(days=31), dry_run=True))["originals"] == (1, 3)
    assert await run(db_sessions, files, T0 + timedelta(days=31)) == {**NOTHING, "originals": (1, 3)}

    released = before[sent.id]
    assert not stored(files, released["original"] | released["forward"])
    assert stored(files, released["shown"]) == released["shown"]  # the person still sees what they sent
    async with db_sessions() as db:
        after = await keys_of(db, sent)
    assert after == {"original": released["shown"], "shown": released["shown"], "forward": set()}
    for kept in (waiting, unsent, shared):
        everything = {k for kind in before[kept.id].values() for k in kind}
        assert stored(files, everything) == everything
    assert await run(db_sessions, files, T0 + timedelta(days=200)) == NOTHING  # idempotent


# -- 3. finished applications -----------------------------------------------------------------------------------

async def test_a_finished_application_loses_its_personal_data_a_year_after_it_ended(
        db_sessions: async_sessionmaker[AsyncSession], files: LocalFileStore) -> None:
    async with db_sessions() as db:
        ended = await application(db, "certificate_issued", T0, forwarded_at=T0)
        letter = await document(db, files, T0)
        await attach(db, ended, letter, T0)
        db.add(StatusEvent(application_id=ended.id, status="sent", note=f"{NAME}的档案已转出", source="provincial",
                           occurred_at=T0, extra={"method": "courier", "tracking_no": "SF1234567890"}))
        db.add(LetterRequest(id=uuid.uuid4(), code="ABCD2345", application_id=ended.id, material="unit_letter",
                             role="current_unit", unit_uscc="9" * 18, unit_name="杭州云栖科技有限公司",
                             state="declined", reason=f"{NAME}已离职", decided_by="王经办", created_at=T0,
                             expires_at=T0, decided_at=T0))
        db.add(Rating(application_id=ended.id, holder_key="h" * 64, score=4, comment=f"{NAME}觉得很好",
                      created_at=T0))
        pdf_key = "certificates/2026/01/05/cert.pdf"
        await files.put(pdf_key, b"%PDF signed certificate", "application/pdf")
        db.add(Certificate(id="C" * 16, application_id=ended.id, owner_sub="sub-zhangwei", kind="political_review",
                           certificate_no="ZS2026000001", agency_name="北京市朝阳区人才服务中心",
                           holder_name_masked="张*", holder_id_masked="110105********0012", issued_on="2026-01-05",
                           template_version="v1", token_kid="kid", sha256="0" * 64, storage_key=pdf_key,
                           created_at=T0))
        live = await application(db, "accepted", T0, forwarded_at=T0)  # in progress for a year: kept whole
        live_letter = await document(db, files, T0)
        await attach(db, live, live_letter, T0)
        both = await document(db, files, T0)  # one letter, attached to both
        await attach(db, ended, both, T0, role="current_unit")
        await attach(db, live, both, T0, role="current_unit")
        await db.commit()
        before = {d.id: await keys_of(db, d) for d in (letter, live_letter, both)}
    # as in real life, the originals went first (30 days after forwarding): 3 letters, original and forward copy
    assert await run(db_sessions, files, T0 + timedelta(days=31)) == {**NOTHING, "originals": (3, 6)}

    assert (await run(db_sessions, files, T0 + timedelta(days=364)))["finished"] == (0, 0)
    assert (await run(db_sessions, files, T0 + timedelta(days=366), dry_run=True))["finished"] == (1, 1)
    assert (await run(db_sessions, files, T0 + timedelta(days=366)))["finished"] == (1, 1)

    async with db_sessions() as db:
        app = await db.get_one(Application, ended.id, populate_existing=True)
        text = json.dumps(app.details, ensure_ascii=False)
        assert not any(clear in text for clear in CLEAR), text
        assert app.details["applicant"] == {"id_type": "01", "name": "张*", "id_number": "110105********0012"}
        assert app.details["review"] == {"purpose": "party", "unit": {"name": "某某大学", "uscc": "12100000400000624D"}}
        assert app.archive_no is None and app.purged_at == T0 + timedelta(days=366)
        assert (app.reference_no, app.status) == (ended.reference_no, "certificate_issued")
        notes = (await db.execute(select(StatusEvent.note, StatusEvent.extra)
                                  .where(StatusEvent.application_id == ended.id))).all()
        assert [tuple(n) for n in notes] == [(None, None)]
        request = await db.scalar(select(LetterRequest).where(LetterRequest.application_id == ended.id))
        assert request is not None and (request.reason, request.decided_by, request.state) == (None, None, "declined")
        rating = await db.get_one(Rating, ended.id, populate_existing=True)
        assert (rating.score, rating.comment) == (4, "")
        assert await db.scalar(select(func.count()).select_from(DocumentFile)
                               .where(DocumentFile.document_id == letter.id)) == 0
        certificate = await db.get_one(Certificate, "C" * 16)
        assert certificate.revoked_at is None and certificate.storage_key == pdf_key
        kept = await db.get_one(Application, live.id, populate_existing=True)
        assert kept.details == DETAILS and kept.archive_no == "11010500001234" and kept.purged_at is None
    assert stored(files, {pdf_key}) == {pdf_key}  # the certificate stays downloadable
    assert not stored(files, before[letter.id]["shown"])
    for doc in (live_letter, both):
        assert stored(files, before[doc.id]["shown"]) == before[doc.id]["shown"]
    assert (await run(db_sessions, files, T0 + timedelta(days=800)))["finished"] == (0, 0)


async def test_an_application_that_moved_on_since_is_not_finished_yet(
        db_sessions: async_sessionmaker[AsyncSession], files: LocalFileStore) -> None:
    """The year counts from the last change (a reissued certificate, a late revocation), not from submission."""
    async with db_sessions() as db:
        app = await application(db, "completed", T0)
        app.updated_at = T0 + timedelta(days=200)
        await db.commit()
    assert (await run(db_sessions, files, T0 + timedelta(days=366)))["finished"] == (0, 0)
    assert (await run(db_sessions, files, T0 + timedelta(days=566)))["finished"] == (1, 0)


# -- 4. notification rows ---------------------------------------------------------------------------------------

async def test_notification_rows_go_30_days_after_they_were_queued_unless_still_pending(
        db_sessions: async_sessionmaker[AsyncSession], files: LocalFileStore) -> None:
    async with db_sessions() as db:
        app = await application(db, "accepted", T0, forwarded_at=T0)
        events = [StatusEvent(application_id=app.id, status="accepted", note=None, source="provincial",
                              occurred_at=T0) for _ in range(4)]
        db.add_all(events)
        await db.flush()
        for event, (channel, state) in zip(events, [("sms", "sent"), ("push", "merged"), ("sms", "failed"),
                                                    ("sms", "pending")], strict=True):
            db.add(Notification(event_id=event.id, application_id=app.id, holder_key="h" * 64, channel=channel,
                                state=state, attempts=1, next_attempt_at=T0, created_at=T0,
                                sent_at=T0 if state == "sent" else None))
        await db.commit()
    assert (await run(db_sessions, files, T0 + timedelta(days=29)))["notifications"] == (0, 0)
    assert (await run(db_sessions, files, T0 + timedelta(days=31)))["notifications"] == (3, 0)
    async with db_sessions() as db:
        assert list(await db.scalars(select(Notification.state))) == ["pending"]


async def test_audit_rows_go_after_their_period_leaving_a_checkpoint(
        db_sessions: async_sessionmaker[AsyncSession], files: LocalFileStore) -> None:
    async with db_sessions() as db:
        for n in range(3):
            await chain.append(db, Entry("application.view", "ok", "application", f"app-{n}", {}), SYSTEM, T0)
        await db.commit()
    assert (await run(db_sessions, files, T0 + timedelta(days=364)))["audit"] == (0, 0)  # 365 days by default
    assert (await run(db_sessions, files, T0 + timedelta(days=366)))["audit"] == (3, 0)
    async with db_sessions() as db:
        report = await chain.verify(db)
    assert report.ok and report.purged_through == 3


# -- by hand ----------------------------------------------------------------------------------------------------

def test_the_purge_command_says_what_is_due_and_purges_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    url = f"sqlite+aiosqlite:///{tmp_path / 'portal.db'}"
    upgrade(url)
    now = datetime.now(UTC)

    async def seed() -> None:
        engine = create_engine(DatabaseSettings(url=url, echo=False))
        use_keyring(engine, Keyring(parse_keys(KEY)))
        store = LocalFileStore(data / "files")
        async with session_factory(engine)() as db:
            await document(db, store, now - timedelta(days=2), state="draft")
            await application(db, "refused", now - timedelta(days=400))
            await db.commit()
        await engine.dispose()

    asyncio.run(seed())
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "DATABASE_URL": url, "DATA_DIR": str(data),
           "DATA_ENCRYPTION_KEYS": KEY}

    def purge_command(*args: str, **extra: str) -> str:
        done = subprocess.run([sys.executable, "-m", "bff", "purge", *args], cwd=REPO, env={**env, **extra},
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    out = purge_command("--dry-run")
    assert "(dry run)" in out
    assert "drafts and unattached uploads (24 h after upload): 1 documents, 2 stored files would be purged" in out
    assert ("personal fields and material of finished applications (365 days after the application ended): "
            "1 applications, 0 stored files would be purged") in out
    assert "logs (" in out and "180 days" in out
    out = purge_command(RETENTION_FINISHED_DAYS="500")  # the period comes from the environment
    assert "drafts and unattached uploads (24 h after upload): 1 documents, 2 stored files purged" in out
    assert "(500 days after the application ended): 0 applications, 0 stored files purged" in out
    out = purge_command()
    assert "1 applications, 0 stored files purged" in out
    assert "0 documents" in purge_command("--dry-run")


def test_the_settings_defaults_are_the_documented_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RETENTION_ENABLED", "RETENTION_INTERVAL_SECONDS", "RETENTION_DRAFT_HOURS",
                 "RETENTION_ORIGINALS_DAYS", "RETENTION_FINISHED_DAYS", "RETENTION_NOTIFICATIONS_DAYS",
                 "RETENTION_BATCH"):
        monkeypatch.delenv(name, raising=False)
    defaults = RetentionSettings.from_env()
    assert defaults == replace(SETTINGS, batch=500)
    docs = (REPO / "docs" / "privacy.md").read_text()
    for name, value in [("RETENTION_DRAFT_HOURS", "24"), ("RETENTION_ORIGINALS_DAYS", "30"),
                        ("RETENTION_FINISHED_DAYS", "365"), ("RETENTION_NOTIFICATIONS_DAYS", "30")]:
        assert f"`{name}` | {value}" in docs, name
