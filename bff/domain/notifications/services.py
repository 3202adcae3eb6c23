"""Notifications: what is owed to whom (``queue``, in the caller's transaction), and a person's push devices.

A change worth telling becomes one ``notifications`` row per channel, unique per (event, channel), so a change
seen twice is told once; the dispatcher (``dispatcher.Notifier``) sends them and folds a burst into one message.
"""

from __future__ import annotations

import logging
from typing import Final

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bff.db.models import Application, Notification, PushSubscription, StatusEvent
from bff.domain.notifications.schemas import NotificationSettings, PushSubscriptionCreate
from bff.domain.notifications.senders import endpoint_allowed, valid_auth, valid_p256dh
from bff.lib.clock import utcnow
from bff.lib.errors import ApiError, FieldError
from bff.lib.masking import mask_phone

log = logging.getLogger("bff.notifications")

# The steps a person wants to hear about: the provincial system's, and the portal's own that ask something of them.
PROVINCIAL_STEPS: Final = frozenset({
    "accepted", "letter_issued", "sent", "received", "completed", "cannot_receive", "cannot_send", "returned",
    "return_confirmed", "refused", "certificate_issued",
})
PORTAL_STEPS: Final = frozenset({"letter_declined", "needs_material", "started_by_unit"})
NOTIFY_STATUSES: Final = PROVINCIAL_STEPS | PORTAL_STEPS
CHANNELS: Final = ("push", "sms")
MAX_DEVICES: Final = 10


async def queue(db: AsyncSession, app: Application, event: StatusEvent) -> None:
    """Owes the holder one message per channel about ``event``, in the caller's transaction (flush first, so
    ``event.id`` exists). Statuses not in ``NOTIFY_STATUSES`` are ignored; a replay is absorbed by the unique
    (event, channel) constraint inside a savepoint, so the caller's transaction goes on."""
    if event.status not in NOTIFY_STATUSES:
        return
    await db.flush()  # the caller's own rows first: an error in them must not look like a replay below
    channels: list[str] = []
    if await db.scalar(select(PushSubscription.id).where(PushSubscription.holder_key == app.holder_key).limit(1)):
        channels.append("push")
    if str((app.details or {}).get("phone") or "").strip():
        channels.append("sms")
    now = utcnow()
    for channel in channels:
        try:
            async with db.begin_nested():
                db.add(Notification(event_id=event.id, application_id=app.id, holder_key=app.holder_key,
                                    channel=channel, state="pending", attempts=0, next_attempt_at=now,
                                    created_at=now))
        except IntegrityError:
            log.info("notification already queued", extra={"event": {"event_id": event.id, "channel": channel}})


# -- a person's devices and settings ---------------------------------------------------------------------------


def check_subscription(data: PushSubscriptionCreate, extra_origins: tuple[str, ...]) -> None:
    errors: list[FieldError] = []
    if not endpoint_allowed(data.endpoint, extra_origins):
        errors.append(FieldError("endpoint", "此浏览器的推送服务地址不受支持，请改用短信通知"))
    if not valid_p256dh(data.keys.p256dh):
        errors.append(FieldError("keys.p256dh", "推送密钥格式不正确"))
    if not valid_auth(data.keys.auth):
        errors.append(FieldError("keys.auth", "推送认证密钥格式不正确"))
    if errors:
        raise ApiError(422, "validation_error", "；".join(e.message for e in errors), errors)


async def subscribe(db: AsyncSession, holder: str, data: PushSubscriptionCreate) -> None:
    """Saves (or takes over) this browser's subscription: one browser has one endpoint, so when another person
    signed in on it before, the device now tells the one who opted in last. At most ``MAX_DEVICES`` per person."""
    now = utcnow()
    row = await db.scalar(select(PushSubscription).where(PushSubscription.endpoint == data.endpoint))
    if row is None:
        db.add(PushSubscription(holder_key=holder, endpoint=data.endpoint, p256dh=data.keys.p256dh,
                                auth=data.keys.auth, created_at=now))
    else:
        row.holder_key, row.p256dh, row.auth, row.created_at = holder, data.keys.p256dh, data.keys.auth, now
    try:
        await db.flush()
    except IntegrityError:  # the same browser subscribing twice at once: the other request saved it
        await db.rollback()
        return
    ids = list(await db.scalars(select(PushSubscription.id).where(PushSubscription.holder_key == holder)
                                .order_by(PushSubscription.created_at.desc(), PushSubscription.id.desc())))
    if len(ids) > MAX_DEVICES:
        await db.execute(delete(PushSubscription).where(PushSubscription.id.in_(ids[MAX_DEVICES:])))
    await db.commit()


async def unsubscribe(db: AsyncSession, holder: str, endpoint: str) -> None:
    """Opt-out on this browser; only the caller's own subscription is touched (unknown endpoints: nothing)."""
    if not endpoint.isprintable():  # no saved endpoint has control characters (and PostgreSQL refuses NUL)
        return
    await db.execute(delete(PushSubscription).where(PushSubscription.endpoint == endpoint,
                                                    PushSubscription.holder_key == holder))
    await db.commit()


async def settings_for(db: AsyncSession, holder: str) -> NotificationSettings:
    devices = await db.scalar(select(func.count()).select_from(PushSubscription)
                              .where(PushSubscription.holder_key == holder)) or 0
    phone = ""
    for details in await db.scalars(select(Application.details).where(Application.holder_key == holder)
                                     .order_by(Application.created_at.desc()).limit(20)):
        phone = str((details or {}).get("phone") or "").strip()
        if phone:
            break
    return NotificationSettings(sms_phone_masked=mask_phone(phone) if phone else None, push_devices=int(devices))
