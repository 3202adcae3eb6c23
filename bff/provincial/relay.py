"""The outbox relay: forwards what the portal owes the provincial system, exactly once, for as long as it takes.

Each row is leased before it is worked on. Failures are retried with capped exponential backoff and jitter;
after the retry window a row is dead-lettered with an alert. A submit that timed out is looked up before it is
sent again (the provincial system also honours the application id as idempotency key).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bff.db.models import Application, ApplicationDocument, Document, OutboxMessage, StatusEvent
from bff.domain import audit
from bff.domain.applications import transfers
from bff.domain.certificates.services import Issuer, issue
from bff.domain.materials import services as materials
from bff.lib.clock import iso_china, utcnow
from bff.lib.files import FileStore
from bff.lib.retry import backoff
from bff.provincial.client import ProvincialApi, ProvincialRejected, ProvincialTimeout, ProvincialUnavailable
from bff.provincial.leases import lease_outbox
from bff.provincial.outbox import RESENT
from bff.settings import ProvincialSettings

log = logging.getLogger("bff.relay")
OnChange = Callable[[str, str, str], None]  # holder_key, application_id, status
LEASE_MARGIN = 30.0


class RetryLater(Exception):
    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


class GiveUp(Exception):
    """Trying again will not help: dead-letter now, with an alert."""



def submit_payload(app: Application, sent: list[tuple[ApplicationDocument, Document]]) -> dict[str, Any]:
    details = app.details
    payload: dict[str, Any] = {
        "application_id": str(app.id),
        "reference_no": app.reference_no,
        "kind": app.kind,
        "applicant": {**details["applicant"], "phone": details["phone"]},
        "archive_no": app.archive_no,
        "agency_code": app.agency_code,
        "delivery": details["delivery"],
        "purpose": details["purpose"],
        "submitted_at": iso_china(app.created_at),
        "materials": [{"file_id": str(d.id), "material": a.material, "sha256": d.forward_sha256} for a, d in sent],
    }
    for optional in ("post_address", "relative", "review", "applied_by_unit"):
        if details.get(optional):
            payload[optional] = details[optional]
    transfer = details.get("transfer")
    if transfer:
        payload["transfer"] = {k: transfer.get(k) for k in ("target_agency_code", "target_nature", "unit",
                                                             "initiated_by", "flow")}
    return payload


class Relay:
    def __init__(self, db_sessions: async_sessionmaker[AsyncSession], provincial: ProvincialApi,
                 settings: ProvincialSettings, issuer: Issuer, files: FileStore, on_change: OnChange) -> None:
        self.db_sessions = db_sessions
        self.files = files
        self.provincial = provincial
        self.settings = settings
        self.issuer = issuer
        self.on_change = on_change
        self.owner = "relay-" + secrets.token_hex(6)
        self._slots = asyncio.Semaphore(settings.relay_concurrency)

    async def run(self, wakeup: asyncio.Event) -> None:
        while True:
            try:
                worked = await self.drain_once()
            except Exception:
                log.exception("relay pass failed")
                worked = 0
            if worked >= self.settings.relay_batch:
                continue  # a full batch, all ours: a backlog is draining, so the next batch goes at once
            try:
                await asyncio.wait_for(wakeup.wait(), self.settings.relay_interval)
            except TimeoutError:
                pass
            wakeup.clear()

    async def drain_once(self, now: datetime | None = None) -> int:
        """One pass over the due rows; returns how many were worked on."""
        now = now or utcnow()
        async with self.db_sessions() as db:
            due = list(await db.scalars(
                select(OutboxMessage.id)
                .where(OutboxMessage.done_at.is_(None), OutboxMessage.dead_at.is_(None),
                       OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.next_attempt_at).limit(self.settings.relay_batch)
            ))
        results = await asyncio.gather(*(self._work(row_id) for row_id in due))
        return sum(results)

    async def _work(self, row_id: int) -> int:
        async with self._slots, self.db_sessions() as db:
            # A lease still set when it is taken over means its holder died mid-attempt (killed between the
            # commit and the answer): what it sent may have arrived, so look it up before sending again.
            interrupted = await db.scalar(select(OutboxMessage.lease_until).where(OutboxMessage.id == row_id))
            if not await lease_outbox(db, row_id, self.owner, self.settings.timeout + LEASE_MARGIN):
                return 0
            row = await db.get(OutboxMessage, row_id)
            if row is None:
                return 0
            app = await db.get(Application, row.application_id)
            if app is None:
                return 0
            change = (app.holder_key, str(app.id), app.status)
            try:
                status = await self._handle(db, row, app, uncertain=interrupted is not None)
                row.done_at = utcnow()
                row.lease_until = None
                row.last_error = None
                if row.kind != "submit" or app.forwarded_at is not None:  # not when it waits for material
                    await audit.record_in(db, audit.Entry("relay.forward", "ok", "application", str(app.id),
                                                          {"outbox_id": row.id, "kind": row.kind}), audit.SYSTEM)
                await db.commit()
            except RetryLater as exc:
                await self._retry(db, row_id, change, exc.kind, str(exc))
                return 1
            except GiveUp as exc:
                await self._dead(db, row_id, change, str(exc))
                return 1
            except Exception as exc:
                log.exception("outbox row %s failed", row_id)
                await self._retry(db, row_id, change, "error", type(exc).__name__)
                return 1
            self.on_change(change[0], change[1], status)
            return 1

    async def _handle(self, db: AsyncSession, row: OutboxMessage, app: Application, *, uncertain: bool) -> str:
        """``uncertain``: an earlier attempt may have reached the provincial system without an answer."""
        uncertain = uncertain or row.last_error_kind in ("timeout", RESENT)
        try:
            if row.kind == "submit":
                return await self._submit(db, app, uncertain)
            if row.kind == "issue_certificate":
                return await self._issue(db, app)
        except ProvincialTimeout as exc:
            raise RetryLater("timeout", str(exc)) from exc
        except ProvincialUnavailable as exc:
            raise RetryLater("unavailable", str(exc)) from exc
        raise GiveUp(f"unknown outbox kind {row.kind}")

    async def _submit(self, db: AsyncSession, app: Application, uncertain: bool) -> str:
        if app.archive_no is None:
            applicant = app.details["applicant"]
            archive = await self.provincial.lookup_archive(applicant["id_type"], applicant["id_number"])
            if archive is None:
                raise GiveUp("no archive for applicant")
            app.archive_no, app.agency_code = archive.archive_no, archive.agency.code
            app.agency_name = archive.agency.name
            if app.details.get("transfer"):
                app.details = {**app.details, "transfer": transfers.with_route(app.details["transfer"], archive)}
            if not app.details.get("needs_known", True):
                # Submitted during an outage: only now is it known whether a unit's letter is needed.
                needs = materials.needs_for(app.kind, archive, app.details.get("transfer"))
                app.details = {**app.details, "needs": needs, "needs_known": True}
                if not await materials.settle(db, app, utcnow()):
                    note = "您的档案为单位委托存档，请补充单位介绍信"
                    await materials.event(db, app, "needs_material", note, utcnow())
                    return app.status
        sent = await self._send_files(db, app, uncertain)
        found = await self.provincial.find_application(str(app.id)) if uncertain else None
        if found is None:
            try:
                found = await self.provincial.submit_application(str(app.id), submit_payload(app, sent))
            except ProvincialRejected as exc:
                raise GiveUp(f"rejected {exc.status} {exc.code} {exc.field or ''}") from exc
        now = utcnow()
        app.case_no = found.case_no
        app.forwarded_at = now
        app.updated_at = now
        db.add(StatusEvent(application_id=app.id, status="forwarded", note=None, source="portal", occurred_at=now))
        return app.status

    async def _send_files(self, db: AsyncSession, app: Application,
                          uncertain: bool) -> list[tuple[ApplicationDocument, Document]]:
        """Each attached document once: what a timed-out attempt may already have stored is looked up first,
        and each file sent is recorded (committed) before the next."""
        pairs = [(a, d) for a, d in (await db.execute(
            select(ApplicationDocument, Document).join(Document, Document.id == ApplicationDocument.document_id)
            .where(ApplicationDocument.application_id == app.id).order_by(ApplicationDocument.id)
        ))]
        pending = [(a, d) for a, d in pairs if a.forwarded_at is None]
        if pending and uncertain:
            there = {(f.file_id, f.sha256) for f in await self.provincial.list_files(str(app.id))}
            for attached, document in pending:
                if (str(document.id), document.forward_sha256) in there:
                    attached.forwarded_at = utcnow()
        for attached, document in pending:
            if attached.forwarded_at is not None or document.forward_key is None:
                continue
            data = await self.files.get(document.forward_key)
            try:
                await self.provincial.put_file(str(app.id), str(document.id), attached.material, data)
            except ProvincialRejected as exc:
                raise GiveUp(f"file rejected {exc.status} {exc.code} {exc.field or ''}") from exc
            attached.forwarded_at = utcnow()
            await db.commit()
        return pairs

    async def _issue(self, db: AsyncSession, app: Application) -> str:
        try:
            result = await self.provincial.certificate_result(str(app.id))
        except ProvincialRejected as exc:
            raise RetryLater("not_ready", f"{exc.status} {exc.code}") from exc
        await issue(db, self.issuer, app, result)
        now = utcnow()
        app.updated_at = now
        await materials.event(db, app, "certificate_issued", None, now)
        return app.status

    async def _retry(self, db: AsyncSession, row_id: int, change: tuple[str, str, str], kind: str,
                     detail: str) -> None:
        await db.rollback()
        row = await db.get(OutboxMessage, row_id, populate_existing=True)
        if row is None:
            return
        now = utcnow()
        if (now - row.created_at).total_seconds() > self.settings.retry_window_seconds:
            await self._dead(db, row_id, change, f"retry window over: {detail}")
            return
        first_failure = row.attempts == 0
        row.attempts += 1
        row.last_error = detail[:500]
        row.last_error_kind = kind
        wait = backoff(row.attempts, self.settings.retry_base_seconds, self.settings.retry_cap_seconds)
        row.next_attempt_at = now + timedelta(seconds=wait)
        row.lease_until = None
        await db.commit()
        log.warning("outbox row %s will be retried (%s, attempt %s)", row.id, kind, row.attempts)
        if first_failure:
            self.on_change(*change)

    async def _dead(self, db: AsyncSession, row_id: int, change: tuple[str, str, str], detail: str) -> None:
        await db.rollback()
        row = await db.get(OutboxMessage, row_id, populate_existing=True)
        if row is None:
            return
        row.dead_at = utcnow()
        row.last_error = detail[:500]
        row.lease_until = None
        await audit.record_in(db, audit.Entry("relay.dead_letter", "failed", "application", str(row.application_id),
                                              {"outbox_id": row.id, "kind": row.kind, "reason": detail[:120]}),
                              audit.SYSTEM)
        await db.commit()
        log.error("ALERT outbox row dead-lettered", extra={"event": {"outbox_id": row.id, "kind": row.kind,
                                                                     "reason": detail[:200]}})
        self.on_change(*change)
