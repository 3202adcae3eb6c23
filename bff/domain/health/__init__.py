"""``/healthz``: the database, the store and the provincial system; "degraded" (200) when one is down."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from litestar import Controller, Request, get
from sqlalchemy import text

from auth.guards import PUBLIC

CHECK_TIMEOUT = 3.0


class Health(msgspec.Struct):
    status: str
    checks: dict[str, str]


async def _check(coro: Any) -> str:
    """Any failure, whatever its kind, means "down": health must never itself fail."""
    try:
        await asyncio.wait_for(coro, CHECK_TIMEOUT)
    except Exception:
        return "down"
    return "ok"


class HealthController(Controller):
    path = "/healthz"
    tags = ["health"]
    opt = PUBLIC

    @get("/", operation_id="health", summary="Liveness and dependencies", cache=False)
    async def health(self, request: Request[Any, Any, Any]) -> Health:
        state = request.app.state

        async def database() -> None:
            async with state.db_sessions() as db:
                await db.execute(text("SELECT 1"))

        async def store() -> None:
            await state.store.set("healthz", b"1", expires_in=10)
            if await state.store.get("healthz") != b"1":
                raise ConnectionError("store")

        async def provincial() -> None:
            await state.provincial.status_changes(2**62, 1)

        names = ("database", "store", "provincial")
        results = await asyncio.gather(_check(database()), _check(store()), _check(provincial()))
        checks = dict(zip(names, results, strict=True))
        return Health(status="ok" if all(v == "ok" for v in results) else "degraded", checks=checks)
