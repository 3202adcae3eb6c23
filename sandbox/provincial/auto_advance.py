"""Demo mode: while switched on, every ``interval_seconds`` each open application moves one step along the
normal path (a transfer: 受理 → 出具调档函 → 转出 by courier → 已收到 → 入库办结; a certificate: 受理 → 办结).

Off by default; ``SANDBOX_AUTO_ADVANCE_SECONDS`` switches it on at start. The loop runs in the app's lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Final, TypeAlias

from litestar.di import NamedDependency
from litestar.params import SkipValidation

from sandbox.provincial.errors import ApiError
from sandbox.provincial.schemas import AutoAdvanceIn, AutoAdvanceState
from sandbox.provincial.service import advance_all
from sandbox.provincial.store import Store

log = logging.getLogger("sandbox.provincial")

MIN_INTERVAL: Final = 0.2
MAX_INTERVAL: Final = 3600.0
DEFAULT_INTERVAL: Final = 5.0


def check_interval(value: float) -> float:
    if not MIN_INTERVAL <= value <= MAX_INTERVAL:
        raise ApiError(
            422, "validation_error", f"间隔秒数应在 {MIN_INTERVAL:g} 到 {MAX_INTERVAL:g} 之间", "interval_seconds"
        )
    return float(value)


class AutoAdvance:
    """The switch and its loop; changing the switch restarts the wait."""

    def __init__(self, interval_seconds: float | None = None) -> None:
        self.enabled = interval_seconds is not None
        self.interval_seconds = check_interval(interval_seconds) if interval_seconds is not None else DEFAULT_INTERVAL
        self._changed = asyncio.Event()
        self.ticks = 0

    def snapshot(self) -> AutoAdvanceState:
        return AutoAdvanceState(enabled=self.enabled, interval_seconds=self.interval_seconds)

    def set(self, data: AutoAdvanceIn) -> None:
        interval = check_interval(data.interval_seconds) if data.interval_seconds is not None else None
        self.enabled = data.enabled
        if interval is not None:
            self.interval_seconds = interval
        self._changed.set()

    async def run(self, store: Store) -> None:
        """Until cancelled: wait one interval (or for the switch to change), then move everything one step."""
        while True:
            self._changed.clear()
            if not self.enabled:
                await self._changed.wait()
                continue
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=self.interval_seconds)
                continue  # switched: start the interval again with the new setting
            except TimeoutError:
                pass
            try:
                moved = await asyncio.to_thread(advance_all, store)
            except Exception:  # keep the demo running whatever one tick met
                log.exception("auto-advance tick failed")
                continue
            self.ticks += 1
            if moved:
                log.info("auto-advance moved %d application(s)", moved)


@contextlib.asynccontextmanager
async def running(switch: AutoAdvance, store: Store) -> AsyncIterator[None]:
    """The loop, for as long as the app is up."""
    task = asyncio.create_task(switch.run(store), name="auto-advance")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


AutoAdvanceDep: TypeAlias = NamedDependency[SkipValidation[AutoAdvance]]
