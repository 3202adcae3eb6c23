"""A backlog drains batch after batch without waiting ``RELAY_INTERVAL`` in between; once a pass works on less
than a full batch (the backlog is gone, or another instance holds the rest) the relay waits as before."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

from bff.provincial.relay import Relay
from bff.settings import ProvincialSettings


async def test_full_batches_go_on_at_once_then_the_relay_waits() -> None:
    settings = dataclasses.replace(ProvincialSettings.from_env(), relay_batch=50, relay_interval=30.0)
    relay = Relay(db_sessions=None, provincial=None, settings=settings, issuer=None, files=None,  # type: ignore[arg-type]
                  on_change=None)  # type: ignore[arg-type]
    passes: list[float] = []
    worked = iter([50, 50, 7, 50])

    async def drain_once(now: Any = None) -> int:
        passes.append(time.monotonic())
        return next(worked)

    relay.drain_once = drain_once  # type: ignore[method-assign]
    task = asyncio.create_task(relay.run(asyncio.Event()))
    await asyncio.sleep(0.5)
    task.cancel()
    assert len(passes) == 3  # two full batches, then a partial one, then the 30 s wait
    assert passes[2] - passes[0] < 0.5
