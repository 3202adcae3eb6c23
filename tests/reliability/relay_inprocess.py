"""A relay in the test's own process, on the same database and sandbox as a stack whose BFF forwards nothing
(``RELAY_ENABLED=0``), so a drill can move the relay's clock: hours of outage pass in seconds."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import pytest

from bff.app import create_app
from bff.provincial.relay import Relay
from bff.settings import Settings
from tests.support.stack import Stack

# Production's backoff (2 s doubling to 5 min, with jitter) and retry window (72 h), not the stack's fast ones.
PRODUCTION_RETRY = {"RELAY_RETRY_BASE_SECONDS": "2", "RELAY_RETRY_CAP_SECONDS": "300",
                    "RELAY_RETRY_WINDOW_SECONDS": str(72 * 3600), "RELAY_CONCURRENCY": "8", "RELAY_BATCH": "50",
                    "RELAY_ENABLED": "1"}


@contextlib.asynccontextmanager
async def relay_for(stack: Stack, changes: list[tuple[str, str, str]]) -> AsyncIterator[Relay]:
    handlers = logging.getLogger().handlers[:]
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {**stack.env(), **PRODUCTION_RETRY}.items():
            mp.setenv(key, value)
        settings = Settings.from_env()
        app = create_app(settings)
    logging.getLogger().handlers[:] = handlers  # keep pytest's capture (create_app installs the JSON handler)
    state = app.state
    relay = Relay(state.db_sessions, state.provincial, settings.provincial, state.issuer, state.files,
                  lambda *change: changes.append(change))
    try:
        yield relay
    finally:
        await state.http.aclose()
        await state.engine.dispose()
