"""Redis pub/sub for live updates that survives a Redis outage.

Litestar's channels plugin runs one publishing task and one listening task per process; with the stock Redis
backend, the first failed call ends that task for good, so after an outage an instance neither sends nor
receives live updates again (and queues every publish in memory). Live updates are only a nudge — the PWA
refetches, the state is in the database — so here a publish that fails is dropped with a warning, and the
listener reconnects (redis-py subscribes again to the channels it had) with a short pause between tries.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Iterable
from typing import Any

from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from redis.exceptions import RedisError

log = logging.getLogger("bff.events")
RECONNECT_PAUSE = 1.0


class ResilientRedisPubSub(RedisChannelsPubSubBackend):
    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        try:
            await super().publish(data, channels)
        except (RedisError, OSError) as exc:
            log.warning("live update not published (store unavailable: %s)", type(exc).__name__)

    async def stream_events(self) -> AsyncGenerator[tuple[str, Any], None]:
        down = False
        while True:
            try:
                async for event in super().stream_events():
                    if down:
                        log.warning("live updates listening again")
                        down = False
                    yield event
            except (RedisError, OSError) as exc:
                if not down:
                    log.warning("live updates interrupted (store unavailable: %s); reconnecting",
                                type(exc).__name__)
                    down = True
                await asyncio.sleep(RECONNECT_PAUSE)
