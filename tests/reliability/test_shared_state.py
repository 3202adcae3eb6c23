"""Redis down, and two instances on one PostgreSQL and Redis."""

from __future__ import annotations

import secrets
import uuid

import httpx
import pytest

from tests.reliability.conftest import EventListener, drill_stack, record_figures
from tests.support.flows import detail, signed_in, submit, timeline
from tests.support.portal_client import Browser
from tests.support.servers import RedisServer
from tests.support.stack import Stack, wait_until


@pytest.fixture()
def shared_stack(pg_url: str, own_redis: RedisServer, request: pytest.FixtureRequest) -> Stack:
    return drill_stack(request, pg_url, own_redis)


def test_redis_down_serves_what_it_can_fails_closed_on_sessions_and_loses_nothing(
        shared_stack: Stack, own_redis: RedisServer) -> None:
    stack = shared_stack
    browser = signed_in(stack)
    assert browser.get(f"{stack.portal}/api/archive").status_code == 200
    stack.set_fault("down")  # one application still owed to the province when Redis goes
    owed = submit(stack, browser).json()["id"]

    own_redis.stop()
    health = httpx.get(f"{stack.portal}/healthz", timeout=15).json()
    assert health["status"] == "degraded" and health["checks"]["store"] == "down"
    assert health["checks"]["database"] == "ok"
    mine = browser.get(f"{stack.portal}/api/applications")  # sessions live in Redis: fail closed, say "retry"
    assert mine.status_code == 503 and mine.json()["code"] == "unavailable", mine.text
    assert "请稍后重试" in mine.json()["message"]
    key = str(uuid.uuid4())
    refused = submit(stack, browser, key)
    assert refused.status_code == 503
    shell = httpx.get(f"{stack.portal}/applications", timeout=15)  # the PWA itself still loads
    assert shell.status_code == 200 and "text/html" in shell.headers["content-type"]
    unknown = httpx.get(f"{stack.portal}/v/{secrets.token_hex(8)}", timeout=15)  # verification needs no Redis
    assert unknown.status_code in (200, 404) and "text/html" in unknown.headers["content-type"]
    assert "核验" in unknown.text
    stack.set_fault("none")  # forwarding needs no Redis either
    wait_until(lambda: stack.sandbox_application(owed) is not None, timeout=30)

    own_redis.start()  # the same data back (append-only file): the person is still signed in
    wait_until(lambda: browser.get(f"{stack.portal}/api/applications").status_code == 200, timeout=30)
    assert "已转送至存档机构" in timeline(stack, browser, owed)
    created = submit(stack, browser, key)
    assert created.status_code == 201, created.text
    assert submit(stack, browser, key).json()["id"] == created.json()["id"]
    listed = [a["id"] for a in browser.get(f"{stack.portal}/api/applications").json()["items"]]
    assert listed.count(created.json()["id"]) == 1 and len(listed) == 2  # the owed one and this one
    listener = EventListener(stack.portal, browser)  # live updates work again after the outage
    try:
        stack.clerk(owed, "accept")
        listener.wait_for(owed, "accepted")
    finally:
        listener.close()
    assert httpx.get(f"{stack.portal}/healthz", timeout=15).json()["status"] == "ok"
    record_figures("Redis stopped and started again", submits_during_outage=1, answered="503 请稍后重试",
                   forwarded_during_outage=1, lost=0, live_updates_after_recovery="yes",
                   sessions="fail closed (503); rate limits: see ARCHITECTURE")


def test_the_other_instance_carries_live_updates_and_sign_out_is_everywhere(shared_stack: Stack) -> None:
    stack = shared_stack
    quiet = stack.start_second_bff("bff-a", RELAY_ENABLED="0")  # serves the person; polls nothing itself
    try:
        browser = signed_in(stack)
        cookies_before_logout = dict(browser.cookies)
        app_id = submit(stack, browser).json()["id"]
        wait_until(lambda: "已转送至存档机构" in timeline(stack, browser, app_id), timeout=30)
        listener = EventListener(quiet, browser)
        try:
            stack.clerk(app_id, "accept")  # only the first instance polls, so only it learns of this
            listener.wait_for(app_id, "accepted")
        finally:
            listener.close()
        assert detail(stack, browser, app_id)["status_label"] == "申请已受理"
        assert browser.get(f"{quiet}/api/me").status_code == 200
        out = browser.post(f"{stack.portal}/auth/logout", headers={"Origin": stack.portal})
        assert out.status_code == 303
        replay = Browser()
        replay.cookies.update(cookies_before_logout)
        assert replay.get(f"{quiet}/api/me").status_code == 401  # signed out on one instance: on every one
    finally:
        stack.stop("bff-a")


def test_two_instances_under_a_stream_of_applications_send_once_and_apply_once(shared_stack: Stack) -> None:
    stack = shared_stack
    second = stack.start_second_bff("bff-b")
    try:
        people = [signed_in(stack, who) for who in ("zhangwei", "wangfang", "wujing", "sunhao")]
        ids: list[tuple[int, str]] = []
        for n in range(40):
            who = n % len(people)
            base = stack.portal if n % 2 else second
            answer = people[who].post(f"{base}/api/applications", json={
                "kind": "archive_certificate", "purpose": "办理落户", "phone": "13800138000",
                "delivery": "electronic"}, headers={"Idempotency-Key": str(uuid.uuid4()), "Origin": stack.portal})
            assert answer.status_code == 201, answer.text
            ids.append((who, answer.json()["id"]))
        wait_until(lambda: all(stack.sandbox_application(i) for _, i in ids), timeout=90, interval=1)
        for _, app_id in ids:
            stack.clerk(app_id, "accept")
        wait_until(lambda: all(detail(stack, people[w], i)["status_label"] == "申请已受理" for w, i in ids),
                   timeout=90, interval=1)
        for who, app_id in ids:
            held = stack.sandbox_application(app_id)
            assert held is not None and held["submit_count"] == 1
            assert timeline(stack, people[who], app_id) == ["已提交", "已转送至存档机构", "申请已受理"]
    finally:
        stack.stop("bff-b")
    record_figures("two instances, relays and pollers on both", applications=len(ids), sent_twice=0,
                   status_changes=len(ids), applied_twice=0)
