"""Certificates issued at the same moment each get their own bit in the status list (PostgreSQL's sequence,
migration 0007): before, both read the same ``max + 1`` and the second failed on the unique constraint after its
render, a 500 for a person asking for a reissue."""

from __future__ import annotations

import asyncio

from bff.db.engine import create_engine, session_factory
from bff.db.migrate import upgrade
from bff.domain.certificates.services import next_status_index
from bff.settings import DatabaseSettings
from tests.support.servers import fresh_database


def test_concurrent_issues_get_distinct_status_indexes(pg_url: str) -> None:
    url = fresh_database(pg_url, "status_index")
    upgrade(url)

    async def allocate(n: int) -> list[int]:
        engine = create_engine(DatabaseSettings(url=url, echo=False))
        sessions = session_factory(engine)
        ready = asyncio.Barrier(n)

        async def one() -> int:
            async with sessions() as db, db.begin():  # each in its own open transaction, as issue() is
                await ready.wait()
                return await next_status_index(db)

        try:
            return list(await asyncio.gather(*(one() for _ in range(n))))
        finally:
            await engine.dispose()

    first = asyncio.run(allocate(20))
    assert sorted(first) == list(range(1, 21))
    second = asyncio.run(allocate(5))  # a restart does not hand out an index again
    assert min(second) > max(first) and len(set(second)) == 5
