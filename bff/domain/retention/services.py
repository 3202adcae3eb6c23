"""Retention: what the portal no longer needs goes, on a schedule (the periods and their reasons: docs/privacy.md).

1. **Drafts**: uploads never attached to a submitted application (``RETENTION_DRAFT_HOURS``, 24 h).
2. **Forwarded originals**: once every application a document is attached to was forwarded (each of its files
   recorded as received by the provincial system) ``RETENTION_ORIGINALS_DAYS`` ago, the bytes as uploaded (photos
   with their metadata, the PDF as signed) and the forwarded copy go; the cleaned copy the person sees stays.
   A document still waiting to be forwarded, or attached to any application not yet forwarded, is kept.
3. **Finished applications**: ``RETENTION_FINISHED_DAYS`` after an application ended (``progress.ENDED``) and
   nothing happened since, its personal fields go (ID number and name kept masked only, phone, post address,
   relative, the reviewing unit's contact, the 存档编号, notes and step details, HR's name and reason, the rating's
   comment) and so does its material. Its reference number, kind, status, dates and certificates stay: the
   certificate (and its PDF) is what the person keeps and verifiers check.
4. **Notifications**: rows no longer pending, ``RETENTION_NOTIFICATIONS_DAYS`` after they were queued (a replayed
   status change lands once because its status event is unique, not because of the row).
5. **Audit rows**: ``AUDIT_RETENTION_DAYS`` (≥ 180) after they were written, through the chain's own purge, which
   leaves a checkpoint (``bff.domain.audit.chain``).

Logs are not the portal's: they leave as JSON on stdout and journald / logrotate keep them (docs/privacy.md).

Every step is idempotent and batched, so every instance may run it (hourly by default); rows another instance
holds are skipped (``SKIP LOCKED`` on PostgreSQL) and taken at the next run. Files are deleted after the commit that
stops referencing them: a failure leaves an unreferenced file, never a reference to a missing one.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bff.db.models import (
    Application,
    ApplicationDocument,
    AuditEntry,
    Document,
    DocumentFile,
    LetterRequest,
    Notification,
    Rating,
    StatusEvent,
)
from bff.domain.applications.progress import ENDED
from bff.domain.audit import SYSTEM, chain
from bff.domain.audit.settings import retention_days_from_env
from bff.domain.uploads.services import purge_stale
from bff.lib.clock import utcnow
from bff.lib.files import FileStore, forget
from bff.lib.masking import mask_id_number, mask_name
from bff.settings import RetentionSettings

log = logging.getLogger("bff.retention")

LOGS_RULE = "JSON on stdout; journald or logrotate keep them 180 days (deploy/logrotate/portal, docs/privacy.md)"


@dataclass
class Outcome:
    """One category's result: how many rows (of ``unit``) and stored files were, or would be, purged."""

    name: str
    label: str
    rule: str
    unit: str
    rows: int = 0
    files: int = 0


@dataclass
class Report:
    dry_run: bool
    now: datetime
    outcomes: list[Outcome] = field(default_factory=list)

    def of(self, name: str) -> Outcome:
        return next(o for o in self.outcomes if o.name == name)

    @property
    def anything(self) -> bool:
        return any(o.rows or o.files for o in self.outcomes)

    def lines(self) -> list[str]:
        verb = "would be purged" if self.dry_run else "purged"
        out = [f"{o.label} ({o.rule}): {o.rows} {o.unit}, {o.files} stored files {verb}" for o in self.outcomes]
        return [*out, f"logs ({LOGS_RULE}): nothing kept by the portal"]

    def event(self) -> dict[str, Any]:
        return {o.name: {"rows": o.rows, "files": o.files} for o in self.outcomes}


# -- 1. drafts ---------------------------------------------------------------------------------------------------

