"""The BFF as an in-process app (no relay or poller), for tests that need no other process."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar import Litestar

from bff.app import create_app
from bff.settings import Settings


def inprocess_app(base: Path, **env: str) -> Litestar:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATA_DIR", str(base))
        mp.setenv("RELAY_ENABLED", "0")
        for key, value in env.items():
            mp.setenv(key, value)
        return create_app(Settings.from_env())
