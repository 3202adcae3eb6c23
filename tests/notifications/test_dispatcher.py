"""The notifier driven directly (no timing): against a real database (SQLite and PostgreSQL) and the sandbox's
SMS gateway and push service stand-ins on a real port, with pushes decrypted as the browser would."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bff.db.models import Application, Notification, PushSubscription, StatusEvent
from bff.domain.notifications import NOTIFY_STATUSES, queue
from bff.domain.notifications.senders import VapidKey
from bff.lib.clock import utcnow
from bff.lib.holders import holder_key
from tests.notifications.conftest import make_notifier, notify_settings
from tests.notifications.helpers import Device, sms_for
from tests.sandbox.helpers import LiveServer

NAME, ID_NUMBER = "张伟", "110105199805120012"
HOLDER = holder_key("01", ID_NUMBER)


def fresh_phone() -> str:
    return "139" + f"{secrets.randbelow(10**8):08d}"


async def new_application(db: AsyncSession, phone: str, kind: str = "archive_transfer",
                          holder: str = HOLDER) -> Application:
    now = utcnow()
    app = Application(
        id=uuid.uuid4(), reference_no="SQ2026" + secrets.token_hex(5).upper(), owner_sub="sub-" + secrets.token_hex(4),
        idempotency_key=secrets.token_hex(16), request_hash="", kind=kind, status="forwarded", holder_key=holder,
        details={"phone": phone, "purpose": "", "applicant": {"name": NAME, "id_type": "01", "id_number": ID_NUMBER}},
        created_at=now, updated_at=now,
    )
    db.add(app)
    await db.flush()
    return app


async def step(db: AsyncSession, app: Application, status: str) -> StatusEvent:
    """What the poller does for one change: the event, the status, flush, queue."""
    event = StatusEvent(application_id=app.id, status=status, note=None, source="provincial", occurred_at=utcnow())
    db.add(event)
    app.status = status
    await db.flush()
    await queue(db, app, event)
    return event


async def subscribe(db: AsyncSession, device: Device, holder: str = HOLDER) -> None:
    db.add(PushSubscription(holder_key=holder, endpoint=device.endpoint, p256dh=device.p256dh,
                            auth=device.subscription()["keys"]["auth"], created_at=utcnow()))
    await db.flush()


async def rows(sessions: async_sessionmaker[AsyncSession], app_id: uuid.UUID) -> list[Notification]:
    async with sessions() as db:
        return list(await db.scalars(select(Notification).where(Notification.application_id == app_id)
                                     .order_by(Notification.channel, Notification.id)))


async def devices_left(sessions: async_sessionmaker[AsyncSession], holder: str) -> int:
    async with sessions() as db:
        return int(await db.scalar(select(func.count()).select_from(PushSubscription)
                                   .where(PushSubscription.holder_key == holder)) or 0)


@pytest.fixture
def notifier(db_sessions: async_sessionmaker[AsyncSession], http: httpx.AsyncClient, vapid: VapidKey,
             stand_in: LiveServer) -> Any:
    return make_notifier(db_sessions, http, vapid, notify_settings(stand_in.url))


async def test_a_burst_of_steps_becomes_one_message_per_channel(
        db_sessions: async_sessionmaker[AsyncSession], notifier: Any, stand_in: LiveServer) -> None:
    phone, holder = fresh_phone(), secrets.token_hex(32)
    phones, laptop = Device(stand_in.url), Device(stand_in.url)
    async with db_sessions() as db:
        await subscribe(db, phones, holder)
        await subscribe(db, laptop, holder)
        app = await new_application(db, phone, holder=holder)
        for status in ("accepted", "letter_issued", "sent", "received", "completed"):  # after an outage
            await step(db, app, status)
        await db.commit()
    assert await notifier.drain_once() == 2  # one group per channel
    assert await notifier.drain_once() == 0

    texts = [m["text"] for m in sms_for(stand_in.url, phone)]
    assert texts == [f"【档案服务】您的档案转递申请（{app.reference_no}）状态更新：申请已办结。"
                     "请登录档案服务查看详情。"]
    for device in (phones, laptop):
        assert device.messages() == [{"title": "档案转递 · 申请已办结",
                                      "body": f"申请编号 {app.reference_no}，点按查看详情",
                                      "url": f"/applications/{app.id}", "tag": str(app.id)}]
        (stored,) = device.received()
        assert stored["topic"] == app.id.hex and stored["ttl"] == 3600
        assert stored["claims"]["aud"] == stand_in.url and stored["claims"]["sub"] == "mailto:ops@example.invalid"
        assert stored["public_key"] == notifier.push.key.public_key

    by_channel: dict[str, list[str]] = {}
    for row in await rows(db_sessions, app.id):
        by_channel.setdefault(row.channel, []).append(row.state)
        assert (row.sent_at is not None) == (row.state == "sent")
    assert by_channel == {"push": ["merged"] * 4 + ["sent"], "sms": ["merged"] * 4 + ["sent"]}


async def test_a_replayed_change_is_told_once_and_the_callers_transaction_survives(
        db_sessions: async_sessionmaker[AsyncSession], notifier: Any, stand_in: LiveServer) -> None:
    phone = fresh_phone()
    async with db_sessions() as db:
        app = await new_application(db, phone, kind="archive_certificate")
        event = await step(db, app, "accepted")
        await queue(db, app, event)  # seen twice in one transaction
        app.status = "accepted"  # and the caller goes on
        await db.commit()
    async with db_sessions() as db:
        app = await db.get(Application, app.id)  # type: ignore[assignment]
        again = await db.get(StatusEvent, event.id)
        assert app is not None and again is not None
        await queue(db, app, again)  # replayed later
        await db.commit()
    assert [(r.channel, r.state) for r in await rows(db_sessions, app.id)] == [("sms", "pending")]
    await notifier.drain_once()
    await notifier.drain_once()
    assert [m["text"] for m in sms_for(stand_in.url, phone)] == [
        f"【档案服务】您的存档证明申请（{app.reference_no}）状态更新：申请已受理。请登录档案服务查看详情。"]


async def test_only_steps_worth_telling_are_queued_and_only_on_the_channels_there_are(
        db_sessions: async_sessionmaker[AsyncSession], stand_in: LiveServer) -> None:
    assert {"submitted", "forwarded", "material_attached", "confirmed"}.isdisjoint(NOTIFY_STATUSES)
    assert {"accepted", "refused", "certificate_issued", "cannot_send", "needs_material"} <= NOTIFY_STATUSES
    holder = secrets.token_hex(32)
    async with db_sessions() as db:
        quiet = await new_application(db, fresh_phone(), holder=holder)
        for status in ("submitted", "forwarded", "material_attached", "confirmed"):
            await step(db, quiet, status)
        no_phone = await new_application(db, "", holder=holder)
        await step(db, no_phone, "accepted")  # no phone, no device: nothing to send
        await subscribe(db, Device(stand_in.url), holder)
        await step(db, no_phone, "refused")  # a device now, still no phone
        await db.commit()
    assert await rows(db_sessions, quiet.id) == []
    assert [(r.channel, r.state) for r in await rows(db_sessions, no_phone.id)] == [("push", "pending")]


async def test_a_gone_subscription_is_deleted_and_the_others_still_get_it(
        db_sessions: async_sessionmaker[AsyncSession], notifier: Any, stand_in: LiveServer) -> None:
    holder = secrets.token_hex(32)
    kept, dropped = Device(stand_in.url), Device(stand_in.url)
    dropped.gone()
    async with db_sessions() as db:
        await subscribe(db, kept, holder)
        await subscribe(db, dropped, holder)
        app = await new_application(db, "", holder=holder)
        await step(db, app, "accepted")
        await db.commit()
    await notifier.drain_once()
    assert len(kept.messages()) == 1 and dropped.received() == []
    assert await devices_left(db_sessions, holder) == 1
    assert [r.state for r in await rows(db_sessions, app.id)] == ["sent"]

    kept.gone()
    async with db_sessions() as db:
        found = await db.get(Application, app.id)
        assert found is not None
        await step(db, found, "completed")
        await db.commit()
    await notifier.drain_once()
    assert await devices_left(db_sessions, holder) == 0
    assert [(r.state, r.last_error) for r in await rows(db_sessions, app.id)] == [
        ("sent", None), ("skipped", "push subscriptions gone")]


async def test_an_outage_is_retried_with_backoff_then_one_message_then_give_up(
        db_sessions: async_sessionmaker[AsyncSession], http: httpx.AsyncClient, vapid: VapidKey,
        stand_in: LiveServer) -> None:
    down = make_notifier(db_sessions, http, vapid, notify_settings("http://127.0.0.1:9"))  # nothing listens
    phone = fresh_phone()
    async with db_sessions() as db:
        app = await new_application(db, phone)
        await step(db, app, "accepted")
        await db.commit()
    assert await down.drain_once() == 1
    (row,) = await rows(db_sessions, app.id)
    assert (row.state, row.attempts) == ("pending", 1)
    assert row.last_error and "unreachable" in row.last_error and phone not in row.last_error
    wait = (row.next_attempt_at - utcnow()).total_seconds()
    assert 4 <= wait <= 10  # the first backoff: base 10 s with jitter in [half, full]
    assert await down.drain_once() == 0  # not due yet

    async with db_sessions() as db:  # more steps while the gateway is down
        found = await db.get(Application, app.id)
        assert found is not None
        await step(db, found, "letter_issued")
        await step(db, found, "sent")
        await db.commit()
    assert await down.drain_once() == 0  # the group waits on its oldest row's backoff

    later = utcnow() + timedelta(minutes=5)
    up = make_notifier(db_sessions, http, vapid, notify_settings(stand_in.url))
    assert await up.drain_once(later) == 1
    assert [m["text"] for m in sms_for(stand_in.url, phone)] == [
        f"【档案服务】您的档案转递申请（{app.reference_no}）状态更新：档案已转出。请登录档案服务查看详情。"]
    assert [r.state for r in await rows(db_sessions, app.id)] == ["merged", "merged", "sent"]

    async with db_sessions() as db:
        other = await new_application(db, fresh_phone())
        await step(db, other, "accepted")
        await db.commit()
    for minutes in (5, 20, 60):
        await down.drain_once(utcnow() + timedelta(minutes=minutes))
    (failed,) = await rows(db_sessions, other.id)
    assert (failed.state, failed.attempts) == ("failed", 3)
    assert failed.last_error is not None and failed.last_error.startswith("gave up after 3 attempts")


async def test_a_refused_key_fails_at_once(db_sessions: async_sessionmaker[AsyncSession], http: httpx.AsyncClient,
                                           vapid: VapidKey, stand_in: LiveServer) -> None:
    wrong = make_notifier(db_sessions, http, vapid, notify_settings(stand_in.url, sms_api_key="wrong"))
    async with db_sessions() as db:
        app = await new_application(db, fresh_phone())
        await step(db, app, "refused")
        await db.commit()
    await wrong.drain_once()
    (row,) = await rows(db_sessions, app.id)
    assert (row.state, row.attempts, row.last_error) == ("failed", 0, "sms gateway answered 401")


async def test_notifiers_in_several_processes_send_each_group_once(
        db_sessions: async_sessionmaker[AsyncSession], http: httpx.AsyncClient, vapid: VapidKey,
        stand_in: LiveServer) -> None:
    phone = fresh_phone()
    async with db_sessions() as db:
        app = await new_application(db, phone)
        device = Device(stand_in.url)
        await subscribe(db, device, app.holder_key)
        await step(db, app, "accepted")
        await db.commit()
    notifiers = [make_notifier(db_sessions, http, vapid, notify_settings(stand_in.url)) for _ in range(3)]
    done = await asyncio.gather(*(n.drain_once() for n in notifiers))
    assert sum(done) == 2
    assert len(sms_for(stand_in.url, phone)) == 1
    assert len(device.received()) == 1


async def test_no_personal_data_leaves_in_a_message(db_sessions: async_sessionmaker[AsyncSession], notifier: Any,
                                                    stand_in: LiveServer) -> None:
    holder = secrets.token_hex(32)
    phone = fresh_phone()
    device = Device(stand_in.url)
    async with db_sessions() as db:
        await subscribe(db, device, holder)
        app = await new_application(db, phone, holder=holder)
        event = StatusEvent(application_id=app.id, status="cannot_receive", note=f"{NAME} {ID_NUMBER} 无法接收",
                            source="provincial", occurred_at=utcnow())
        db.add(event)
        await db.flush()
        await queue(db, app, event)
        await db.commit()
    await notifier.drain_once()
    (sms,) = sms_for(stand_in.url, phone)
    (push,) = device.messages()
    for text in (sms["text"], str(push), str(device.received()[0]["claims"])):
        assert NAME not in text and ID_NUMBER not in text and phone not in text
    assert "档案无法接收" in sms["text"] and push["title"] == "档案转递 · 档案无法接收"
