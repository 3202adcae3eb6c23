"""B5: the mixed soak (70 % 「我的申请」, 20 % verification pages, 8 % certificate downloads, 2 % uploads of a 2 MB
scan; ``bench/lua/mixed.lua``) against the BFF with 2 uvicorn workers: the highest load with p99 ≤ 500 ms and no
errors (a short step through connection counts), then the soak at that load with the memory at start and end;
instances for the national peak; and one instance against two on the same PostgreSQL and Redis."""

from __future__ import annotations

import math
import threading
import time

from bench.context import Context
from bench.loadgen import LoadResult, run_wrk
from bench.production import new_document, wait_healthy
from bench.report import LOAD_NOTE, Row, Section, f, load_line, load_table_head, pct
from bench.scans import jpeg_scan
from bench.system import Window, affinity, observe, pin, rss_mb

TARGET_P99_MS = 500.0
NATIONAL_PEAK = 1300.0


def mix_env(ctx: Context, scan_path: str, documents: list[tuple[str, str]]) -> dict[str, str]:
    assert ctx.b1 is not None
    downloads = [f"{path}" for path in ctx.b1.certificates.values()]
    return {"BENCH_LIST_PATH": "/api/applications", "BENCH_VERIFY_PATH": ctx.verify_path,
            "BENCH_COOKIE": ctx.b1.cookie, "BENCH_CERT_PATHS": "|".join(downloads),
            "BENCH_UPLOADS": "|".join(f"{cookie}>{doc}" for cookie, doc in documents),
            "BENCH_UPLOAD_FILE": scan_path, "BENCH_ORIGIN": ctx.stack.portal}


def good(load: LoadResult) -> bool:
    return load.bad == 0 and load.p99_ms <= TARGET_P99_MS and load.requests > 0


def mixed(base: str, connections: int, seconds: float, env: dict[str, str]) -> LoadResult:
    result = run_wrk(base + "/", connections, seconds, script="mixed.lua", env=env)
    if result is None:
        raise RuntimeError("B5 needs wrk (apt-get install wrk)")
    return result


