"""The production set-up the HTTP benchmarks run on: real PostgreSQL and Redis (Debian's servers, as the test
suites start them), the sandbox SSO and provincial system, and the BFF as ``python -m bff serve`` with Redis
sessions and Redis rate limits, **rate limits turned off** (``RATE_LIMITS_ENABLED=0``: a load generator is one
client address making thousands of requests a second).

Data is seeded through the real API (sign in at the sandbox SSO, ``POST /api/applications``, the sandbox clerk
accepts and completes, the BFF's poller and relay bring the steps back and issue certificates), so every row is
exactly what production would hold.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from bench.system import affinity, pin
from tests.support.flows import detail, signed_in, submit
from tests.support.portal_client import Browser, same_origin
from tests.support.servers import PostgresServer, RedisServer
from tests.support.stack import Stack, wait_until

SESSION_COOKIE = "__Host-portal_session"
# Production's loop intervals (the Stack shortens them for the test suites).
PRODUCTION_LOOPS = {"POLL_INTERVAL": "2", "RELAY_INTERVAL": "1", "RELAY_RETRY_BASE_SECONDS": "2",
                    "RELAY_RETRY_CAP_SECONDS": "300"}
LOAD_ENV = {"RATE_LIMITS_ENABLED": "0", "LOG_LEVEL": "WARNING"}


_STARTED = time.monotonic()


def say(text: str) -> None:
    print(f"[{time.monotonic() - _STARTED:6.1f} s] {text}", file=sys.stderr, flush=True)


@dataclass
class Person:
    """A signed-in person of the sandbox and what the seeding gave them."""

    username: str
    browser: Browser
    applications: list[str] = field(default_factory=list)
    certificates: dict[str, str] = field(default_factory=dict)  # application id -> download path

    @property
    def cookie(self) -> str:
        return f"{SESSION_COOKIE}={self.browser.session_cookie()}"


class Production:
    """PostgreSQL + Redis + the stack; ``bff_cpus`` pins the BFF, everything else runs on ``other_cpus``."""

    def __init__(self, bff_cpus: set[int], other_cpus: set[int]) -> None:
        self.bff_cpus, self.other_cpus = bff_cpus, other_cpus
        self.postgres = PostgresServer()
        self.redis = RedisServer()
        self.stack: Stack | None = None

    def start(self) -> Stack:
        with affinity(self.other_cpus):
            self.postgres.start()
            self.postgres.create_database()
            self.redis.start()
            self.stack = Stack(database_url=self.postgres.url, redis_url=self.redis.url, extra_env=dict(LOAD_ENV))
            self.stack.start()  # the BFF with the test suites' short loop intervals, for the seeding
        return self.stack

    def close(self) -> None:
        if self.stack is not None:
            self.stack.close()
            if os.environ.get("BENCH_KEEP_LOGS"):
                say(f"logs kept in {self.stack.base}")
            else:
                shutil.rmtree(self.stack.base, ignore_errors=True)
        self.redis.close()
        self.postgres.close()

    def restart_bff(self, cpus: set[int] | None, **env: str) -> int:
        """The BFF again with production's loop intervals (and ``env``), pinned to ``cpus`` (None: floating);
        returns its pid."""
        assert self.stack is not None
        self.stack.stop("bff")
        self.stack.extra_env.update({**LOAD_ENV, **PRODUCTION_LOOPS, "BFF_WORKERS": "1", "RELAY_ENABLED": "1", **env})
        with affinity(cpus):
            self.stack.start_bff()
        pid = self.stack.procs["bff"].pid
        if cpus is not None:
            pin(pid, cpus)
        return pid


def sign_in(stack: Stack, username: str) -> Person:
    return Person(username=username, browser=signed_in(stack, username))


def seed_applications(stack: Stack, person: Person, count: int, accept: int, complete: int) -> None:
    """``count`` certificate applications through the API; the clerk accepts the first ``accept`` and completes
    the first ``complete`` of those; waits until the BFF has their steps and certificates."""
    for _ in range(count):
        created = submit(stack, person.browser)
        if created.status_code != 201:
            raise RuntimeError(f"could not apply: {created.status_code} {created.text[:300]}")
        person.applications.append(created.json()["id"])
    for app_id in person.applications:
        wait_until(lambda a=app_id: stack.sandbox_application(a) is not None, timeout=120)
    for app_id in person.applications[:accept]:
        stack.clerk(app_id, "accept")
    for app_id in person.applications[:complete]:
        stack.clerk(app_id, "complete")
    for app_id in person.applications[:complete]:
        shown = wait_until(lambda a=app_id: (d := detail(stack, person.browser, a))["certificate"] is not None and d,
                           timeout=180)
        person.certificates[app_id] = shown["certificate"]["download_url"]
    for app_id in person.applications[complete:accept]:
        wait_until(lambda a=app_id: detail(stack, person.browser, a)["status"] == "accepted", timeout=120)


def certificate_pdf(stack: Stack, person: Person) -> bytes:
    path = next(iter(person.certificates.values()))
    download = person.browser.get(f"{stack.portal}{path}")
    if download.status_code != 200 or not download.content.startswith(b"%PDF"):
        raise RuntimeError(f"could not download the certificate: {download.status_code}")
    return bytes(download.content)


def verify_path(pdf: bytes) -> str:
    """The path of the certificate's QR link (``/V/<token>``, upper case as printed)."""
    from bff.domain.certificates.render import read_qr_url

    qr = read_qr_url(pdf)
    if not qr or "/V/" not in qr:
        raise RuntimeError(f"no verification URL in the certificate's QR link: {qr!r}")
    return "/V/" + qr.rsplit("/", 1)[1]


def new_document(stack: Stack, person: Person) -> str:
    answer = person.browser.post(f"{stack.portal}/api/documents", json={"material": "unit_letter"},
                                 headers=same_origin(stack.portal))
    if answer.status_code != 201:
        raise RuntimeError(f"could not start a document: {answer.status_code} {answer.text[:300]}")
    return str(answer.json()["id"])


def put_file(base: str, person: Person, document_id: str, data: bytes, name: str) -> Any:
    return person.browser.request("PUT", f"{base}/api/documents/{document_id}/files/{uuid.uuid4()}",
                                  params={"name": name}, content=data,
                                  headers={"Content-Type": "application/octet-stream", **same_origin(base)})


def wait_healthy(base: str, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{base} did not become healthy")
