"""Faults between the portal and its peers: a timeout after the provincial commit, the BFF killed between its
commit and the forward, the database restarting mid-submit, a double tap."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import pytest

from tests.reliability.conftest import drill_stack, record_figures
from tests.support.flows import detail, signed_in, submit, timeline
from tests.support.servers import PostgresServer, RedisServer
from tests.support.stack import Stack, wait_until


@pytest.fixture()
def fault_stack(pg_url: str, own_redis: RedisServer, request: pytest.FixtureRequest) -> Stack:
    return drill_stack(request, pg_url, own_redis)


def forwarded(stack: Stack, browser, app_id: str) -> bool:  # type: ignore[no-untyped-def]
    return "已转送至存档机构" in timeline(stack, browser, app_id)


def test_timeout_after_the_provincial_commit_leaves_exactly_one_record(fault_stack: Stack) -> None:
    stack = fault_stack
    browser = signed_in(stack)
    assert browser.get(f"{stack.portal}/api/archive").status_code == 200
    stack.set_fault("timeout_after_commit", delay_seconds=5)  # stored there, answered after the BFF's 3 s timeout
    try:
        ids = [submit(stack, browser).json()["id"] for _ in range(10)]
        wait_until(lambda: all(forwarded(stack, browser, i) for i in ids), timeout=90)
    finally:
        stack.set_fault("none")
    records = [stack.sandbox_application(i) for i in ids]
    assert all(r is not None and r["submit_count"] == 1 for r in records)
    assert all(timeline(stack, browser, i).count("已转送至存档机构") == 1 for i in ids)
    record_figures("provincial stores, then times out (5 s > 3 s)", applications=10, records_at_province=10,
                   submitted_twice=0, lost=0)


def test_bff_killed_between_commit_and_forward_forwards_once_after_restart(fault_stack: Stack) -> None:
    stack = fault_stack
    browser = signed_in(stack)
    assert browser.get(f"{stack.portal}/api/archive").status_code == 200
    stack.set_fault("slow", delay_seconds=2)  # the forwards are on the wire when the process dies
    ids = [submit(stack, browser).json()["id"] for _ in range(10)]
    wait_until(lambda: stack.load()["in_flight"] >= 1, timeout=20)
    stack.stop("bff", signal.SIGKILL)
    stack.set_fault("none")
    time.sleep(2.5)  # what was on the wire lands at the province with nobody left to hear the answer
    landed_while_down = sum(stack.sandbox_application(i) is not None for i in ids)
    stack.start_bff()
    browser = signed_in(stack)  # the same person, after the restart (sessions are in Redis, so not needed)
    wait_until(lambda: all(forwarded(stack, browser, i) for i in ids), timeout=120, interval=1)
    records = [stack.sandbox_application(i) for i in ids]
    assert all(r is not None and r["submit_count"] == 1 for r in records), records
    assert all(timeline(stack, browser, i).count("已转送至存档机构") == 1 for i in ids)
    assert landed_while_down >= 1  # the kill really fell between the provincial commit and the BFF's record
    record_figures("BFF SIGKILLed with forwards on the wire", applications=10,
                   stored_at_province_before_restart=landed_while_down, forwarded_after_restart=10,
                   submitted_twice=0, lost=0)


def test_double_tap_makes_one_application(fault_stack: Stack) -> None:
    stack = fault_stack
    browser = signed_in(stack)
    key = str(uuid.uuid4())
    before = len(browser.get(f"{stack.portal}/api/applications").json()["items"])
    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda _: submit(stack, browser, key), range(5)))
    statuses = sorted(a.status_code for a in answers)
    ids = {a.json()["id"] for a in answers if a.status_code in (200, 201)}
    assert statuses.count(201) == 1 and set(statuses) <= {200, 201, 409} and len(ids) == 1
    assert all(a.json()["code"] == "in_progress" for a in answers if a.status_code == 409)
    other = submit(stack, browser, key, purpose="另一个用途")
    assert other.status_code == 422 and other.json()["code"] == "idempotency_mismatch"
    assert len(browser.get(f"{stack.portal}/api/applications").json()["items"]) == before + 1
    record_figures("five simultaneous taps with one Idempotency-Key", requests=5, applications=1,
                   answers=" ".join(map(str, statuses)))


@pytest.fixture()
def restartable_pg() -> PostgresServer:
    server = PostgresServer()
    server.start()
    server.create_database()
    yield server  # type: ignore[misc]
    server.close()


def _count(url: str, key: str) -> int:
    async def count() -> int:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            return int(await conn.fetchval("SELECT count(*) FROM applications WHERE idempotency_key = $1", key))
        finally:
            await conn.close()

    return asyncio.run(count())


def test_database_restart_mid_submit_says_try_again_and_the_retry_makes_one(
        restartable_pg: PostgresServer, own_redis: RedisServer) -> None:
    from tests.reliability.conftest import DRILL_ENV

    stack = Stack(database_url=restartable_pg.url, redis_url=own_redis.url, extra_env=DRILL_ENV)
    stack.start()
    try:
        browser = signed_in(stack, "zhaolei")  # no archive cached yet: the submit asks the province first
        key = str(uuid.uuid4())
        stack.set_fault("slow", delay_seconds=2)
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(submit, stack, browser, key)
            time.sleep(0.5)
            restartable_pg.stop()  # the database goes away while the submit is under way
            answer = pending.result()
        stack.set_fault("none")
        assert answer.status_code == 503, answer.text
        assert answer.json()["code"] == "unavailable" and "请稍后重试" in answer.json()["message"]
        assert answer.headers.get("retry-after")
        restartable_pg.start()
        assert _count(restartable_pg.url, key) == 0  # nothing half-written
        retry = submit(stack, browser, key)
        assert retry.status_code == 201, retry.text
        again = submit(stack, browser, key)
        assert again.status_code == 200 and again.json()["id"] == retry.json()["id"]
        assert _count(restartable_pg.url, key) == 1
        wait_until(lambda: forwarded(stack, browser, retry.json()["id"]), timeout=30)
        assert detail(stack, browser, retry.json()["id"])["status_label"] == "已提交"
    finally:
        stack.close()
    record_figures("PostgreSQL restarted mid-submit", submits=1, answered="503 请稍后重试", half_written=0,
                   retry_with_same_key_created=1)
