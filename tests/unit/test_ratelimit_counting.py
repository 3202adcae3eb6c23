"""Counting rate limits in Redis cheaply: hits waiting for a round trip go together, and a key hit fast takes numbers
of its window ahead. Neither lets more than the limit through, and a person's pace counts exactly as before."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from bff.lib.ratelimit import RateLimiter


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[str]:
    url = redis_url.rsplit("/", 1)[0] + "/6"
    yield url
    client = Redis.from_url(url)
    await client.flushdb()
    await client.aclose()


async def stored(url: str, key: str) -> int:
    client = Redis.from_url(url)
    try:
        return int(await client.get(f"portal:rl:{key}") or 0)
    finally:
        await client.aclose()


async def test_hits_at_once_are_numbered_exactly_as_one_by_one(redis: str) -> None:
    limiter = RateLimiter.connect(redis)
    try:
        key = secrets.token_hex(4)
        decisions = await asyncio.gather(*(limiter.hit(key, 25, 600) for _ in range(40)))
        assert sum(d.allowed for d in decisions) == 25
        assert all(0 < d.retry_after <= 600 for d in decisions)
        assert await stored(redis, key) == 40  # nothing taken ahead on a first burst
    finally:
        await limiter.aclose()


async def test_a_fast_client_takes_numbers_ahead_yet_gets_exactly_the_limit(redis: str) -> None:
    limiter = RateLimiter.connect(redis)
    try:
        assert limiter.redis is not None
        trips = 0
        pipeline = limiter.redis.pipeline

        def counted(*args: Any, **kwargs: Any) -> Any:
            nonlocal trips
            trips += 1
            return pipeline(*args, **kwargs)

        limiter.redis.pipeline = counted  # type: ignore[method-assign]
        key = secrets.token_hex(4)
        answers = [(await limiter.hit(key, 300, 600)).allowed for _ in range(400)]
        assert answers == [True] * 300 + [False] * 100
        assert trips < 40  # most hits were counted here, from numbers taken ahead (30 at a time at most)
        assert await stored(redis, key) <= 400 + 30  # the unused ones of the last take
    finally:
        await limiter.aclose()


async def test_several_instances_never_let_more_than_the_limit_through(redis: str) -> None:
    instances = [RateLimiter.connect(redis) for _ in range(3)]
    try:
        key = secrets.token_hex(4)

        async def client(limiter: RateLimiter) -> int:
            return sum([(await limiter.hit(key, 500, 600)).allowed for _ in range(400)])

        allowed = await asyncio.gather(*(client(instances[i % 3]) for i in range(6)))
        assert sum(allowed) <= 500
        assert sum(allowed) >= 500 - 3 * 50  # at most a tenth of the limit held ahead per instance
    finally:
        for limiter in instances:
            await limiter.aclose()


async def test_a_person_at_a_persons_pace_and_small_limits_count_every_hit_in_redis(redis: str) -> None:
    limiter = RateLimiter.connect(redis)
    limiter.HOT_SECONDS = 0.0  # every hit comes "a while" after the last one
    try:
        key = secrets.token_hex(4)
        assert [(await limiter.hit(key, 300, 600)).allowed for _ in range(5)] == [True] * 5
        assert await stored(redis, key) == 5
    finally:
        await limiter.aclose()
    limiter = RateLimiter.connect(redis)
    try:
        key = secrets.token_hex(4)
        assert [(await limiter.hit(key, 5, 600)).allowed for _ in range(8)] == [True] * 5 + [False] * 3
        assert await stored(redis, key) == 8  # a limit under 10 takes nothing ahead
    finally:
        await limiter.aclose()
