"""One running stack for the security tests (PostgreSQL + Redis, as in production), and its signed-in actors
(fresh sessions per module: the access matrix ends its actors' sessions by signing out).

The access matrix, the mass-assignment checks and the fuzzing share it: starting the three processes is the
slow part. The fuzzing signs in people the matrix does not use, so what it creates cannot blur the matrix."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.flows import hr, signed_in
from tests.support.portal_client import Browser
from tests.support.servers import fresh_database
from tests.support.stack import Stack

# Every request here comes from 127.0.0.1. Stack raises the sign-in, submit and upload limits; the public pages'
# per-address limits are raised too, so that the matrix and the fuzzing give the same answers in either order (the
# limits themselves are tested in test_rate_limits.py). The per-certificate and per-share limits stay as they are.
PER_ADDRESS_PAGE_LIMITS = {f"RATE_LIMIT_{name}": "100000/60" for name in
                           ("PUBLIC_PAGE", "VERIFY_CODE", "VERIFY_PDF", "ID_CHECK_ADDRESS", "SHARE_OPEN_ADDRESS")}


@pytest.fixture(scope="session")
def sec_stack(pg_url: str, redis_url: str) -> Iterator[Stack]:
    database = fresh_database(pg_url, "security")
    redis = redis_url.rsplit("/", 1)[0] + "/7"  # its own Redis database: rate-limit windows of other stacks apart
    running = Stack(database_url=database, redis_url=redis, extra_env=PER_ADDRESS_PAGE_LIMITS)
    running.start()
    yield running
    running.close()


@pytest.fixture(scope="module")
def person_a(sec_stack: Stack) -> Browser:
    """张伟 (个人委托 in 北京): the owner of everything the matrix probes."""
    return signed_in(sec_stack, "zhangwei")


@pytest.fixture(scope="module")
def person_b(sec_stack: Stack) -> Browser:
    """王芳 (单纯存档 in 南京): another person, who must learn nothing of 张伟's."""
    return signed_in(sec_stack, "wangfang")


@pytest.fixture(scope="module")
def unit_x(sec_stack: Stack) -> Browser:
    """杭州云栖科技有限公司's HR: the unit 张伟 asks for letters and that starts a transfer for him."""
    return hr(sec_stack, "yunqi-hr")


@pytest.fixture(scope="module")
def unit_y(sec_stack: Stack) -> Browser:
    """南京金陵软件有限公司's HR: another unit, which must learn nothing of 云栖's."""
    return hr(sec_stack, "jinling-hr")
