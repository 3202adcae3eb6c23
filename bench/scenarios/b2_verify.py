"""B2: the public verification page ``GET /V/<token>`` of a certificate the BFF issued (token signature, the
certificate's revocation status in PostgreSQL, the page), against B0."""

from __future__ import annotations

import httpx

from bench.context import Context
from bench.report import LOAD_NOTE, Row, Section, f, load_line, load_table_head, pct
from bench.system import cpus_allowed

VALID = "证明真实有效"  # what the page says of a valid certificate
TARGET_SHARE = 0.30


def check_page(url: str) -> int:
    page = httpx.get(url, timeout=10)
    if page.status_code != 200 or VALID not in page.text:
        raise RuntimeError(f"the verification page did not verify the certificate: {page.status_code} "
                           f"{page.text[:300]}")
    return len(page.content)


def run(ctx: Context) -> Section:
    url = f"{ctx.stack.portal}{ctx.verify_path}"
    size = check_page(url)
    load, window = ctx.measure_get(url, [ctx.bff_pid])
    ctx.verify_rps = load.rps
    ctx.verify_run = (load, window)
    share = load.rps / ctx.hello_rps
    section = Section("B2", "B2. Public verification `GET /V/<token>`")
    section.rows.append(Row("B2", f"verification page req/s vs B0 ({load.connections} connections)",
                            f"{f(load.rps)} req/s = {pct(share)} of B0 (p95 {f(load.p95_ms)} ms)",
                            f"≥ {pct(TARGET_SHARE)}", share >= TARGET_SHARE and load.bad == 0))
    section.body += [
        f"The QR link of a certificate the BFF issued during the seeding (upper-case `/V/`, as printed); the page "
        f"({size:,} bytes) is checked for 「{VALID}」 first. BFF pinned to CPU {cpus_allowed(ctx.bff_pid)}, wrk on "
        f"CPU {ctx.load_cpu}.", "",
        *load_table_head(), load_line("`GET /V/<token>`", load, window), "", LOAD_NOTE,
    ]
    return section
