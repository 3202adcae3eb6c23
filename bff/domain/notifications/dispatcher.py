"""The notifier: sends what ``queue`` owes, one message per application and channel however many steps piled up.

Pending rows of one application on one channel form a group; the group's oldest pending row is its anchor and
carries the lease (``lease_until``, one conditional UPDATE, so notifiers in several processes never work on the
same group), the attempt count and the next attempt time. A group is sent as ONE message about its newest step;
the older rows become ``merged``. Failures retry with capped exponential backoff and jitter, and after
``max_attempts`` the rows are ``failed``. Delivery is at least once: a crash between sending and recording
may repeat one message (push replaces it on the phone, by tag).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bff.db.models import Application, Notification, PushSubscription, StatusEvent
from bff.domain.notifications.senders import PushSender, PushTarget, SendFailed, SmsSender
from bff.domain.notifications.texts import push_payload, sms_text
from bff.lib.clock import utcnow
from bff.lib.retry import backoff
from bff.settings import NotifySettings

log = logging.getLogger("bff.notifier")
LEASE_MARGIN = 30.0


@dataclass(frozen=True)
class Outcome:
    kind: Literal["sent", "skipped", "retry", "failed"]
    detail: str = ""



class Notifier:
    def __init__(self, db_sessions: async_sessionmaker[AsyncSession], settings: NotifySettings, sms: SmsSender,
                 push: PushSender) -> None:
        self.db_sessions = db_sessions
        self.settings = settings
        self.sms = sms
        self.push = push
        self._slots = asyncio.Semaphore(settings.concurrency)

    async def run(self, wakeup: asyncio.Event) -> None:
        while True:
            try:
                await self.drain_once()
            except Exception:
                log.exception("notifier pass failed")
            try:
                await asyncio.wait_for(wakeup.wait(), self.settings.interval)
            except TimeoutError:
                pass
            wakeup.clear()

    async def drain_once(self, now: datetime | None = None) -> int:
        """One pass over the due groups; returns how many groups were worked on."""
        now = now or utcnow()
        older = aliased(Notification)
        async with self.db_sessions() as db:
            anchors = list(await db.scalars(
                select(Notification.id)
                .where(Notification.state == "pending", Notification.next_attempt_at <= now,
                       or_(Notification.lease_until.is_(None), Notification.lease_until < now),
                       ~exists().where(older.application_id == Notification.application_id,
                                       older.channel == Notification.channel, older.state == "pending",
                                       older.id < Notification.id))
                .order_by(Notification.next_attempt_at, Notification.id).limit(self.settings.batch)
            ))
        results = await asyncio.gather(*(self._work(anchor_id) for anchor_id in anchors))
        return sum(results)

    async def _lease(self, db: AsyncSession, row_id: int) -> bool:
        now = utcnow()
        result = await db.execute(
            update(Notification)
            .where(Notification.id == row_id, Notification.state == "pending",
                   or_(Notification.lease_until.is_(None), Notification.lease_until < now))
            .values(lease_until=now + timedelta(seconds=self.settings.http_timeout * 2 + LEASE_MARGIN))
        )
        await db.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def _work(self, anchor_id: int) -> int:
        async with self._slots, self.db_sessions() as db:
            if not await self._lease(db, anchor_id):
                return 0
            anchor = await db.get(Notification, anchor_id, populate_existing=True)
            if anchor is None or anchor.state != "pending":
                return 0
            group = list(await db.scalars(
                select(Notification)
                .where(Notification.application_id == anchor.application_id, Notification.channel == anchor.channel,
                       Notification.state == "pending")
                .order_by(Notification.event_id, Notification.id)
            ))
            newest = group[-1]
            app = await db.get(Application, anchor.application_id)
            event = await db.get(StatusEvent, newest.event_id)
            try:
                if app is None or event is None:
                    outcome = Outcome("skipped", "application or event gone")
                elif anchor.channel == "sms":
                    outcome = await self._send_sms(db, app, event)
                elif anchor.channel == "push":
                    outcome = await self._send_push(db, anchor.holder_key, app, event)
                else:
                    outcome = Outcome("failed", f"unknown channel {anchor.channel[:8]}")
            except Exception as exc:
                log.exception("notification %s failed", anchor_id)
                outcome = Outcome("retry", f"error {type(exc).__name__}")
            await self._finish(db, anchor_id, [r.id for r in group], newest.id, outcome)
            return 1

    async def _send_sms(self, db: AsyncSession, app: Application, event: StatusEvent) -> Outcome:
        phone = str((app.details or {}).get("phone") or "").strip()
        text = sms_text(app.kind, app.reference_no, event.status)
        await db.commit()  # no transaction stays open while the gateway answers
        if not phone:
            return Outcome("skipped", "no phone")
        try:
            await self.sms.send(phone, text)
        except SendFailed as exc:
            return Outcome("retry" if exc.retry else "failed", str(exc)[:300])
        return Outcome("sent")

    async def _send_push(self, db: AsyncSession, holder: str, app: Application, event: StatusEvent) -> Outcome:
        subscriptions = list(await db.scalars(select(PushSubscription).where(PushSubscription.holder_key == holder)
                                              .order_by(PushSubscription.id)))
        targets = [(s.id, PushTarget(s.endpoint, s.p256dh, s.auth)) for s in subscriptions]
        payload = push_payload(str(app.id), app.kind, app.reference_no, event.status)
        await db.commit()
        if not targets:
            return Outcome("skipped", "no push subscription")
        results = await asyncio.gather(*(self.push.send(t, payload, topic=app.id.hex) for _, t in targets))
        gone = [sub_id for (sub_id, _), (outcome, _) in zip(targets, results, strict=True) if outcome == "gone"]
        if gone:
            await db.execute(delete(PushSubscription).where(PushSubscription.id.in_(gone)))
            await db.commit()
            log.info("push subscriptions gone", extra={"event": {"count": len(gone)}})
        kinds = [outcome for outcome, _ in results]
        if "sent" in kinds:
            # Sent to at least one device; a device that failed for now is not retried (the others would get
            # the same message twice).
            return Outcome("sent")
        if "retry" in kinds:
            return Outcome("retry", next(d for o, d in results if o == "retry"))
        if all(k == "gone" for k in kinds):
            return Outcome("skipped", "push subscriptions gone")
        return Outcome("failed", next(d for o, d in results if o == "refused"))

    async def _finish(self, db: AsyncSession, anchor_id: int, ids: list[int], newest_id: int,
                      outcome: Outcome) -> None:
        await db.rollback()
        rows = {r.id: r for r in await db.scalars(
            select(Notification).where(Notification.id.in_(ids), Notification.state == "pending")
            .execution_options(populate_existing=True))}
        now = utcnow()
        detail = outcome.detail[:300] or None
        anchor = rows.get(anchor_id)
        if outcome.kind == "retry" and anchor is None:
            return  # no longer ours to retry
        if outcome.kind == "retry" and anchor is not None:
            anchor.attempts += 1
            if anchor.attempts < self.settings.max_attempts:
                wait = backoff(anchor.attempts, self.settings.retry_base_seconds, self.settings.retry_cap_seconds)
                anchor.next_attempt_at = now + timedelta(seconds=wait)
                anchor.last_error = detail
                anchor.lease_until = None
                await db.commit()
                log.warning("notification %s will be retried (%s, attempt %s)", anchor_id, detail, anchor.attempts)
                return
            outcome = Outcome("failed", f"gave up after {anchor.attempts} attempts: {outcome.detail}")
            detail = outcome.detail[:300]
        for row in rows.values():
            row.lease_until = None
            if outcome.kind == "sent":
                row.state = "sent" if row.id == newest_id else "merged"
                row.sent_at = now if row.id == newest_id else None
                row.last_error = None
            else:
                row.state = outcome.kind if outcome.kind != "retry" else "failed"
                row.last_error = detail
        await db.commit()
        if outcome.kind == "failed":
            log.error("ALERT notification failed", extra={"event": {"notification_id": anchor_id,
                                                                    "reason": (detail or "")[:200]}})
