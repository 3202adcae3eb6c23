"""The hash chain: appending a row, checking the whole chain, and the retention purge with its checkpoint.

Row ``n`` stores ``prev_hash`` (row ``n-1``'s hash, 64 zeros for row 1) and ``hash`` = SHA-256 of the canonical
encoding of its fields and ``prev_hash`` (``canonical``). Sequence numbers have no gaps, so a removed row shows
as a gap or a broken link, an altered row as a hash that no longer matches, a row slipped in as a link that
skips it.

Appends are serialised so that two BFF instances on one PostgreSQL never fork the chain: each takes a
transaction-scoped advisory lock before reading the head, held until its transaction ends. SQLite has one
writer at a time; a no-op write takes that lock before the head is read. Callers append as the last step
before their commit, so the lock is held for little more than the commit.

The purge removes the oldest rows only (a prefix of the chain), under a permit the triggers check, and
appends a checkpoint row (``audit.purge``) naming the last removed row's sequence number and hash: ``verify``
accepts a chain that starts after 1 only when such a checkpoint vouches for its first row.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bff.db.models import AuditEntry, AuditPurgePermit
from bff.lib.clock import utcnow

GENESIS = "0" * 64
FORMAT = 1  # the canonical encoding's version, hashed with every row
PURGE_ACTION = "audit.purge"
OUTCOMES = ("ok", "denied", "failed")
# pg_advisory_xact_lock key for the chain head: "audit" in ASCII
LOCK_KEY = 0x6175646974
BATCH = 2000


@dataclass(frozen=True)
class Who:
    """Who acted and from where: a pseudonym (never a name or ID number), a role, the client address, the
    request id of the log lines of the same request."""

    actor: str | None
    role: str
    client: str | None = None
    request_id: str | None = None


SYSTEM = Who(actor=None, role="system")


@dataclass(frozen=True)
class Entry:
    """What happened: an action name (``area.verb``), its outcome and target, and a small detail without
    personal data (codes, counts, ids)."""

    action: str
    outcome: str = "ok"
    target_type: str | None = None
    target_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str


def encode_detail(detail: dict[str, Any]) -> str:
    return json.dumps(detail, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(seq: int, at: datetime, actor: str | None, actor_role: str, action: str, target_type: str | None,
              target_id: str | None, outcome: str, client: str | None, request_id: str | None, detail: str,
              prev_hash: str) -> bytes:
    """One JSON array, fixed order, no whitespace: the same bytes on every database and every Python."""
    fields = [FORMAT, seq, _iso(at), actor, actor_role, action, target_type, target_id, outcome, client,
              request_id, detail, prev_hash]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()


def row_hash(row: AuditEntry) -> str:
    return hashlib.sha256(canonical(row.seq, row.at, row.actor, row.actor_role, row.action, row.target_type,
                                    row.target_id, row.outcome, row.client, row.request_id, row.detail,
                                    row.prev_hash)).hexdigest()


async def lock_head(db: AsyncSession) -> Head:
    """Takes the chain's lock for the rest of the caller's transaction and reads the last row."""
    if db.get_bind().dialect.name == "postgresql":
        await db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    else:  # SQLite: a write (that changes nothing) takes the database's one write lock now, before the read
        await db.execute(text("DELETE FROM audit_purge_permits WHERE 0"))
    last = (await db.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc())
                             .limit(1))).first()
    return Head(seq=int(last.seq), hash=str(last.hash)) if last is not None else Head(seq=0, hash=GENESIS)


def _clip(value: str | None, length: int) -> str | None:
    return value[:length] if value is not None else None


async def insert_after(db: AsyncSession, head: Head, entry: Entry, who: Who, at: datetime | None = None) -> Head:
    """Writes ``entry`` as the row after ``head`` (the caller holds the lock); returns the new head."""
    if entry.outcome not in OUTCOMES:
        raise ValueError(f"unknown audit outcome {entry.outcome!r}")
    values: dict[str, Any] = {
        "seq": head.seq + 1, "at": (at or utcnow()).astimezone(UTC), "actor": _clip(who.actor, 64),
        "actor_role": who.role[:16], "action": entry.action[:48], "target_type": _clip(entry.target_type, 32),
        "target_id": _clip(entry.target_id, 64), "outcome": entry.outcome, "client": _clip(who.client, 64),
        "request_id": _clip(who.request_id, 32), "detail": encode_detail(entry.detail), "prev_hash": head.hash,
    }
    values["hash"] = hashlib.sha256(canonical(**values)).hexdigest()
    await db.execute(insert(AuditEntry).values(**values))
    return Head(seq=values["seq"], hash=values["hash"])


async def append(db: AsyncSession, entry: Entry, who: Who, at: datetime | None = None) -> Head:
    """Adds one row to the caller's transaction (which must then commit); call it last before the commit."""
    return await insert_after(db, await lock_head(db), entry, who, at)


# -- verification -------------------------------------------------------------------------------------------


