"""Leases on shared rows, so that relays and pollers in several processes never work on the same thing at once.

A lease is taken with one conditional UPDATE (works the same on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from bff.db.models import OutboxMessage, SyncCursor
from bff.lib.clock import utcnow


async def lease_outbox(db: AsyncSession, row_id: int, owner: str, seconds: float) -> bool:
    now = utcnow()
    result = await db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.done_at.is_(None), OutboxMessage.dead_at.is_(None),
               or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now))
        .values(lease_until=now + timedelta(seconds=seconds), lease_owner=owner)
    )
    await db.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def lease_cursor(db: AsyncSession, name: str, owner: str, seconds: float) -> bool:
    now = utcnow()
    result = await db.execute(
        update(SyncCursor)
        .where(SyncCursor.name == name, or_(SyncCursor.lease_until.is_(None), SyncCursor.lease_until < now,
                                            SyncCursor.lease_owner == owner))
        .values(lease_until=now + timedelta(seconds=seconds), lease_owner=owner)
    )
    await db.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]
