"""B1: 「我的申请」 (``GET /api/applications``) for a person with 20 applications and their timelines: the session
check (Redis) and the list query (PostgreSQL), 64 connections, against B0."""

from __future__ import annotations

import httpx

from bench.context import Context
from bench.report import LOAD_NOTE, Row, Section, f, load_line, load_table_head, pct
from bench.system import cpus_allowed

TARGET_SHARE = 0.30
TARGET_P95_MS = 50.0


def run(ctx: Context) -> Section:
    assert ctx.b1 is not None
    url = f"{ctx.stack.portal}/api/applications"
    answer = httpx.get(url, headers={"Cookie": ctx.b1.cookie}, timeout=10)
    items = answer.json().get("items", []) if answer.status_code == 200 else []
    if len(items) != len(ctx.b1.applications):
        raise RuntimeError(f"「我的申请」 answered {answer.status_code} with {len(items)} items: {answer.text[:300]}")
    load, window = ctx.measure_get(url, [ctx.bff_pid], cookie=ctx.b1.cookie)
    share = load.rps / ctx.hello_rps
    statuses = sorted({i["status"] for i in items})
    section = Section("B1", "B1. 「我的申请」 with timelines (session check + PostgreSQL)")
    section.rows += [
        Row("B1", f"「我的申请」 req/s vs B0 ({len(items)} applications, {load.connections} connections)",
            f"{f(load.rps)} req/s = {pct(share)} of B0", f"≥ {pct(TARGET_SHARE)}", share >= TARGET_SHARE),
        Row("B1", "「我的申请」 p95 latency", f"{f(load.p95_ms)} ms", f"≤ {TARGET_P95_MS:g} ms",
            load.p95_ms <= TARGET_P95_MS and load.bad == 0),
    ]
    section.body += [
        f"The person ({ctx.b1.username}) has {len(items)} applications made through the API (sign in → `POST "
        f"/api/applications`), forwarded by the relay; the sandbox clerk accepted "
        f"{sum(1 for i in items if i['status'] != 'submitted')} and completed {len(ctx.b1.certificates)} of them "
        f"(the poller brought each step back, the relay issued the certificates), so the timelines hold 2–5 "
        f"events each (statuses now: {', '.join(statuses)}). Answer: {len(answer.content):,} bytes. "
        f"The BFF: one uvicorn worker pinned to CPU {cpus_allowed(ctx.bff_pid)}; wrk with the session cookie "
        f"(`bench/lua/get.lua`) on CPU {ctx.load_cpu}, where PostgreSQL, Redis and the sandboxes also run.", "",
        *load_table_head(), load_line("`GET /api/applications`", load, window), "", LOAD_NOTE,
    ]
    return section