def both(runs: list[tuple[str, int]], seconds: float, env: dict[str, str]) -> list[LoadResult]:
    """Several wrk processes at once (one per instance)."""
    results: list[LoadResult | None] = [None] * len(runs)

    def one(i: int, base: str, conns: int) -> None:
        results[i] = mixed(base, conns, seconds, env)  # Origin: the public URL, the same for both

    threads = [threading.Thread(target=one, args=(i, b, c)) for i, (b, c) in enumerate(runs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [r for r in results if r is not None]


def run(ctx: Context) -> Section:
    args = ctx.args
    section = Section("B5", "B5. Mixed soak, 2 workers; instances for the national peak; two instances")
    with open(ctx.logs / "scan-2mb.jpg", "wb") as out:
        out.write(jpeg_scan(2_000_000))
    documents = [(p.cookie, new_document(ctx.stack, p)) for p in ctx.uploaders for _ in range(4)]
    env = mix_env(ctx, str(ctx.logs / "scan-2mb.jpg"), documents)

    # 1. two workers, floating over both cores (as deployed), the generator floating too
    pid = ctx.production.restart_bff(None, BFF_WORKERS="2")
    wait_healthy(ctx.stack.portal)
    base = ctx.stack.portal
    mixed(base, 8, args.warmup, env)
    steps: list[tuple[LoadResult, Window]] = []
    for conns in args.soak_steps:
        with observe([pid]) as window:
            load = mixed(base, conns, args.step_duration, env)
        steps.append((load, window))
    passing = [s for s in steps if good(s[0])]
    chosen = max(passing, key=lambda s: s[0].rps) if passing else min(steps, key=lambda s: s[0].p99_ms)
    conns = chosen[0].connections
    rss: list[tuple[float, float]] = []
    started = time.monotonic()
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            rss.append((time.monotonic() - started, rss_mb(pid)))
            stop.wait(args.rss_every)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with observe([pid]) as soak_window:
        soak = mixed(base, conns, args.soak, env)
    stop.set()
    sampler.join()
    rss.append((time.monotonic() - started, rss_mb(pid)))
    instances = math.ceil(NATIONAL_PEAK / soak.rps) if soak.rps > 0 else None

    # 2. one instance (one worker) on CPU 0 against two (CPU 0 and CPU 1), same PostgreSQL and Redis
    one_pid = ctx.production.restart_bff({ctx.server_cpu})
    wait_healthy(base)
    mixed(base, 8, args.warmup, env)
    with observe([one_pid]) as one_window:
        one = both([(base, args.scale_connections)], args.scale_duration, env)[0]
    second = ctx.stack.start_second_bff("bff2", BFF_WORKERS="1", RELAY_ENABLED="1", LOG_LEVEL="WARNING",
                                        RATE_LIMITS_ENABLED="0")
    two_pid = ctx.stack.procs["bff2"].pid
    pin(two_pid, {ctx.load_cpu})
    wait_healthy(second)
    both([(base, 8), (second, 8)], args.warmup, env)
    with observe([one_pid]) as first_window, observe([two_pid]) as second_window, \
            observe([one_pid, two_pid]) as two_window, affinity(None):
        pair = both([(base, args.scale_connections), (second, args.scale_connections)], args.scale_duration, env)
    ctx.stack.stop("bff2")
    two_rps = sum(r.rps for r in pair)
    two_requests = sum(r.requests for r in pair)
    per_cpu_one = one.requests / one_window.server_cpu_s if one_window.server_cpu_s else float("nan")
    per_cpu_two = two_requests / two_window.server_cpu_s if two_window.server_cpu_s else float("nan")

    start_mb, end_mb = rss[0][1], rss[-1][1]
    section.rows += [
        Row("B5", f"sustained mix, 2 workers ({conns} connections, {args.soak:g} s)",
            f"{f(soak.rps)} req/s, p99 {f(soak.p99_ms)} ms, {soak.bad} errors",
            f"p99 ≤ {TARGET_P99_MS:g} ms, 0 errors", good(soak)),
        Row("B5", "memory at soak start → end (master + 2 workers)",
            f"{f(start_mb)} → {f(end_mb)} MB ({'+' if end_mb >= start_mb else ''}{f(end_mb - start_mb)} MB)",
            "flat", end_mb - start_mb <= max(0.1 * start_mb, 30)),
        Row("B5", f"instances for the national peak of {NATIONAL_PEAK:,.0f} req/s",
            f"{instances if instances is not None else '?'} (at {f(soak.rps)} req/s each, 2 cores each"
            + ("" if good(soak) else f"; that load's p99 was {f(soak.p99_ms)} ms") + ")"),
        Row("B5", "two instances vs one (1 worker each)",
            f"{f(two_rps)} vs {f(one.rps)} req/s = {f(two_rps / one.rps, 2)}×; per server CPU-s "
            f"{f(per_cpu_two)} vs {f(per_cpu_one)} = {f(per_cpu_two / per_cpu_one, 2)}×", "close to 2×"),
    ]
    trend = ", ".join(f"{t:.0f} s {m:.0f}" for t, m in rss[:: max(1, len(rss) // 12)])
    mix_line = ", ".join(f"{k} {v:,}" for k, v in sorted(soak.mix.items()))
    section.body += [
        "The mix per request: 70 % `GET /api/applications` (the B1 person, 20 applications), 20 % `GET /V/<token>`, "
        "8 % `GET /api/applications/{id}/certificate` (that person's certificates, each download audited), 2 % "
        f"`PUT` of a 2 MB JPEG scan to one of {len(documents)} documents of {len(ctx.uploaders)} persons; each "
        "uploaded file is deleted by a later request (on top of the mix, so the per-person draft quota never "
        f"fills). wrk, one thread. Requests by kind in the soak: {mix_line}.", "",
        "**Step** (to find the load to soak at): the BFF with `BFF_WORKERS=2` (uvicorn master + 2 workers, each "
        "with its relay and poller), not pinned, as deployed on a 2-core machine; wrk, PostgreSQL, Redis and the "
        f"sandboxes float on the same two cores. {args.step_duration:g} s per step; the soak takes the highest "
        f"req/s with p99 ≤ {TARGET_P99_MS:g} ms and no errors.", "",
        *load_table_head(),
        *[load_line(f"step, {s[0].connections} connections", *s) for s in steps],
        load_line(f"**soak**, {conns} connections, {args.soak:g} s", soak, soak_window), "",
        f"Memory (VmRSS of master + workers, MB) through the soak: {trend}; end {end_mb:.0f}. "
        f"Statuses in the soak: {soak.statuses}.", "",
        f"**National peak**: {NATIONAL_PEAK:,.0f} req/s / {f(soak.rps)} req/s per instance (2 workers on 2 cores, "
        "the load generator and the databases sharing them) = "
        f"{instances if instances is not None else '?'} instances. This is pessimistic: here one machine also runs "
        "wrk, PostgreSQL, Redis and the sandboxes.", "",
        "**One instance vs two** (same PostgreSQL and Redis; one uvicorn worker each, with relay and poller): "
        f"one instance pinned to CPU {ctx.server_cpu} with wrk ({args.scale_connections} connections) pinned to "
        f"CPU {ctx.load_cpu}; then a second instance (`Stack.start_second_bff`) pinned to CPU {ctx.load_cpu} and "
        f"two wrk processes ({args.scale_connections} connections each, one per instance) floating. "
        f"{args.scale_duration:g} s each. With two cores the second instance shares its core with both load "
        "generators, PostgreSQL and Redis, so the req/s ratio understates scaling; requests per server "
        "CPU-second shows whether an instance does the same work per request when another shares the database "
        "and the store.", "",
        *load_table_head(),
        load_line("one instance (CPU 0)", one, one_window),
        *[load_line(f"two instances: instance {i + 1}", r, w)
          for i, (r, w) in enumerate(zip(pair, (first_window, second_window), strict=True))],
        f"| two instances: total | wrk ×2 | {2 * args.scale_connections} | {two_requests:,} | {f(two_rps)} | | | | "
        f"{sum(r.bad for r in pair)} | {f(per_cpu_two)} | {pct(two_window.server_share())} | "
        f"{pct(two_window.busy(0))} | {pct(two_window.busy(1))} |", "",
        LOAD_NOTE + " In the total line the server CPU is of both instances together.",
    ]
    ctx.bff_default = False  # the next benchmark restarts it as the others expect
    return section
