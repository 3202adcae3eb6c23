"""Migration 0005 on SQLite and PostgreSQL: rows written before it are encrypted in place with the key the BFF
will use, read back through the models unchanged, and decrypted again by a downgrade."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import JSON, Integer, Uuid, column, select, table, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bff.db.engine import create_engine, session_factory
from bff.db.migrate import alembic_config, upgrade
from bff.db.models import Application, DocumentFile, LetterRequest, Rating, StatusEvent, UtcDateTime
from bff.lib.crypto import Keyring, new_key_spec, parse_keys, use_keyring
from bff.settings import DatabaseSettings
from tests.support.servers import fresh_database

ID_NUMBER, PHONE, NAME = "110105199805120012", "13800138000", "张伟"
DETAILS = {"purpose": "办理落户", "phone": PHONE, "delivery": "post",
           "post_address": {"recipient": NAME, "phone": PHONE, "region_code": "110105", "address": "朝阳北路 101 号",
                            "postcode": "100020"},
           "applicant": {"name": NAME, "id_type": "01", "id_number": ID_NUMBER}}
EXTRA = {"method": "courier", "tracking_no": "SF1234567890"}
NOTE = f"档案中{NAME}的签字不清，请补充"
CLEAR = (ID_NUMBER, PHONE, NAME, "朝阳北路", "SF1234567890", "王经办", "照片", "态度很好")
AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    return fresh_database(request.getfixturevalue("pg_url"), "m0005_" + uuid.uuid4().hex[:8])


def t(name: str, *columns: Any) -> Any:
    return table(name, *[c if not isinstance(c, str) else column(c) for c in columns])


async def write_plaintext_rows(engine: AsyncEngine, app_id: uuid.UUID, document_id: uuid.UUID) -> None:
    """Rows as a portal before 0005 wrote them (the columns of revision 0004)."""
    when = UtcDateTime()
    async with engine.begin() as conn:
        await conn.execute(t("applications", column("id", Uuid), "reference_no", "owner_sub", "idempotency_key",
                             "request_hash", "kind", "status", "holder_key", "initiated_by",
                             column("details", JSON), column("created_at", when), column("updated_at", when))
                           .insert().values(id=app_id, reference_no="SQ20260302AAAA", owner_sub="sub-1",
                                            idempotency_key="k", request_hash="", kind="archive_certificate",
                                            status="refused", holder_key="h" * 64, initiated_by="person",
                                            details=DETAILS, created_at=AT, updated_at=AT))
        events = t("status_events", column("application_id", Uuid), "status", "note", "source",
                   column("occurred_at", when), column("extra", JSON(none_as_null=True)))
        await conn.execute(events.insert().values(application_id=app_id, status="sent", note=NOTE, source="provincial",
                                                  occurred_at=AT, extra=EXTRA))
        await conn.execute(events.insert().values(application_id=app_id, status="submitted", note=None,
                                                  source="portal", occurred_at=AT, extra=None))
        await conn.execute(t("letter_requests", column("id", Uuid), "code", column("application_id", Uuid),
                             "material", "role", "unit_uscc", "unit_name", "state", "reason", "decided_by",
                             column("created_at", when), column("expires_at", when))
                           .insert().values(id=uuid.uuid4(), code="ABCD2345", application_id=app_id,
                                            material="unit_letter", role="current_unit", unit_uscc="9" * 18,
                                            unit_name="杭州云栖科技有限公司", state="declined",
                                            reason="该员工已离职", decided_by="王经办", created_at=AT, expires_at=AT))
        await conn.execute(t("ratings", column("application_id", Uuid), "holder_key", "score", "comment",
                             column("created_at", when))
                           .insert().values(application_id=app_id, holder_key="h" * 64, score=5,
                                            comment="窗口态度很好", created_at=AT))
        await conn.execute(t("documents", column("id", Uuid), "owner_sub", "material", "state",
                             column("created_at", when))
                           .insert().values(id=document_id, owner_sub="sub-1", material="unit_letter",
                                            state="draft", created_at=AT))
        await conn.execute(t("document_files", column("document_id", Uuid), "file_id", "kind", "content_type",
                             "name", column("size", Integer), "upload_sha256", column("pages", Integer),
                             "original_key", "display_key", column("created_at", when))
                           .insert().values(document_id=document_id, file_id="file-0001", kind="image",
                                            content_type="image/jpeg", name=f"{NAME}介绍信照片.jpg", size=10,
                                            upload_sha256="0" * 64, pages=1, original_key="uploads/a.jpg",
                                            display_key="uploads/b.jpg", created_at=AT))


RAW = [("applications", "details"), ("status_events", "extra"), ("status_events", "note"),
       ("letter_requests", "reason"), ("letter_requests", "decided_by"), ("ratings", "comment"),
       ("document_files", "name")]


async def raw_values(engine: AsyncEngine) -> dict[str, list[str]]:
    """Every stored value of the encrypted columns, as text (what a database dump shows)."""
    out: dict[str, list[str]] = {}
    async with engine.connect() as conn:
        for name, col in RAW:
            rows = await conn.execute(text(f"SELECT CAST({col} AS TEXT) FROM {name} WHERE {col} IS NOT NULL"))
            out[f"{name}.{col}"] = [r[0] for r in rows if r[0] != "null"]
    return out


def test_existing_rows_are_encrypted_read_back_and_decrypted_by_a_downgrade(
        database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    key = new_key_spec("m1")
    monkeypatch.setenv("DATA_ENCRYPTION_KEYS", key)
    command.upgrade(alembic_config(database_url), "0004")
    app_id, document_id = uuid.uuid4(), uuid.uuid4()

    async def before() -> dict[str, list[str]]:
        engine = create_engine(DatabaseSettings(url=database_url, echo=False))
        try:
            await write_plaintext_rows(engine, app_id, document_id)
            return await raw_values(engine)
        finally:
            await engine.dispose()

    plain = asyncio.run(before())
    assert any(ID_NUMBER in v for v in plain["applications.details"])  # the starting point: in clear

    upgrade(database_url)

    async def after() -> tuple[dict[str, list[str]], Application, list[StatusEvent], LetterRequest, Rating,
                               DocumentFile]:
        engine = create_engine(DatabaseSettings(url=database_url, echo=False))
        use_keyring(engine, Keyring(parse_keys(key)))
        try:
            raw = await raw_values(engine)
            async with session_factory(engine)() as db:
                app = await db.get_one(Application, app_id)
                events = list(await db.scalars(select(StatusEvent).order_by(StatusEvent.id)))
                request = await db.scalar(select(LetterRequest))
                rating = await db.get_one(Rating, app_id)
                file = await db.scalar(select(DocumentFile))
            assert request is not None and file is not None
            return raw, app, events, request, rating, file
        finally:
            await engine.dispose()

    raw, app, events, request, rating, file = asyncio.run(after())
    for name, values in raw.items():
        assert len(values) == len(plain[name]), name
        for value in values:
            assert value.startswith(('enc1:m1:', '"enc1:m1:')), (name, value[:20])
            assert not any(clear in value for clear in CLEAR), name
    assert app.details == DETAILS and app.purged_at is None
    assert [(e.note, e.extra) for e in events] == [(NOTE, EXTRA), (None, None)]
    assert (request.reason, request.decided_by) == ("该员工已离职", "王经办")
    assert rating.comment == "窗口态度很好" and file.name == f"{NAME}介绍信照片.jpg"

    upgrade(database_url)  # again: nothing to do, nothing encrypted twice
    assert asyncio.run(after())[1].details == DETAILS

    command.downgrade(alembic_config(database_url), "0004")

    async def downgraded() -> dict[str, list[str]]:
        engine = create_engine(DatabaseSettings(url=database_url, echo=False))
        try:
            return await raw_values(engine)
        finally:
            await engine.dispose()

    back = asyncio.run(downgraded())
    assert {k: sorted(v) for k, v in back.items()}.keys() == plain.keys()
    assert json.loads(back["applications.details"][0]) == DETAILS
    assert json.loads(back["status_events.extra"][0]) == EXTRA
    for name in ("status_events.note", "letter_requests.reason", "letter_requests.decided_by", "ratings.comment",
                 "document_files.name"):
        assert back[name] == plain[name], name


def test_an_empty_database_migrates_without_a_key(database_url: str, monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    monkeypatch.delenv("DATA_ENCRYPTION_KEYS", raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    upgrade(database_url)
    assert not (tmp_path / "data" / "keys").exists()  # no key is made for nothing to encrypt


def test_the_migration_covers_every_encrypted_column_of_the_models() -> None:
    """The migration's list is frozen; the models' list is found by type (``reencrypt`` and the startup check
    use it). A column encrypted later needs its own migration: this says so."""
    from bff.db.encryption import encrypted_columns

    assert {c.context for c in encrypted_columns()} == {f"{a}.{b}" for a, b in RAW}