async def purge_drafts(db_sessions: async_sessionmaker[AsyncSession], files: FileStore,
                       settings: RetentionSettings, now: datetime, dry_run: bool) -> Outcome:
    lifetime = timedelta(hours=settings.draft_hours)
    outcome = Outcome("drafts", "drafts and unattached uploads", f"{settings.draft_hours:g} h after upload",
                      "documents")
    stale = select(Document.id).where(Document.state == "draft", Document.created_at < now - lifetime)
    async with db_sessions() as db:
        outcome.rows = int(await db.scalar(select(func.count()).select_from(stale.subquery())) or 0)
        outcome.files = await _stored_files(db, DocumentFile.document_id.in_(stale))
    if dry_run or not outcome.rows:
        return outcome
    done = 0
    while True:
        async with db_sessions() as db:
            n = await purge_stale(db, files, now, lifetime=lifetime, limit=settings.batch)
        done += n
        if n < settings.batch:
            break
    outcome.rows = done
    return outcome


async def _stored_files(db: AsyncSession, which: Any) -> int:
    """Stored objects behind the matching files: the shown copy, and the original when it differs."""
    differs = func.sum(case((DocumentFile.original_key != DocumentFile.display_key, 1), else_=0))
    row = (await db.execute(select(func.count(), differs).where(which))).one()
    return int(row[0] or 0) + int(row[1] or 0)


# -- 2. originals of forwarded material ---------------------------------------------------------------------------

@dataclass
class _Released:
    document_id: uuid.UUID
    keys: set[str]


async def _forwarded_documents(db: AsyncSession, cutoff: datetime, limit: int | None,
                               lock: bool) -> list[_Released]:
    not_yet = (select(ApplicationDocument.id)
               .join(Application, Application.id == ApplicationDocument.application_id)
               .where(ApplicationDocument.document_id == Document.id,
                      or_(ApplicationDocument.forwarded_at.is_(None), Application.forwarded_at.is_(None),
                          Application.forwarded_at >= cutoff)))
    query = (select(Document.id, Document.forward_key)
             .where(Document.state == "attached", Document.forward_key.is_not(None),
                    exists(select(ApplicationDocument.id).where(ApplicationDocument.document_id == Document.id)),
                    ~exists(not_yet))
             .order_by(Document.attached_at))
    if limit is not None:
        query = query.limit(limit)
    if lock:
        query = query.with_for_update(skip_locked=True, of=Document)
    found = {doc_id: forward for doc_id, forward in (await db.execute(query))}
    if not found:
        return []
    shown: dict[uuid.UUID, set[str]] = {d: set() for d in found}
    originals: dict[uuid.UUID, set[str]] = {d: set() for d in found}
    for doc_id, original, display in (await db.execute(
            select(DocumentFile.document_id, DocumentFile.original_key, DocumentFile.display_key)
            .where(DocumentFile.document_id.in_(list(found))))):
        shown[doc_id].add(display)
        originals[doc_id].add(original)
    return [_Released(d, ({*originals[d], forward} if forward else originals[d]) - shown[d]) for d, forward in
            found.items()]


async def purge_forwarded_originals(db_sessions: async_sessionmaker[AsyncSession], files: FileStore,
                                    settings: RetentionSettings, now: datetime, dry_run: bool) -> Outcome:
    cutoff = now - timedelta(days=settings.originals_days)
    outcome = Outcome("originals", "uploaded originals of forwarded material",
                      f"{settings.originals_days:g} days after the application was forwarded", "documents")
    if dry_run:
        async with db_sessions() as db:
            planned = await _forwarded_documents(db, cutoff, None, lock=False)
        outcome.rows, outcome.files = len(planned), sum(len(p.keys) for p in planned)
        return outcome
    while True:
        async with db_sessions() as db:
            batch = await _forwarded_documents(db, cutoff, settings.batch, lock=True)
            if not batch:
                break
            ids = [p.document_id for p in batch]
            await db.execute(update(DocumentFile).where(DocumentFile.document_id.in_(ids))
                             .values(original_key=DocumentFile.display_key))
            await db.execute(update(Document).where(Document.id.in_(ids)).values(forward_key=None))
            await db.commit()
        keys = {k for p in batch for k in p.keys}
        await forget(files, keys)
        outcome.rows += len(batch)
        outcome.files += len(keys)
        if len(batch) < settings.batch:
            break
    return outcome


