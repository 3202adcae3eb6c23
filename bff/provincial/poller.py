"""The status poller: reads the provincial system's change feed by cursor and mirrors it as status events.

The cursor row is leased, and each change lands once (``status_events.provincial_seq`` is unique), so pollers
in several processes can run at once.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bff.db.models import Application, OutboxMessage, Reminder, StatusEvent, SyncCursor
from bff.domain.applications.schemas import CERTIFICATE_KINDS
from bff.domain.applications.services import reference_no
from bff.domain.certificates import services as certificates
from bff.domain.notifications.services import queue as queue_notification
from bff.lib.clock import utcnow
from bff.lib.holders import holder_key
from bff.provincial.client import ProvincialApi, ProvincialRejected, ProvincialUnavailable
from bff.provincial.leases import lease_cursor
from bff.provincial.relay import OnChange
from bff.provincial.schemas import Agency, ProvincialApplication, StatusChange
from bff.settings import ProvincialSettings

log = logging.getLogger("bff.poller")
CURSOR = "provincial-status"
BATCH = 100
# certificates: accepted completed refused revoked; transfers (SPEC §3): the rest; withdrawn: either
KNOWN = {"accepted", "completed", "refused", "letter_issued", "cannot_receive", "sent", "cannot_send", "received",
         "returned", "return_confirmed", "withdrawn", "revoked"}
Directory = Callable[[], Awaitable[list[Agency]]]


def _instant(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return utcnow()
    return parsed if parsed.tzinfo else utcnow()


def _extra(change: StatusChange) -> dict[str, Any] | None:
    extra: dict[str, Any] = {}
    if change.dispatch is not None:
        extra["dispatch"] = msgspec.to_builtins(change.dispatch)
    if change.letter_no:
        extra["letter_no"] = change.letter_no
    return extra or None


class Poller:
    def __init__(self, db_sessions: async_sessionmaker[AsyncSession], provincial: ProvincialApi,
                 settings: ProvincialSettings, on_change: OnChange, relay_wakeup: asyncio.Event,
                 directory: Directory, notify_wakeup: asyncio.Event | None = None) -> None:
        self.db_sessions = db_sessions
        self.provincial = provincial
        self.settings = settings
        self.on_change = on_change
        self.relay_wakeup = relay_wakeup
        self.notify_wakeup = notify_wakeup
        self.directory = directory
        self.owner = "poller-" + secrets.token_hex(6)

    async def run(self) -> None:
        while True:
            try:
                while await self.poll_once() >= BATCH:
                    pass
            except ProvincialUnavailable as exc:
                log.info("status poll skipped: %s", exc)
            except Exception:
                log.exception("status poll failed")
            await asyncio.sleep(self.settings.poll_interval)

    async def _ensure_cursor(self, db: AsyncSession) -> None:
        if await db.get(SyncCursor, CURSOR) is None:
            db.add(SyncCursor(name=CURSOR, position=0))
            try:
                await db.commit()
            except IntegrityError:
                await db.rollback()

    async def poll_once(self) -> int:
        """One page of changes (and, when the feed is drained, the reminders); returns how many changes."""
        async with self.db_sessions() as db:
            await self._ensure_cursor(db)
            if not await lease_cursor(db, CURSOR, self.owner, self.settings.timeout + 30):
                return 0
            cursor = await db.get(SyncCursor, CURSOR, populate_existing=True)
            assert cursor is not None
            try:
                page = await self.provincial.status_changes(cursor.position, BATCH)
            except ProvincialRejected as exc:
                raise ProvincialUnavailable(f"status feed refused: {exc.status}") from exc
            changed: list[tuple[str, str, str]] = []
            wake_relay = False
            for change in page.changes:
                app = await self._apply(db, change)
                if app is None:
                    continue
                if change.status == "revoked":
                    await certificates.revoke(db, app, change.reason)
                if change.status == "completed" and app.kind in CERTIFICATE_KINDS:
                    db.add(OutboxMessage(application_id=app.id, kind="issue_certificate", attempts=0,
                                         next_attempt_at=utcnow(), created_at=utcnow()))
                    wake_relay = True
                changed.append((app.holder_key, str(app.id), app.status))
            cursor.position = max(cursor.position, page.last_seq)
            if len(page.changes) < BATCH:
                changed += await self._sync_reminders(db)
            cursor.lease_until = None
            await db.commit()
        for item in changed:
            self.on_change(*item)
        if wake_relay:
            self.relay_wakeup.set()
        if changed and self.notify_wakeup is not None:
            self.notify_wakeup.set()
        return len(page.changes)

    async def _apply(self, db: AsyncSession, change: StatusChange) -> Application | None:
        """One change as one timeline line (once, by its seq); None when there is nothing to show."""
        if change.status not in KNOWN:
            return None
        try:
            app_id = uuid.UUID(change.application_id)
        except ValueError:
            return None
        if await db.scalar(select(StatusEvent.id).where(StatusEvent.provincial_seq == change.seq)):
            return None
        app = (await db.get(Application, app_id, with_for_update=True, populate_existing=True)
               or await self._adopt(db, app_id))
        if app is None or (change.status == "withdrawn" and app.status == "withdrawn"):
            return None  # someone else's, or withdrawn here first (the timeline already says so)
        event = StatusEvent(application_id=app.id, status=change.status, note=change.reason, source="provincial",
                            provincial_seq=change.seq, occurred_at=_instant(change.occurred_at),
                            actor=change.actor, agency_code=change.agency_code, extra=_extra(change))
        db.add(event)
        app.status = change.status
        app.updated_at = utcnow()
        if change.case_no and not app.case_no:
            app.case_no = change.case_no
        await db.flush()
        await queue_notification(db, app, event)
        return app

    async def _adopt(self, db: AsyncSession, app_id: uuid.UUID) -> Application | None:
        """A transfer taken at the receiving agency's window: it becomes the holder's application here."""
        found = await self.provincial.get_application(str(app_id))
        if found is None or found.origin != "window" or found.applicant is None or found.transfer is None:
            return None
        return await self._window_application(db, app_id, found)

    async def _window_application(self, db: AsyncSession, app_id: uuid.UUID,
                                  found: ProvincialApplication) -> Application:
        assert found.applicant is not None and found.transfer is not None
        names = {a.code: a.name for a in await self.directory()}
        transfer = found.transfer
        received = _instant(found.received_at)
        applicant = found.applicant
        app = Application(
            id=app_id, reference_no=found.reference_no if 0 < len(found.reference_no) <= 24 else reference_no(),
            owner_sub="provincial-window", idempotency_key=str(app_id), request_hash="", kind=found.kind,
            status="submitted", holder_key=holder_key(applicant.id_type, applicant.id_number),
            initiated_by="window", agency_code=found.agency_code or None,
            agency_name=names.get(found.agency_code), archive_no=found.archive_no or None, case_no=found.case_no,
            details={
                "purpose": "", "phone": applicant.phone, "delivery": "electronic", "needs": [], "needs_known": True,
                "applicant": {"name": applicant.name, "id_type": applicant.id_type,
                              "id_number": applicant.id_number},
                "transfer": {"target_agency_code": transfer.target_agency_code,
                             "target_agency_name": names.get(transfer.target_agency_code, transfer.target_agency_code),
                             "target_nature": transfer.target_nature, "flow": transfer.flow,
                             "unit": msgspec.to_builtins(transfer.unit) if transfer.unit else None,
                             "initiated_by": "window"},
            },
            forwarded_at=received, created_at=received, updated_at=received,
        )
        db.add(app)
        db.add(StatusEvent(application_id=app.id, status="submitted", note="在拟接收机构窗口申请", source="provincial",
                           occurred_at=received))
        await db.flush()
        return app

    async def _sync_reminders(self, db: AsyncSession) -> list[tuple[str, str, str]]:
        """The provincial 业务未办理提醒 now current: new ones land, done ones go; returns who to tell."""
        try:
            current = {r.application_id: r for r in await self.provincial.reminders()}
        except (ProvincialUnavailable, ProvincialRejected) as exc:
            log.info("reminders skipped: %s", exc)
            return []
        ids = {uuid.UUID(k) for k in current if _is_uuid(k)}
        apps = {a.id: a for a in await db.scalars(select(Application).where(Application.id.in_(ids)))} if ids else {}
        held = {r.application_id: r for r in await db.scalars(select(Reminder))}
        gone = [k for k in held if k not in apps]
        if gone:
            await db.execute(delete(Reminder).where(Reminder.application_id.in_(gone)))
        told: list[tuple[str, str, str]] = []
        now = utcnow()
        for app_id, app in apps.items():
            item = current[str(app_id)]
            row = held.get(app_id)
            if row is None:
                row = Reminder(application_id=app_id)
                db.add(row)
                told.append((app.holder_key, str(app_id), app.status))
            row.step, row.agency_code, row.due_on = item.step, item.agency_code, item.due_on
            row.overdue_days, row.message, row.updated_at = item.overdue_days, item.message[:300], now
        return told


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
