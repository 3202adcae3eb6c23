"""What can be asked of the outbox as a whole: how much is owed, and re-queueing dead letters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bff.db.models import OutboxMessage
from bff.domain import audit

RESENT = "resent"  # last_error_kind of a row an operator re-queued: looked up before it is sent again


async def stats(db: AsyncSession, now: datetime) -> dict[str, int]:
    pending = OutboxMessage.done_at.is_(None) & OutboxMessage.dead_at.is_(None)
    count, oldest = (await db.execute(select(func.count(), func.min(OutboxMessage.created_at)).where(pending))).one()
    dead = await db.scalar(select(func.count()).where(OutboxMessage.dead_at.is_not(None),
                                                      OutboxMessage.done_at.is_(None)))
    return {"pending": int(count), "oldest_pending_seconds": int((now - oldest).total_seconds()) if oldest else 0,
            "dead_letters": int(dead or 0)}


async def resend(db: AsyncSession, ids: list[int] | None, now: datetime) -> list[int]:
    """Re-queues the dead letters named (all of them when ``ids`` is None); returns the ids re-queued."""
    query = select(OutboxMessage).where(OutboxMessage.dead_at.is_not(None), OutboxMessage.done_at.is_(None))
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(ids))
    rows = list(await db.scalars(query.with_for_update()))
    for row in rows:
        row.dead_at = row.lease_until = None
        row.attempts = 0
        row.next_attempt_at = row.created_at = now  # a fresh retry window
        row.last_error = f"resent by an operator after: {row.last_error or ''}"[:500]
        row.last_error_kind = RESENT
        await audit.record_operator_action_in(db, "outbox.resend", str(row.id), "ok",
                                              {"application_id": str(row.application_id), "kind": row.kind})
    await db.commit()
    return [row.id for row in rows]
