"""Notifications over real HTTP between real processes (SQLite, and PostgreSQL + Redis): a person opts in with a
browser's push subscription, the clerk acts in the provincial sandbox, the poller mirrors the change, and the
notifier sends one SMS and one Web Push, which is decrypted here with the browser's keys."""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import httpx
from sqlalchemy import select, update

from bff.db.engine import create_engine
from bff.db.models import SyncCursor
from bff.settings import DatabaseSettings
from tests.notifications.helpers import Device, b64url_decode, sms_for
from tests.support.flows import detail, hr, post, signed_in, submit, timeline
from tests.support.portal_client import Browser, same_origin
from tests.support.stack import Stack, wait_until

SUBSCRIPTIONS = "/api/notifications/push-subscriptions"


def fresh_phone() -> str:
    return "139" + f"{secrets.randbelow(10**8):08d}"


def opt_in(stack: Stack, browser: Browser, device: Device) -> httpx.Response:
    return post(stack, browser, SUBSCRIPTIONS, device.subscription())


def opt_out(stack: Stack, browser: Browser, endpoint: str) -> httpx.Response:
    return browser.request("DELETE", f"{stack.portal}{SUBSCRIPTIONS}", json={"endpoint": endpoint},
                           headers=same_origin(stack.portal))


def settings(stack: Stack, browser: Browser) -> dict[str, Any]:
    r = browser.get(f"{stack.portal}/api/notifications/settings")
    assert r.status_code == 200, r.text
    return dict(r.json())


def forwarded_application(stack: Stack, browser: Browser, phone: str) -> dict[str, Any]:
    r = submit(stack, browser, phone=phone)
    assert r.status_code == 201, r.text
    app = dict(r.json())
    wait_until(lambda: "已转送至存档机构" in timeline(stack, browser, app["id"]), timeout=30)
    return app


def database_url(stack: Stack) -> str:
    return stack.database_url or f"sqlite+aiosqlite:///{stack.base / 'bff' / 'portal.db'}"


def replay_the_status_feed(stack: Stack) -> int:
    """Moves the poller's cursor back to the start, so every change is read again; returns where it was."""
    async def rewind() -> int:
        engine = create_engine(DatabaseSettings(url=database_url(stack), echo=False))
        try:
            async with engine.begin() as conn:
                position = int(await conn.scalar(select(SyncCursor.position)) or 0)
                await conn.execute(update(SyncCursor).values(position=0))
                return position
        finally:
            await engine.dispose()

    return asyncio.run(rewind())


def cursor_position(stack: Stack) -> int:
    async def read() -> int:
        engine = create_engine(DatabaseSettings(url=database_url(stack), echo=False))
        try:
            async with engine.connect() as conn:
                return int(await conn.scalar(select(SyncCursor.position)) or 0)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_a_change_reaches_the_phone_once_by_push_and_sms(notify_stack: Stack) -> None:
    stack = notify_stack
    browser = signed_in(stack, "zhangwei")
    key = browser.get(f"{stack.portal}/api/notifications/push-key")
    assert key.status_code == 200
    raw = b64url_decode(key.json()["public_key"])
    assert len(raw) == 65 and raw[0] == 4

    device, phone = Device(stack.provincial), fresh_phone()
    r = opt_in(stack, browser, device)
    assert r.status_code == 201, r.text
    assert r.json()["push_devices"] >= 1
    assert opt_in(stack, browser, device).status_code == 201  # the same browser again: still one device
    app = forwarded_application(stack, browser, phone)
    shown = settings(stack, browser)
    assert shown["sms_phone_masked"] == phone[:3] + "****" + phone[-4:]
    assert device.received() == [] and sms_for(stack.provincial, phone) == []  # submitted/forwarded: no message

    stack.clerk(app["id"], "accept")
    wait_until(lambda: device.received() and sms_for(stack.provincial, phone), timeout=20)
    (message,) = device.messages()
    assert message == {"title": "存档证明 · 申请已受理", "body": f"申请编号 {app['reference_no']}，点按查看详情",
                       "url": f"/applications/{app['id']}", "tag": app["id"]}
    (stored,) = device.received()
    assert stored["claims"]["aud"] == stack.provincial and stored["public_key"] == key.json()["public_key"]
    (sms,) = sms_for(stack.provincial, phone)
    assert sms["text"] == (f"【档案服务】您的存档证明申请（{app['reference_no']}）状态更新：申请已受理。"
                           "请登录档案服务查看详情。")

    position = replay_the_status_feed(stack)  # the provincial feed read again from the start
    wait_until(lambda: cursor_position(stack) >= position, timeout=20)
    time.sleep(1.5)  # several notifier rounds
    assert len(device.received()) == 1 and len(sms_for(stack.provincial, phone)) == 1

    logs = stack.log("bff")
    for personal in (phone, "110105199805120012", "张伟", device.channel):
        assert personal not in logs, f"personal data in the BFF's log: {personal}"
    assert opt_out(stack, browser, device.endpoint).status_code == 204


