"""``python -m bench`` (``make bench``): issue 6's benchmarks B0–B6 in one run, on the production set-up
(PostgreSQL, Redis sessions and rate limits, the sandbox SSO and provincial system), printed as Markdown: the
conditions, a summary table with one row per figure and its target, then a section per benchmark.
``--write-results`` also puts that output into bench/RESULTS.md below its marker line; ``--quick`` is a short
smoke run (figures not meaningful).

The BFF and the baselines run on CPU 0 and the load generator on CPU 1, where PostgreSQL, Redis and the sandboxes
also run (processes are started with that affinity, as ``taskset -c`` does); B5 lets everything float, as a
2-core deployment would. Everything started here is stopped, and its temporary directories removed, on the way
out (also on Ctrl-C and SIGTERM).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import shutil
import signal
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from bench.context import Context
from bench.production import Production, certificate_pdf, say, seed_applications, sign_in, verify_path
from bench.report import Row, Section, summary, write_results
from bench.scenarios import (
    b0_hello,
    b1_my_applications,
    b2_verify,
    b3_certificates,
    b4_uploads,
    b5_soak,
    b6_relay,
)
from bench.system import cpu_model, loadavg, tool_version, versions

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SCENARIOS: dict[str, Callable[[Context], Section]] = {
    "B0": b0_hello.run, "B1": b1_my_applications.run, "B2": b2_verify.run, "B3": b3_certificates.run,
    "B4": b4_uploads.run, "B5": b5_soak.run, "B6": b6_relay.run,
}
QUICK = {"connections": 16, "duration": 2, "warmup": 1, "certs": 10, "warmup_certs": 3, "upload_concurrency": 2,
         "upload_duration": 2, "soak": 6, "soak_steps": [16], "step_duration": 2, "rss_every": 2,
         "scale_duration": 2, "scale_connections": 8, "backlog": 100, "backlog_timeout": 120, "applications": 6,
         "completed": 1, "reissuable": 2}


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=(__doc__ or "").split("\n\n")[0])
    add = parser.add_argument
    add("--quick", action="store_true", help="a short smoke run (figures not meaningful)")
    add("--only", default=",".join(SCENARIOS), help="which benchmarks, e.g. B0,B1 (default: all)")
    add("--write-results", action="store_true", help="also write the output into bench/RESULTS.md below the marker")
    add("--connections", type=int, default=64, help="B0–B3 connections (default 64)")
    add("--duration", type=float, default=15, help="seconds per B0–B3 load run")
    add("--warmup", type=float, default=3, help="seconds of warm-up load before each")
    add("--certs", type=int, default=250, help="B3 certificates measured in-process")
    add("--warmup-certs", type=int, default=25)
    add("--upload-concurrency", type=int, default=4, help="B4 uploads in flight")
    add("--upload-duration", type=float, default=12, help="B4 seconds per file")
    add("--soak", type=float, default=600, help="B5 soak seconds (default 600)")
    add("--soak-steps", type=lambda v: [int(x) for x in v.split(",")], default=[4, 8, 16, 32],
        help="B5 connection counts tried before the soak")
    add("--step-duration", type=float, default=20)
    add("--rss-every", type=float, default=15, help="B5 seconds between memory samples")
    add("--scale-duration", type=float, default=20, help="B5 seconds for one vs two instances")
    add("--scale-connections", type=int, default=32)
    add("--backlog", type=int, default=10_000, help="B6 applications in the backlog")
    add("--backlog-timeout", type=float, default=1800)
    add("--applications", type=int, default=20, help="B1 person's applications")
    add("--completed", type=int, default=10, help="of which completed (certificates issued)")
    add("--reissuable", type=int, default=12, help="B3: applications with a certificate to reissue")
    args = parser.parse_args(argv)
    if args.quick:
        for name, value in QUICK.items():
            if parser.get_default(name) == getattr(args, name):
                setattr(args, name, value)
    args.only = [k.strip().upper() for k in args.only.split(",") if k.strip()]
    unknown = set(args.only) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown benchmarks: {', '.join(sorted(unknown))}")
    return args


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def conditions(args: argparse.Namespace, ctx: Context, started: str, load_before: str, load_after: str,
               took: float) -> list[str]:
    from tests.support.servers import _pg_bin

    return [
        "### Conditions", "",
        f"- date: {started}; took {took / 60:.1f} min; `python -m bench{' --quick' if args.quick else ''}`",
        f"- CPU: {cpu_model()}; {os.cpu_count()} CPUs online; kernel {platform.release()}",
        f"- Python {platform.python_version()}; {versions()}",
        f"- {tool_version(['wrk', '-v'])}; {tool_version([_pg_bin('postgres'), '--version'])}; "
        f"{tool_version(['redis-server', '--version'])}",
        f"- load average (1/5/15 min) before: {load_before}; after: {load_after}. **The machine is shared**: other "
        "sessions were running test suites and browsers on the same two CPUs, so wall-clock figures are "
        "pessimistic; the CPU-time figures (req per server CPU-s, CPU ms) are the steadier ones.",
        "- set-up: PostgreSQL (fsync off, as the test servers) and Redis on loopback; the BFF as `python -m bff "
        "serve` with `DATABASE_URL` = PostgreSQL, `REDIS_URL` = Redis (sessions, rate-limit counters, pub/sub), "
        "**`RATE_LIMITS_ENABLED=0`** (one load generator is one client address), production loop intervals "
        "(`POLL_INTERVAL=2`, `RELAY_INTERVAL=1`), `LOG_LEVEL=WARNING`, certificates PAdES B-T with the sandbox TSA.",
        f"- pinning: the BFF (one worker unless said) and the baselines on CPU {ctx.server_cpu}; wrk and the other "
        f"clients, PostgreSQL, Redis and the sandboxes on CPU {ctx.load_cpu}; B5 as stated there.",
        "",
    ]


def main(argv: list[str]) -> int:
    args = parse(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu = 0 if 0 in cpus else cpus[0]
    load_cpu = next((c for c in cpus if c != server_cpu), server_cpu)
    if load_cpu == server_cpu:
        say("warning: one CPU only; servers and load generators share it")
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load_before, began = loadavg(), time.monotonic()
    sections: list[Section] = []
    failed = False
    with contextlib.ExitStack() as cleanup:
        logs = Path(tempfile.mkdtemp(prefix="bench-logs-"))
        cleanup.callback(shutil.rmtree, logs, True)
        production = Production({server_cpu}, {load_cpu})
        cleanup.callback(production.close)
        ctx = Context(args=args, server_cpu=server_cpu, load_cpu=load_cpu, production=production, logs=logs)
        say("starting PostgreSQL, Redis, the sandbox SSO and provincial system, the BFF…")
        stack = production.start()
        say(f"seeding: {args.applications} applications through the API…")
        ctx.b1 = sign_in(stack, "zhangwei")
        seed_applications(stack, ctx.b1, args.applications, args.applications, args.completed)
        ctx.b3 = sign_in(stack, "zhaolei")
        seed_applications(stack, ctx.b3, args.reissuable, args.reissuable, args.reissuable)
        ctx.uploaders = [sign_in(stack, name) for name in ("sunhao", "wujing")]
        ctx.verify_path = verify_path(certificate_pdf(stack, ctx.b1))
        ctx.bff_pid = production.restart_bff({server_cpu})
        for key in args.only:
            say(f"{key}…")
            try:
                if key not in ("B5", "B6"):  # those two set up the BFF their own way
                    ctx.default_bff()
                sections.append(SCENARIOS[key](ctx))
            except Exception as exc:  # one benchmark failing must not lose the others' figures
                failed = True
                traceback.print_exc()
                sections.append(Section(key, f"{key} failed", [Row(key, "failed", f"error: {exc}"[:300], "", False)]))
    text = "\n".join([
        *conditions(args, ctx, started, load_before, loadavg(), time.monotonic() - began),
        "### Summary", "", *summary(sections), "",
        *[line for s in sections for line in (f"### {s.title}", "", *s.body, "")],
    ])
    print(text)
    if args.write_results:
        write_results(RESULTS, text)
        say(f"written to {RESULTS}")
    return 1 if failed else 0
