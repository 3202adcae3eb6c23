"""Fixtures for every test folder: real PostgreSQL and Redis servers, started once per run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.servers import postgresql_server, redis_server


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with postgresql_server() as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url