def test_opting_out_stops_pushes_but_not_sms(notify_stack: Stack) -> None:
    stack = notify_stack
    browser = signed_in(stack, "wangfang")
    device, phone = Device(stack.provincial), fresh_phone()
    assert opt_in(stack, browser, device).status_code == 201
    before = settings(stack, browser)["push_devices"]

    stranger = signed_in(stack, "sunhao")
    assert opt_out(stack, stranger, device.endpoint).status_code == 204  # not theirs: nothing happens
    assert settings(stack, browser)["push_devices"] == before

    assert opt_out(stack, browser, device.endpoint).status_code == 204
    assert settings(stack, browser)["push_devices"] == before - 1
    assert opt_out(stack, browser, device.endpoint).status_code == 204  # again: still fine
    app = forwarded_application(stack, browser, phone)
    stack.clerk(app["id"], "refuse", reason="档案中无相关记载")
    wait_until(lambda: sms_for(stack.provincial, phone), timeout=20)
    assert "不予办理" in sms_for(stack.provincial, phone)[0]["text"]
    assert "档案中无相关记载" not in sms_for(stack.provincial, phone)[0]["text"]
    time.sleep(1)
    assert device.received() == []


def test_a_gone_subscription_is_deleted(notify_stack: Stack) -> None:
    stack = notify_stack
    browser = signed_in(stack, "sunhao")
    device, phone = Device(stack.provincial), fresh_phone()
    assert opt_in(stack, browser, device).status_code == 201
    devices = settings(stack, browser)["push_devices"]
    device.gone()  # the person cleared the browser's site data
    app = forwarded_application(stack, browser, phone)
    stack.clerk(app["id"], "accept")
    wait_until(lambda: settings(stack, browser)["push_devices"] == devices - 1, timeout=20)
    wait_until(lambda: sms_for(stack.provincial, phone), timeout=20)
    assert device.received() == []


def test_several_changes_at_once_make_one_message_per_channel(notify_stack: Stack) -> None:
    stack = notify_stack
    browser = signed_in(stack, "zhangwei")
    device, phone = Device(stack.provincial), fresh_phone()
    assert opt_in(stack, browser, device).status_code == 201
    app = forwarded_application(stack, browser, phone)
    stack.set_fault("down")  # the portal cannot read the feed for a while
    try:
        stack.clerk(app["id"], "accept")
        stack.clerk(app["id"], "refuse", reason="材料不全")
        time.sleep(1)
    finally:
        stack.set_fault("none")
    wait_until(lambda: detail(stack, browser, app["id"])["status"] == "refused", timeout=20)
    wait_until(lambda: device.received() and sms_for(stack.provincial, phone), timeout=20)
    time.sleep(1.5)
    assert [m["title"] for m in device.messages()] == ["存档证明 · 不予办理"]
    assert [m["text"] for m in sms_for(stack.provincial, phone)] == [
        f"【档案服务】您的存档证明申请（{app['reference_no']}）状态更新：不予办理。请登录档案服务查看详情。"]
    assert opt_out(stack, browser, device.endpoint).status_code == 204


def test_a_subscription_is_checked_and_for_persons_only(notify_stack: Stack) -> None:
    stack = notify_stack
    browser = signed_in(stack, "zhangwei")
    good = Device(stack.provincial).subscription()
    cases = [
        {**good, "endpoint": "https://evil.example/push/1"},
        {**good, "endpoint": "http://169.254.169.254/latest"},
        {**good, "keys": {**good["keys"], "p256dh": good["keys"]["p256dh"][:-4]}},
        {**good, "keys": {**good["keys"], "auth": "c2hvcnQ"}},
    ]
    for body in cases:
        r = post(stack, browser, SUBSCRIPTIONS, body)
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "validation_error"
        assert any("\u4e00" <= ch <= "\u9fff" for ch in r.json()["message"])
    assert "推送服务地址不受支持" in post(stack, browser, SUBSCRIPTIONS, cases[0]).json()["message"]
    assert post(stack, browser, SUBSCRIPTIONS, {"endpoint": good["endpoint"]}).status_code == 400
    other_site = browser.post(f"{stack.portal}{SUBSCRIPTIONS}", json=good, headers={"Origin": "https://evil.example"})
    assert other_site.status_code == 403

    unit = hr(stack)
    assert unit.get(f"{stack.portal}/api/notifications/push-key").status_code == 403
    assert post(stack, unit, SUBSCRIPTIONS, good).status_code == 403
    assert httpx.get(f"{stack.portal}/api/notifications/settings").status_code == 401
