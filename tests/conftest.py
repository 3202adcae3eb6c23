"""The whole stack as processes on loopback, on each database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import Stack


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    """The stack on SQLite with the in-process store, and on PostgreSQL with Redis."""
    if request.param == "postgresql":
        running = Stack(database_url=request.getfixturevalue("pg_url"),
                        redis_url=request.getfixturevalue("redis_url"))
    else:
        running = Stack()
    running.start()
    yield running
    running.close()