# -- 3. personal fields of finished applications ------------------------------------------------------------------

KEPT_DETAILS = ("delivery", "needs", "needs_known", "transfer", "applied_by_unit")


def scrubbed(details: dict[str, Any]) -> dict[str, Any]:
    """What stays of an application's details once its retention ended: what was asked and from whom (units are
    not persons), the applicant only masked (as every response already shows them), no contact of anyone."""
    applicant = details.get("applicant") or {}
    review = details.get("review") or None
    return {
        **{k: details[k] for k in KEPT_DETAILS if k in details},
        "purpose": "", "phone": "", "post_address": None, "relative": None,
        "review": {"purpose": review.get("purpose"), "unit": review.get("unit")} if review else None,
        "applicant": {"id_type": str(applicant.get("id_type") or ""),
                      "name": mask_name(str(applicant.get("name") or "")),
                      "id_number": mask_id_number(str(applicant.get("id_number") or ""))},
    }


def _finished(cutoff: datetime) -> Any:
    return and_(Application.status.in_(sorted(ENDED)), Application.updated_at < cutoff,
                Application.purged_at.is_(None))


async def _material_of(db: AsyncSession, app_ids: list[uuid.UUID]) -> dict[uuid.UUID, set[str]]:
    """The documents of these applications that no other application still needs, with all their stored files."""
    if not app_ids:
        return {}
    shared_with_live = exists(
        select(ApplicationDocument.id).join(Application, Application.id == ApplicationDocument.application_id)
        .where(ApplicationDocument.document_id == Document.id, Application.id.not_in(app_ids),
               Application.purged_at.is_(None)))
    docs = {doc_id: forward for doc_id, forward in (await db.execute(
        select(Document.id, Document.forward_key)
        .where(Document.id.in_(select(ApplicationDocument.document_id)
                               .where(ApplicationDocument.application_id.in_(app_ids))), ~shared_with_live)
    ))}
    keys: dict[uuid.UUID, set[str]] = {d: {f} if f else set() for d, f in docs.items()}
    if docs:
        for doc_id, original, display in (await db.execute(
                select(DocumentFile.document_id, DocumentFile.original_key, DocumentFile.display_key)
                .where(DocumentFile.document_id.in_(list(docs))))):
            keys[doc_id] |= {original, display}
    return keys


async def purge_finished(db_sessions: async_sessionmaker[AsyncSession], files: FileStore,
                         settings: RetentionSettings, now: datetime, dry_run: bool) -> Outcome:
    cutoff = now - timedelta(days=settings.finished_days)
    outcome = Outcome("finished", "personal fields and material of finished applications",
                      f"{settings.finished_days:g} days after the application ended", "applications")
    if dry_run:
        async with db_sessions() as db:
            ids = list(await db.scalars(select(Application.id).where(_finished(cutoff))))
            material = await _material_of(db, ids)
        outcome.rows, outcome.files = len(ids), sum(len(k) for k in material.values())
        return outcome
    while True:
        async with db_sessions() as db:
            apps = list(await db.scalars(select(Application).where(_finished(cutoff))
                                         .order_by(Application.updated_at).limit(settings.batch)
                                         .with_for_update(skip_locked=True)))
            if not apps:
                break
            ids = [a.id for a in apps]
            material = await _material_of(db, ids)
            for app in apps:
                app.details = scrubbed(app.details)
                app.archive_no = None
                app.purged_at = now
            await db.execute(update(StatusEvent).where(StatusEvent.application_id.in_(ids))
                             .values(note=None, extra=None))
            await db.execute(update(LetterRequest).where(LetterRequest.application_id.in_(ids))
                             .values(decided_by=None, reason=None))
            await db.execute(update(Rating).where(Rating.application_id.in_(ids)).values(comment=""))
            if material:
                await db.execute(delete(DocumentFile).where(DocumentFile.document_id.in_(list(material))))
                await db.execute(update(Document).where(Document.id.in_(list(material))).values(forward_key=None))
            await db.commit()
        keys = {k for ks in material.values() for k in ks}
        await forget(files, keys)
        outcome.rows += len(apps)
        outcome.files += len(keys)
        if len(apps) < settings.batch:
            break
    return outcome


