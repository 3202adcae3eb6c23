"""B6: forwarding. A backlog of applications owed to the provincial system is written as a submit writes it
(``applications.services.submit`` in this process, on the BFF's database: the application, its first event,
the outbox row and the audit row in one transaction) while the BFF's relay is off; then the BFF starts with its
relay on (production settings) and forwards them to the sandbox provincial system. Reported: applications/s and
the time until ``outbox.stats()`` shows nothing pending."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

from bench.context import Context
from bench.production import say, wait_healthy
from bench.report import Row, Section, f
from bench.system import cpus_allowed, observe

# persons whose archive needs no unit letter, so a certificate application goes straight to the outbox
PERSONS = ("zhangwei", "wangfang", "zhaolei", "sunhao", "wujing")


@contextlib.contextmanager
def app_state(env: dict[str, str]) -> Iterator[Any]:
    """The BFF's parts (``create_app``) built in this process with the stack's environment."""
    from bff.app import create_app
    from bff.settings import Settings

    saved, handlers = dict(os.environ), logging.getLogger().handlers[:]
    level = logging.getLogger().level
    os.environ.update(env)
    try:
        app = create_app(Settings.from_env())
    finally:
        os.environ.clear()
        os.environ.update(saved)
        logging.getLogger().handlers[:] = handlers
        logging.getLogger().setLevel(level)
    yield app.state


async def _seed(state: Any, count: int) -> float:
    """One real ``services.submit`` per person (audit row and all), then the rest of the backlog as copies of
    those rows (the application with its own id, reference number and idempotency key, its ``submitted`` event,
    its outbox row), 500 per transaction: the same rows the relay finds after ``count`` submits, less their audit
    rows, in seconds instead of minutes."""
    from auth.sessions import Principal
    from bff.db.models import Application, OutboxMessage, StatusEvent
    from bff.domain.applications import services
    from bff.domain.applications.schemas import ApplicationCreate
    from bff.lib.clock import utcnow
    from sandbox.seed import PERSONS as SEEDED

    people = [p for p in SEEDED if p.username in PERSONS]
    principals = [Principal(sub=p.sub, role="person", name=p.name, id_type=p.id_type, id_number=p.id_number,
                            phone=p.phone) for p in people]
    body = services.validate(ApplicationCreate(kind="archive_certificate", phone="13800138000", purpose="办理落户"))
    began = time.perf_counter()
    templates = []
    for principal in principals:
        archive = await state.provincial.lookup_archive(principal.id_type, principal.id_number)
        async with state.db_sessions() as db:
            done = await services.submit(db, state.files, principal, uuid.uuid4().hex, body, archive)
            if not done.created or done.application.status != "submitted":
                raise RuntimeError(f"seeding made {done.application.status}, created={done.created}")
            templates.append(done.application)
    copies = count - len(templates)
    for batch in range(0, copies, 500):
        async with state.db_sessions() as db:
            for i in range(batch, min(batch + 500, copies)):
                t = templates[i % len(templates)]
                now = utcnow()
                app = Application(
                    id=uuid.uuid4(), reference_no=services.reference_no(), owner_sub=t.owner_sub,
                    idempotency_key=uuid.uuid4().hex, request_hash=t.request_hash, kind=t.kind, status="submitted",
                    holder_key=t.holder_key, initiated_by=t.initiated_by, agency_code=t.agency_code,
                    agency_name=t.agency_name, archive_no=t.archive_no, details=t.details, created_at=now,
                    updated_at=now)
                db.add(app)
                db.add(StatusEvent(application_id=app.id, status="submitted", note=None, source="portal",
                                   occurred_at=now))
                db.add(OutboxMessage(application_id=app.id, kind="submit", attempts=0, next_attempt_at=now,
                                     created_at=now))
            await db.commit()
    return time.perf_counter() - began


async def _stats(state: Any) -> dict[str, int]:
    from bff.lib.clock import utcnow
    from bff.provincial import outbox

    async with state.db_sessions() as db:
        return await outbox.stats(db, utcnow())


def run(ctx: Context) -> Section:
    args = ctx.args
    stack = ctx.stack
    ctx.production.restart_bff({ctx.server_cpu}, RELAY_ENABLED="0")
    with app_state(stack.env()) as state:
        loop = asyncio.new_event_loop()
        try:
            before = loop.run_until_complete(_stats(state))
            if before["pending"]:
                raise RuntimeError(f"the outbox was not empty before B6: {before}")
            say(f"  B6: writing {args.backlog:,} applications…")
            seed_s = loop.run_until_complete(_seed(state, args.backlog))
            written = loop.run_until_complete(_stats(state))
            stack.reset_load()
            pid = ctx.production.restart_bff({ctx.server_cpu})  # relay on, production settings
            began = time.monotonic()
            wait_healthy(stack.portal)
            samples: list[tuple[float, int]] = []
            with observe([pid]) as window:
                while True:
                    stats = loop.run_until_complete(_stats(state))
                    samples.append((time.monotonic() - began, stats["pending"]))
                    if stats["pending"] == 0 or time.monotonic() - began > args.backlog_timeout:
                        break
                    time.sleep(0.5)
            drained_s = samples[-1][0]
            after = loop.run_until_complete(_stats(state))
            loop.run_until_complete(state.http.aclose())
            loop.run_until_complete(state.engine.dispose())
        finally:
            loop.close()
    ctx.bff_pid, ctx.bff_default = pid, True
    sandbox_load = stack.load()
    forwarded = written["pending"] - after["pending"] - after["dead_letters"]
    rate = forwarded / drained_s if drained_s else float("nan")
    steady = [s for s in samples if 0 < s[1] < written["pending"]]
    steady_rate = ((steady[0][1] - steady[-1][1]) / (steady[-1][0] - steady[0][0])
                   if len(steady) > 1 and steady[-1][0] > steady[0][0] else float("nan"))
    section = Section("B6", "B6. Forwarding a backlog")
    section.rows.append(Row("B6", f"relay drains {written['pending']:,} applications to the sandbox",
                            f"{f(rate)} applications/s; empty after {f(drained_s)} s "
                            f"({after['dead_letters']} dead letters, {after['pending']} left)"))
    trend = ", ".join(f"{t:.0f} s {n:,}" for t, n in samples[:: max(1, len(samples) // 10)])
    section.body += [
        f"{written['pending']:,} certificate applications of {len(PERSONS)} seeded persons: one "
        "`applications.services.submit` per person (as `POST /api/applications` writes it: application, "
        "`submitted` event, outbox row, audit row, one transaction), the rest copies of those rows with their own "
        "ids, reference numbers and keys, 500 per transaction, without audit rows (which the relay does not "
        f"read); {f(seed_s)} s, while the BFF's relay was off (`RELAY_ENABLED=0`). Then "
        f"the BFF restarted with the relay on and production's settings (`RELAY_BATCH=50`, `RELAY_CONCURRENCY=8`, "
        f"`RELAY_INTERVAL=1`), one worker pinned to CPU {cpus_allowed(pid)}; the sandbox provincial system, "
        f"PostgreSQL and Redis on CPU {ctx.load_cpu}. Timed from the restart until `outbox.stats()` showed nothing "
        f"pending (polled every 0.5 s). Forwarded {forwarded:,} in {f(drained_s)} s = **{f(rate)} "
        f"applications/s** (steady part: {f(steady_rate)}/s); the BFF used {f(window.server_cpu_s)} CPU-s "
        f"({f(1000 * window.server_cpu_s / max(forwarded, 1), 2)} ms per application). Sandbox load meter: "
        f"{sandbox_load}. Pending over time: {trend}.",
    ]
    return section
