"""Fault drills: real processes, real PostgreSQL and Redis, the sandbox's fault switches. Each drill records its
figures (what was injected, what came out) in ``test-artifacts/reliability/figures.jsonl`` for docs/reliability.md."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bff.lib import clock
from tests.support.portal_client import Browser
from tests.support.servers import RedisServer, fresh_database
from tests.support.stack import REPO, Stack

FIGURES = REPO / "test-artifacts" / "reliability" / "figures.jsonl"
# The drills submit many applications as a few people from one address: the per-person limits are for real people.
DRILL_ENV = {"RATE_LIMITS_ENABLED": "0"}


def record_figures(drill: str, **figures: Any) -> None:
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"drill": drill, **figures}, ensure_ascii=False)
    with FIGURES.open("a") as out:
        out.write(line + "\n")
    print(line)


@pytest.fixture()
def own_redis() -> Iterator[RedisServer]:
    """A Redis of the drill's own (nothing cached by other tests), persistent so sessions survive a restart."""
    server = RedisServer(persistent=True)
    server.start()
    yield server
    server.close()


def drill_stack(request: pytest.FixtureRequest, pg_url: str, redis: RedisServer, **env: str) -> Stack:
    """A started stack on a database of the drill's own and ``redis``; closed when the test ends."""
    name = f"drill_{request.node.name[:40]}"
    stack = Stack(database_url=fresh_database(pg_url, name), redis_url=redis.url, extra_env={**DRILL_ENV, **env})
    request.addfinalizer(stack.close)
    return stack.start()


@pytest.fixture(autouse=True)
def _clock_back() -> Iterator[None]:
    yield
    clock.reset_shift()


class EventListener:
    """An open PWA's live-update stream (``/api/events``) on one instance, read in a thread."""

    def __init__(self, base: str, browser: Browser) -> None:
        self.events: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self.connected = threading.Event()
        self._stop = threading.Event()
        cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
        self._thread = threading.Thread(target=self._run, args=(base, cookie), daemon=True)
        self._thread.start()
        assert self.connected.wait(15), "the live-update stream did not open"

    def _run(self, base: str, cookie: str) -> None:
        with httpx.Client(timeout=httpx.Timeout(5, read=60)) as http, \
                http.stream("GET", f"{base}/api/events", headers={"Cookie": cookie}) as response:
            for line in response.iter_lines():
                if line.startswith(":"):
                    self.connected.set()
                elif line.startswith("data:"):
                    self.raw.append(line)
                    payload = line[5:].strip()
                    if payload:
                        self.events.append(json.loads(payload))
                if self._stop.is_set():
                    return

    def wait_for(self, application_id: str, status: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(e.get("id") == application_id and e.get("status") == status for e in self.events):
                return
            time.sleep(0.1)
        raise AssertionError(f"no live update {status} for {application_id}; got {self.raw}")

    def close(self) -> None:
        self._stop.set()


def sandbox_records(stack: Stack, ids: list[str]) -> dict[str, dict[str, Any] | None]:
    return {i: stack.sandbox_application(i) for i in ids}


def read_log(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""