@dataclass
class Report:
    rows: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    head_hash: str | None = None
    purged_through: int | None = None  # rows up to this one were removed by a purge with a checkpoint
    broken_seq: int | None = None
    problem: str | None = None
    anchors_checked: int = 0

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def _checkpoint(row: AuditEntry) -> tuple[int, str] | None:
    try:
        detail = json.loads(row.detail)
        return int(detail["through_seq"]), str(detail["through_hash"])
    except (ValueError, KeyError, TypeError):
        return None


async def verify(db: AsyncSession, anchors: dict[int, str] | None = None) -> Report:
    """Walks the chain in order and stops at the first row that does not hold. ``anchors`` are (seq → hash)
    pairs an operator noted earlier (from a previous ``verify``): they catch a chain rewritten from some row on,
    or rows cut off its end, which no check of the chain alone can."""
    if db.get_bind().dialect.name == "postgresql":
        await db.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    report = Report()
    anchors = dict(anchors or {})
    checkpoints: dict[int, str] = {}
    first: AuditEntry | None = None
    prev: AuditEntry | None = None
    before_prev_hash: str | None = None

    def broken(seq: int, problem: str) -> Report:
        report.broken_seq, report.problem = seq, problem
        return report

    after = -1
    while True:
        batch = list(await db.scalars(select(AuditEntry).where(AuditEntry.seq > after)
                                      .order_by(AuditEntry.seq).limit(BATCH)))
        if not batch:
            break
        for row in batch:
            if first is None:
                first = row
                if row.seq == 1 and row.prev_hash != GENESIS:
                    return broken(row.seq, "第一条记录没有从链的起点开始（被改动或替换）")
            elif prev is not None:
                if row.seq != prev.seq + 1:
                    missing = f"{prev.seq + 1}" if row.seq == prev.seq + 2 else f"{prev.seq + 1}–{row.seq - 1}"
                    return broken(prev.seq + 1, f"序号 {missing} 的记录缺失（被删除）")
                if row.prev_hash != prev.hash:
                    if row.prev_hash == before_prev_hash:
                        return broken(prev.seq, f"序号 {prev.seq} 的记录是插入的：其后一条记录链接的是再前一条")
                    return broken(row.seq, f"序号 {row.seq} 的记录与前一条（序号 {prev.seq}）链接不上："
                                           "其前的记录被删除、替换或改动")
            if row_hash(row) != row.hash:
                return broken(row.seq, f"序号 {row.seq} 的记录内容与其哈希不符（被改动）")
            expected = anchors.pop(row.seq, None)
            if expected is not None:
                report.anchors_checked += 1
                if expected != row.hash:
                    return broken(row.seq, f"序号 {row.seq} 的哈希与此前记下的不同：自此起的记录被重写")
            if row.action == PURGE_ACTION and (mark := _checkpoint(row)) is not None:
                checkpoints[mark[0]] = mark[1]
            report.rows += 1
            before_prev_hash = prev.hash if prev is not None else None
            prev = row
        after = batch[-1].seq
    if first is not None and prev is not None:
        report.first_seq, report.last_seq, report.head_hash = first.seq, prev.seq, prev.hash
        if first.seq != 1:
            if checkpoints.get(first.seq - 1) != first.prev_hash:
                return broken(first.seq, f"序号 {first.seq} 之前的记录被删除，且没有对应的清理检查点")
            report.purged_through = first.seq - 1
    for seq in sorted(anchors):
        if report.purged_through is not None and seq <= report.purged_through:
            continue  # purged since it was noted: the checkpoint vouches for the chain from there
        return broken(seq, f"此前记下的序号 {seq} 的记录已不存在：链尾的记录被删除")
    return report


# -- retention ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Purged:
    through_seq: int
    deleted: int
    checkpoint_seq: int


async def purge(db: AsyncSession, retention_days: int, who: Who, now: datetime | None = None) -> Purged | None:
    """Removes the rows older than ``retention_days`` (the oldest ones only) and appends the checkpoint, in the
    caller's transaction; None when nothing is old enough."""
    now = now or utcnow()
    head = await lock_head(db)
    cutoff = now - timedelta(days=retention_days)
    first = await db.scalar(select(func.min(AuditEntry.seq)))
    if first is None:
        return None
    keep_from = await db.scalar(select(func.min(AuditEntry.seq)).where(AuditEntry.at >= cutoff))
    through = int(keep_from) - 1 if keep_from is not None else head.seq
    if through < int(first):
        return None
    through_hash = await db.scalar(select(AuditEntry.hash).where(AuditEntry.seq == through))
    await db.execute(insert(AuditPurgePermit).values(through_seq=through))
    result = await db.execute(delete(AuditEntry).where(AuditEntry.seq <= through))
    await db.execute(delete(AuditPurgePermit))
    deleted = int(result.rowcount)  # type: ignore[attr-defined]
    entry = Entry(PURGE_ACTION, "ok", "audit_log", str(through), {
        "through_seq": through, "through_hash": through_hash, "deleted": deleted,
        "retention_days": retention_days, "before": _iso(cutoff)})
    written = await insert_after(db, head, entry, who, now)
    return Purged(through_seq=through, deleted=deleted, checkpoint_seq=written.seq)
