"""Fixed-window rate limits, shared by every instance through Redis (or in-process without Redis).

``allow(key, limit, window)`` counts one attempt and says whether it is within the limit. With Redis the count is
one atomic INCR (plus EXPIRE on the first hit); if Redis cannot be reached the limiter fails closed (the attempt
is refused): the limits guard enumeration of certificates and access codes, which must not open up when the
store is down.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("bff.ratelimit")


@dataclass
class RateLimiter:
    redis: Redis | None = None
    prefix: str = "portal:rl:"
    _counts: dict[str, tuple[float, int]] = field(default_factory=dict)

    async def allow(self, key: str, limit: int, window_seconds: int) -> bool:
        bucket = f"{self.prefix}{key}:{int(time.time() // window_seconds)}"
        if self.redis is None:
            return self._allow_here(bucket, limit, window_seconds)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(bucket)
                pipe.expire(bucket, window_seconds, nx=True)
                count, _ = await pipe.execute()
        except (RedisError, OSError):
            log.warning("rate limit store unavailable; refusing (fail closed)")
            return False
        return int(count) <= limit

    def _allow_here(self, bucket: str, limit: int, window_seconds: int) -> bool:
        now = time.monotonic()
        if len(self._counts) > 100_000:
            self._counts = {k: v for k, v in self._counts.items() if v[0] > now}
        until, count = self._counts.get(bucket, (now + window_seconds, 0))
        self._counts[bucket] = (until, count + 1)
        return count + 1 <= limit
