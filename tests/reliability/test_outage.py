"""The provincial system down for hours, and past the retry window (the relay's clock is moved, not slept)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from bff.db.models import OutboxMessage
from bff.domain.applications.services import DEAD_NOTICE, OUTAGE_NOTICE
from bff.lib import clock
from tests.reliability.conftest import drill_stack, record_figures
from tests.reliability.relay_inprocess import relay_for
from tests.support.flows import detail, signed_in, submit, timeline
from tests.support.servers import RedisServer
from tests.support.stack import REPO, Stack

PEOPLE = ("zhangwei", "wangfang", "wujing")


@pytest.fixture()
def outage_stack(pg_url: str, own_redis: RedisServer, request: pytest.FixtureRequest) -> Stack:
    return drill_stack(request, pg_url, own_redis, RELAY_ENABLED="0")


def bff_cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """An operator's ``python -m bff …`` against the stack's database."""
    return subprocess.run([sys.executable, "-m", "bff", *args], cwd=REPO, env={**os.environ, **stack.env()},
                          capture_output=True, text=True, timeout=60)


async def _pending(relay_sessions) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    async with relay_sessions() as db:
        done = await db.scalar(select(func.count()).where(OutboxMessage.done_at.is_not(None)))
        dead = await db.scalar(select(func.count()).where(OutboxMessage.dead_at.is_not(None)))
        attempts = await db.scalar(select(func.coalesce(func.sum(OutboxMessage.attempts), 0)))
    return int(done or 0), int(dead or 0), int(attempts or 0)


async def test_six_hours_down_then_everything_forwarded_once_without_a_stampede(outage_stack: Stack) -> None:
    stack = outage_stack
    browsers = [signed_in(stack, who) for who in PEOPLE]
    for browser in browsers:
        assert browser.get(f"{stack.portal}/api/archive").status_code == 200  # cached before the outage
    changes: list[tuple[str, str, str]] = []
    step, hours = 600, 6
    ids: list[str] = []
    async with relay_for(stack, changes) as relay:
        stack.set_fault("down")
        for i in range(2 * hours * 3600 // step):  # two applications every ten minutes of the outage
            browser = browsers[i % len(browsers)]
            started = time.monotonic()
            r = submit(stack, browser)
            assert r.status_code == 201, r.text
            assert time.monotonic() - started < 5  # accepted at once, not held up by the outage
            ids.append(r.json()["id"])
            if i % 2:
                clock.shift(step)
                await relay.drain_once()
        done, dead, attempts = await _pending(relay.db_sessions)
        assert (done, dead) == (0, 0)
        for i, app_id in enumerate(ids):
            shown = detail(stack, browsers[i % len(browsers)], app_id)
            assert shown["status_label"] == "已提交" and shown["notice"] == OUTAGE_NOTICE
        assert all(stack.sandbox_application(i) is None for i in ids)

        stack.set_fault("slow", delay_seconds=0.2)  # back, and answering at a realistic pace
        stack.reset_load()
        started = time.monotonic()
        while (await _pending(relay.db_sessions))[0] < len(ids):
            clock.shift(step)
            await relay.drain_once()
            assert time.monotonic() - started < 120
        drained = time.monotonic() - started
        load = stack.load()
        stack.set_fault("none")
    records = [stack.sandbox_application(i) for i in ids]
    assert all(r is not None and r["submit_count"] == 1 for r in records)
    assert load["max_in_flight"] <= relay.settings.relay_concurrency
    for i, app_id in enumerate(ids):
        assert timeline(stack, browsers[i % len(browsers)], app_id) == ["已提交", "已转送至存档机构"]
    record_figures("provincial down 6 h (clock moved in 10-minute steps)", applications=len(ids),
                   failed_attempts_during_outage=attempts, dead_lettered=0, lost=0, duplicated=0,
                   max_concurrent_calls_after_recovery=load["max_in_flight"],
                   concurrency_bound=relay.settings.relay_concurrency,
                   backlog_drained_seconds=round(drained, 1))


async def test_past_the_retry_window_dead_lettered_then_resent_by_an_operator(
        outage_stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    stack = outage_stack
    browser = signed_in(stack)
    assert browser.get(f"{stack.portal}/api/archive").status_code == 200
    changes: list[tuple[str, str, str]] = []
    async with relay_for(stack, changes) as relay:
        stack.set_fault("down")
        ids = [submit(stack, browser).json()["id"] for _ in range(3)]
        caplog.set_level(logging.ERROR, logger="bff.relay")
        for _ in range(71):  # 71 hours: still within the window
            clock.shift(3600)
            await relay.drain_once()
        assert (await _pending(relay.db_sessions))[1] == 0
        assert detail(stack, browser, ids[0])["notice"] == OUTAGE_NOTICE
        for _ in range(2):  # past 72 hours
            clock.shift(3600)
            await relay.drain_once()
        assert (await _pending(relay.db_sessions))[1] == 3
        alerts = [r for r in caplog.records if r.getMessage().startswith("ALERT")]
        assert len(alerts) == 3
        for app_id in ids:
            shown = detail(stack, browser, app_id)
            assert shown["notice"] == DEAD_NOTICE and "工作人员正在处理" in shown["notice"]

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return bff_cli(stack, "outbox", *args)
        stats = dict(line.split("\t") for line in cli("stats").stdout.splitlines())
        assert stats["dead_letters"] == "3"
        listed = cli("list", "--dead").stdout
        assert all(app_id in listed for app_id in ids)
        assert "13800138000" not in listed and "110105" not in listed  # no personal data on the operator's screen
        outbox_ids = [line.split("\t")[0] for line in listed.splitlines()[1:]]

        stack.set_fault("none")
        assert cli("resend", "999999").returncode == 1  # not a dead letter: said so
        resent = cli("resend", *outbox_ids)
        assert resent.returncode == 0 and "re-queued 3" in resent.stdout
        await relay.drain_once()
    assert dict(line.split("\t") for line in cli("stats").stdout.splitlines())["dead_letters"] == "0"
    trail = bff_cli(stack, "audit", "list").stdout
    assert trail.count("relay.dead_letter") == 3 and trail.count("operator.outbox.resend") == 3
    for app_id in ids:
        assert timeline(stack, browser, app_id) == ["已提交", "已转送至存档机构"]
        held = stack.sandbox_application(app_id)
        assert held is not None and held["submit_count"] == 1
        assert detail(stack, browser, app_id)["notice"] is None
    record_figures("provincial down past the 72 h retry window", applications=3, dead_lettered=3, alerts_logged=3,
                   resent_by_operator=3, forwarded_after_resend=3, duplicated=0)
