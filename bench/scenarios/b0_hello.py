"""B0: a bare Litestar hello-world (``bench/hello.py``) on the server core, served as ``python -m bff serve``
serves the BFF (uvicorn, one worker, uvloop + httptools): the yardstick B1 and B2 are measured against."""

from __future__ import annotations

import subprocess
import sys

import httpx

from bench.context import Context
from bench.report import LOAD_NOTE, Row, Section, f, load_line, load_table_head
from bench.system import affinity, cpus_allowed
from tests.support.servers import free_port, stop_process, wait_for_port
from tests.support.stack import REPO


def run(ctx: Context) -> Section:
    port = free_port()
    with open(ctx.logs / "hello.log", "ab") as log, affinity({ctx.server_cpu}):
        proc = subprocess.Popen([sys.executable, "-m", "bench.hello", str(port)], cwd=REPO, stdout=log,
                                stderr=subprocess.STDOUT)
    try:
        wait_for_port(port)
        url = f"http://127.0.0.1:{port}/"
        answer = httpx.get(url, timeout=10)
        if answer.status_code != 200 or answer.text != "Hello, world!":
            raise RuntimeError(f"hello-world answered {answer.status_code}: {answer.text[:200]}")
        load, window = ctx.measure_get(url, [proc.pid])
        pinned = cpus_allowed(proc.pid)
    finally:
        stop_process(proc)
    ctx.hello_rps = load.rps
    section = Section("B0", "B0. Baseline: bare Litestar hello-world")
    section.rows.append(Row("B0", f"hello-world `GET /`, {load.connections} connections",
                            f"{f(load.rps)} req/s, p95 {f(load.p95_ms)} ms"))
    section.body += [f"`bench/hello.py`: one `async` handler returning `Hello, world!`, uvicorn with one worker "
                     f"(uvloop + httptools), pinned to CPU {pinned}; wrk on CPU {ctx.load_cpu}.", "",
                     *load_table_head(), load_line("hello-world `GET /`", load, window), "", LOAD_NOTE]
    return section
