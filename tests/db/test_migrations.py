"""Alembic: one head, the migrations build exactly the models' schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError

from bff.db.engine import create_engine
from bff.db.migrate import alembic_config, upgrade
from bff.settings import DatabaseSettings
from tests.support.servers import fresh_database


def test_alembic_has_a_single_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, heads


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    return fresh_database(request.getfixturevalue("pg_url"), "migrations")


def test_migrations_match_the_models(database_url: str) -> None:
    upgrade(database_url)
    try:
        command.check(alembic_config(database_url))
    except CommandError as exc:  # pragma: no cover - the failure message is the point
        pytest.fail(f"models and migrations differ: {exc}")


def test_downgrade_and_upgrade_again(database_url: str) -> None:
    upgrade(database_url)
    command.downgrade(alembic_config(database_url), "base")
    upgrade(database_url)

    async def tables() -> set[str]:
        from sqlalchemy import inspect

        engine = create_engine(DatabaseSettings(url=database_url, echo=False))
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        await engine.dispose()
        return names

    assert {"applications", "status_events", "outbox", "sync_cursors", "certificates"} <= asyncio.run(tables())
