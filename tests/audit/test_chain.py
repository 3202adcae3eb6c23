"""The audit trail's chain on each database: it verifies; an altered, removed or inserted row is found and named;
the triggers refuse UPDATE and DELETE; the retention purge leaves a checkpoint that keeps ``verify`` green while
a removal in the middle is still found; concurrent writers (two "instances") keep one chain."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bff.db.engine import session_factory
from bff.db.models import AuditEntry
from bff.domain.audit import chain, record_operator_action_in
from bff.domain.audit.chain import SYSTEM, Entry, Who
from bff.lib.clock import utcnow
from tests.audit.conftest import Db

PERSON = Who(actor="a" * 64, role="person", client="203.0.113.7", request_id="0123456789abcdef")


async def fill(sessions: async_sessionmaker[AsyncSession], count: int, days_ago: float = 0.0) -> None:
    async with sessions() as db:
        for n in range(count):
            at = utcnow() - timedelta(days=days_ago) if days_ago else None
            await chain.append(db, Entry("application.view", "ok", "application", f"app-{n}", {"n": n}), PERSON, at)
        await db.commit()


async def check(sessions: async_sessionmaker[AsyncSession]) -> chain.Report:
    async with sessions() as db:
        return await chain.verify(db)


async def test_an_untouched_chain_verifies_and_the_cli_says_so(db: Db,
                                                               sessions: async_sessionmaker[AsyncSession]) -> None:
    await fill(sessions, 12)
    report = await check(sessions)
    assert report.ok and report.rows == 12 and (report.first_seq, report.last_seq) == (1, 12)
    done = db.cli("verify")
    assert done.returncode == 0, done.stderr
    assert "审计日志完整：共 12 条，序号 1–12" in done.stdout
    assert f"链尾 12:{report.head_hash}" in done.stdout


@pytest.mark.parametrize("tampering", ["altered", "deleted", "inserted", "rehashed"])
async def test_tampering_breaks_verify_at_that_row(db: Db, sessions: async_sessionmaker[AsyncSession],
                                                   tampering: str) -> None:
    await fill(sessions, 10)
    if tampering == "altered":  # someone changes who or what, leaving the hash as it was
        await db.tamper("UPDATE audit_log SET target_id = 'app-99' WHERE seq = 6")
        expected, words = 6, "被改动"
    elif tampering == "deleted":
        await db.tamper("DELETE FROM audit_log WHERE seq = 6")
        expected, words = 6, "缺失"
    elif tampering == "inserted":  # rows 6… moved up by one, a well-formed row linked to row 5 put in at 6
        async with sessions() as s:
            head5 = chain.Head(seq=5, hash=str(await s.scalar(select(AuditEntry.hash).where(AuditEntry.seq == 5))))
        await db.tamper("UPDATE audit_log SET seq = -seq WHERE seq > 5",
                        "UPDATE audit_log SET seq = 1 - seq WHERE seq < 0")
        async with sessions() as s:
            await chain.insert_after(s, head5, Entry("auth.sign_in", "ok"), PERSON)
            await s.commit()
        expected, words = 6, "插入"
    else:  # the row changed and its own hash recomputed: the next row's link gives it away
        async with sessions() as s:
            row = await s.get(AuditEntry, 6)
            assert row is not None
            row.target_id = "app-99"
            forged = chain.row_hash(row)
            await s.rollback()
        await db.tamper(f"UPDATE audit_log SET target_id = 'app-99', hash = '{forged}' WHERE seq = 6")
        expected, words = 7, "链接不上"
    report = await check(sessions)
    assert report.broken_seq == expected and words in str(report.problem), report
    done = db.cli("verify")
    assert done.returncode == 1
    assert f"审计日志校验失败：序号 {expected}：" in done.stdout and words in done.stdout


async def test_rows_cut_off_the_end_are_caught_by_an_anchor(db: Db, sessions: async_sessionmaker[AsyncSession]) -> None:
    await fill(sessions, 8)
    head = (await check(sessions)).head_hash
    await db.tamper("DELETE FROM audit_log WHERE seq >= 7")
    assert (await check(sessions)).ok  # the chain alone cannot tell
    done = db.cli("verify", "--anchor", f"8:{head}")
    assert done.returncode == 1 and "序号 8" in done.stdout and "链尾的记录被删除" in done.stdout


async def test_the_database_refuses_update_and_delete(db: Db, sessions: async_sessionmaker[AsyncSession]) -> None:
    await fill(sessions, 3)
    for statement in ("UPDATE audit_log SET outcome = 'ok' WHERE seq = 2", "DELETE FROM audit_log WHERE seq = 2",
                      "DELETE FROM audit_log"):
        async with sessions() as s:
            with pytest.raises(DBAPIError, match="append-only"):
                await s.execute(text(statement))
            await s.rollback()
    if db.kind == "postgresql":
        async with sessions() as s:
            with pytest.raises(DBAPIError, match="append-only"):
                await s.execute(text("TRUNCATE audit_log"))
    # even the purge's permit does not let a row younger than 180 days go
    async with sessions() as s:
        await s.execute(text("INSERT INTO audit_purge_permits (through_seq) VALUES (3)"))
        with pytest.raises(DBAPIError, match="append-only"):
            await s.execute(text("DELETE FROM audit_log WHERE seq = 1"))
        await s.rollback()
    assert (await check(sessions)).rows == 3


async def test_a_purge_leaves_a_checkpoint_and_verify_stays_green(db: Db,
                                                                  sessions: async_sessionmaker[AsyncSession]) -> None:
    await fill(sessions, 6, days_ago=500)  # seq 1–6
    await fill(sessions, 4, days_ago=400)  # seq 7–10
    await fill(sessions, 3, days_ago=10)  # seq 11–13
    async with sessions() as s:
        first = await chain.purge(s, 450, SYSTEM)
        await s.commit()
    assert first is not None and (first.through_seq, first.deleted, first.checkpoint_seq) == (6, 6, 14)
    report = await check(sessions)
    assert report.ok and report.purged_through == 6 and (report.first_seq, report.last_seq) == (7, 14)

    done = db.cli("purge", AUDIT_RETENTION_DAYS="365")  # the operator's way: rows 7–10 go, a second checkpoint
    assert done.returncode == 0 and "已删除 4 条记录（序号 10 及之前），检查点为序号 15" in done.stdout, done
    report = await check(sessions)
    assert report.ok and report.purged_through == 10 and report.rows == 5  # 11–13 and the two checkpoints
    done = db.cli("verify")
    assert done.returncode == 0 and "序号 10 及之前的记录已按保存期限清理" in done.stdout
    async with sessions() as s:
        checkpoint = await s.get(AuditEntry, 15)
        assert checkpoint is not None and checkpoint.action == "audit.purge" and checkpoint.actor_role == "operator"
    assert db.cli("purge").stdout.startswith("没有超过保存期限")

    await db.tamper("DELETE FROM audit_log WHERE seq = 12")  # a removal in the middle is still found
    assert (await check(sessions)).broken_seq == 12


async def test_removing_the_oldest_rows_without_a_checkpoint_is_found(
        db: Db, sessions: async_sessionmaker[AsyncSession]) -> None:
    await fill(sessions, 5, days_ago=400)
    await fill(sessions, 2)
    async with sessions() as s:
        await chain.purge(s, 365, SYSTEM)
        await s.commit()
    await db.tamper("DELETE FROM audit_log WHERE seq <= 6")  # the oldest remaining row too: no checkpoint for it
    report = await check(sessions)
    assert report.broken_seq == 7 and "没有对应的清理检查点" in str(report.problem)


async def test_concurrent_writers_keep_one_chain(db: Db) -> None:
    """Two engines stand for two BFF instances; each runs several writers at once."""
    engines = [db.engine(), db.engine()]
    factories = [session_factory(e) for e in engines]
    writers, each = 6, 15

    async def writer(n: int) -> None:
        for i in range(each):
            async with factories[n % 2]() as s:
                await chain.append(s, Entry("application.view", "ok", "application", f"w{n}-{i}"), PERSON)
                await asyncio.sleep(0)  # let the others run while this transaction is open
                await s.commit()

    await asyncio.gather(*(writer(n) for n in range(writers)))
    async with factories[0]() as s:
        report = await chain.verify(s)
        count = await s.scalar(select(func.count()).select_from(AuditEntry))
    for engine in engines:
        await engine.dispose()
    assert report.ok, report
    assert count == report.rows == writers * each and report.last_seq == writers * each


async def test_operator_actions_are_recorded_pseudonymised(db: Db, sessions: async_sessionmaker[AsyncSession],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_DIR", str(db.data_dir))
    async with sessions() as s:  # the operator's change and its row commit together
        await record_operator_action_in(s, "outbox.resend", "42", "ok", {"previous_error": "rejected 422"})
        await s.commit()
    async with sessions() as s:
        row = await s.get(AuditEntry, 1)
    assert row is not None
    assert (row.action, row.actor_role, row.target_type, row.target_id, row.outcome) == (
        "operator.outbox.resend", "operator", "outbox", "42", "ok")
    assert row.actor is not None and len(row.actor) == 64
    import getpass

    assert getpass.getuser() not in row.actor
    listed = db.cli("list", "--who", f"operator:{getpass.getuser()}", "--action", "operator.outbox.resend")
    assert listed.returncode == 0 and "\toperator.outbox.resend\tok\t" in listed.stdout
    assert db.cli("list", "--who", "operator:someone-else").stdout.count("\n") == 1  # the header only


async def test_list_filters_by_time_and_action(db: Db, sessions: async_sessionmaker[AsyncSession]) -> None:
    await fill(sessions, 2, days_ago=30)
    async with sessions() as s:
        await chain.append(s, Entry("auth.sign_in", "failed", detail={"reason": "state"}), PERSON)
        await s.commit()
    since = (utcnow() - timedelta(days=1)).date().isoformat()
    recent = db.cli("list", "--since", since).stdout.splitlines()
    assert len(recent) == 2 and recent[1].split("\t")[2:4] == ["auth.sign_in", "failed"]
    assert len(db.cli("list", "--action", "application.view").stdout.splitlines()) == 3
    bad = db.cli("list", "--since", "yesterday")
    assert bad.returncode == 2 and "时间格式不正确" in bad.stderr


async def test_the_cost_of_an_append(db: Db, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Each append in its own transaction (a read's row): lock, read the head, insert, commit."""
    await fill(sessions, 1)
    rounds = 200
    started = time.perf_counter()
    for n in range(rounds):
        async with sessions() as s:
            await chain.append(s, Entry("application.view", "ok", "application", str(n)), PERSON)
            await s.commit()
    per_append_ms = (time.perf_counter() - started) * 1000 / rounds
    print(f"\n{db.kind}: {per_append_ms:.2f} ms per append (own transaction, {rounds} rounds)")
    assert per_append_ms < 25, per_append_ms
