"""A freshly migrated database of each kind, and ways to tamper with it as someone with database rights would."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bff.db.engine import create_engine, session_factory
from bff.db.migrate import upgrade
from bff.settings import DatabaseSettings
from tests.support.servers import fresh_database

REPO = Path(__file__).resolve().parents[2]


class Db:
    """One migrated database: its URL, its data directory (the dev audit key), an engine per use."""

    def __init__(self, url: str, data_dir: Path) -> None:
        self.url = url
        self.data_dir = data_dir
        self.kind = "postgresql" if url.startswith("postgresql") else "sqlite"

    def engine(self) -> AsyncEngine:
        return create_engine(DatabaseSettings(url=self.url, echo=False))

    def env(self, **extra: str) -> dict[str, str]:
        import os

        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "AUDIT_", "DATA_DIR"))}
        return {**env, "PYTHONPATH": str(REPO), "DATABASE_URL": self.url, "DATA_DIR": str(self.data_dir), **extra}

    def cli(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """``python -m bff audit …`` as an operator runs it."""
        return subprocess.run([sys.executable, "-m", "bff", "audit", *args], cwd=REPO, env=self.env(**env),
                              capture_output=True, text=True, timeout=120)

    async def tamper(self, *statements: str) -> None:
        """Runs SQL past the append-only triggers, as a database administrator (or an attacker with those
        rights) could: on PostgreSQL with triggers switched off for the session, on SQLite by dropping them."""
        if self.kind == "sqlite":
            path = self.url.split("///", 1)[1]
            with sqlite3.connect(path) as conn:
                conn.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
                conn.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
                for statement in statements:
                    conn.execute(statement)
            return
        engine = self.engine()
        async with engine.begin() as conn:
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            for statement in statements:
                await conn.execute(text(statement))
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Db:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"
    else:
        url = fresh_database(request.getfixturevalue("pg_url"), f"audit_{uuid.uuid4().hex[:12]}")
    upgrade(url)
    return Db(url, tmp_path / "data")


@pytest.fixture
async def sessions(db: Db) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.engine()
    yield session_factory(engine)
    await engine.dispose()