# -- 4. notification rows -----------------------------------------------------------------------------------------

async def purge_notifications(db_sessions: async_sessionmaker[AsyncSession], files: FileStore,
                              settings: RetentionSettings, now: datetime, dry_run: bool) -> Outcome:
    cutoff = now - timedelta(days=settings.notifications_days)
    outcome = Outcome("notifications", "notification rows no longer pending",
                      f"{settings.notifications_days:g} days after they were queued", "rows")
    due = and_(Notification.state != "pending", Notification.created_at < cutoff)
    if dry_run:
        async with db_sessions() as db:
            outcome.rows = int(await db.scalar(select(func.count()).select_from(Notification).where(due)) or 0)
        return outcome
    while True:
        async with db_sessions() as db:
            ids = list(await db.scalars(select(Notification.id).where(due).limit(settings.batch)))
            if ids:
                await db.execute(delete(Notification).where(Notification.id.in_(ids), due))
                await db.commit()
        outcome.rows += len(ids)
        if len(ids) < settings.batch:
            break
    return outcome


# -- 5. the audit trail ------------------------------------------------------------------------------------------

async def purge_audit(db_sessions: async_sessionmaker[AsyncSession], files: FileStore,
                      settings: RetentionSettings, now: datetime, dry_run: bool) -> Outcome:
    """The oldest audit rows past ``AUDIT_RETENTION_DAYS``, through the chain's own purge (a checkpoint keeps
    ``audit verify`` green)."""
    days = retention_days_from_env()
    outcome = Outcome("audit", "audit rows, leaving a checkpoint that keeps the chain verifiable",
                      f"{days} days after they were written, AUDIT_RETENTION_DAYS", "rows")
    async with db_sessions() as db:
        if dry_run:
            cutoff = now - timedelta(days=days)
            outcome.rows = int(await db.scalar(select(func.count()).select_from(AuditEntry)
                                               .where(AuditEntry.at < cutoff)) or 0)
            return outcome
        purged = await chain.purge(db, days, SYSTEM, now)
        await db.commit()
    outcome.rows = purged.deleted if purged else 0
    return outcome


Step = Callable[[async_sessionmaker[AsyncSession], FileStore, RetentionSettings, datetime, bool], Any]
STEPS: tuple[Step, ...] = (purge_drafts, purge_forwarded_originals, purge_finished, purge_notifications,
                           purge_audit)


async def purge(db_sessions: async_sessionmaker[AsyncSession], files: FileStore, settings: RetentionSettings,
                now: datetime | None = None, *, dry_run: bool = False) -> Report:
    """Every category once, as of ``now``; with ``dry_run`` only counts what is due."""
    report = Report(dry_run=dry_run, now=now or utcnow())
    for step in STEPS:
        report.outcomes.append(await step(db_sessions, files, settings, report.now, dry_run))
    return report


async def retention_forever(db_sessions: async_sessionmaker[AsyncSession], files: FileStore,
                            settings: RetentionSettings) -> None:
    """The background task (one per instance): every category, every ``RETENTION_INTERVAL_SECONDS``."""
    while True:
        try:
            report = await purge(db_sessions, files, settings)
            if report.anything:
                log.info("retention purge", extra={"event": report.event()})
        except Exception:
            log.exception("retention purge failed")
        await asyncio.sleep(settings.interval_seconds)
