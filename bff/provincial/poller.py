"""The status poller: reads the provincial system's change feed by cursor and mirrors it as status events.

The cursor row is leased, and each change lands once (``status_events.provincial_seq`` is unique), so pollers
in several processes can run at once.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bff.db.models import Application, OutboxMessage, StatusEvent, SyncCursor
from bff.lib.clock import utcnow
from bff.provincial.client import ProvincialApi, ProvincialRejected, ProvincialUnavailable
from bff.provincial.leases import lease_cursor
from bff.provincial.relay import OnChange
from bff.settings import ProvincialSettings

log = logging.getLogger("bff.poller")
CURSOR = "provincial-status"
BATCH = 100
KNOWN = {"accepted", "completed", "refused"}
ISSUES_CERTIFICATE = {"archive_certificate"}


def _instant(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return utcnow()
    return parsed if parsed.tzinfo else utcnow()


class Poller:
    def __init__(self, db_sessions: async_sessionmaker[AsyncSession], provincial: ProvincialApi,
                 settings: ProvincialSettings, on_change: OnChange, relay_wakeup: asyncio.Event) -> None:
        self.db_sessions = db_sessions
        self.provincial = provincial
        self.settings = settings
        self.on_change = on_change
        self.relay_wakeup = relay_wakeup
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
        """One page of changes; returns how many there were."""
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
                if change.status not in KNOWN:
                    continue
                try:
                    app_id = uuid.UUID(change.application_id)
                except ValueError:
                    continue
                app = await db.get(Application, app_id)
                if app is None:
                    continue  # not the portal's (issue 4 will show window-started applications)
                if await db.scalar(select(StatusEvent.id).where(StatusEvent.provincial_seq == change.seq)):
                    continue
                db.add(StatusEvent(application_id=app.id, status=change.status, note=change.reason,
                                   source="provincial", provincial_seq=change.seq,
                                   occurred_at=_instant(change.occurred_at)))
                app.status = change.status
                app.updated_at = utcnow()
                if change.case_no and not app.case_no:
                    app.case_no = change.case_no
                if change.status == "completed" and app.kind in ISSUES_CERTIFICATE:
                    db.add(OutboxMessage(application_id=app.id, kind="issue_certificate", attempts=0,
                                         next_attempt_at=utcnow(), created_at=utcnow()))
                    wake_relay = True
                changed.append((app.holder_key, str(app.id), app.status))
            cursor.position = max(cursor.position, page.last_seq)
            cursor.lease_until = None
            await db.commit()
        for item in changed:
            self.on_change(*item)
        if wake_relay:
            self.relay_wakeup.set()
        return len(page.changes)
