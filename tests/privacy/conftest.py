"""Fixtures for the privacy tests: the stack on a fresh PostgreSQL database with keys the test controls, and raw
SQL (what someone reading the database directly would see)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest

from bff.lib.crypto import new_key_spec
from tests.support.servers import fresh_database
from tests.support.stack import REPO, Stack

K1 = new_key_spec("k1")


@pytest.fixture(scope="module")
def pg_stack(pg_url: str) -> Iterator[Stack]:
    """The whole stack on its own PostgreSQL database, personal data encrypted under ``k1``."""
    stack = Stack(database_url=fresh_database(pg_url, "privacy_" + uuid.uuid4().hex[:8]),
                  extra_env={"DATA_ENCRYPTION_KEYS": K1})
    stack.start()
    yield stack
    stack.close()


def sql(stack: Stack, query: str, *args: Any) -> list[asyncpg.Record]:
    assert stack.database_url is not None

    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(stack.database_url.replace("postgresql+asyncpg", "postgresql"))
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    return asyncio.run(run())


def bff_command(stack: Stack, *args: str, keys: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m bff <args>`` as an operator runs it, against the stack's database, with ``keys``."""
    env = {**stack.env(), "DATA_ENCRYPTION_KEYS": keys}
    return subprocess.run([sys.executable, "-m", "bff", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


def restart_bff(stack: Stack, keys: str) -> None:
    stack.extra_env["DATA_ENCRYPTION_KEYS"] = keys
    stack.stop("bff")
    stack.start_bff()
