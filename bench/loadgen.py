"""Load generators: Debian's ``wrk`` when installed, else a small asyncio HTTP/1.1 keep-alive client (this module
run as ``python -m bench.loadgen``, in its own process).

The Python client is also what posts PDFs to ``/verify/pdf``: it can send a body, extra headers, a distinct
``X-Forwarded-For`` per request (the endpoint is rate-limited per client address, and uvicorn trusts that header
from 127.0.0.1), and count the answers whose body contains an expected text. It is much slower than wrk: as a
fallback for the GET benchmarks it may be the bottleneck, and the table says which generator ran.

Both are pinned by the caller (they inherit its CPU affinity).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


@dataclass
class LoadResult:
    tool: str
    connections: int
    seconds: float
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    bad: int  # non-2xx answers, socket errors and timeouts, answers without the expected text
    statuses: dict[str, int] = field(default_factory=dict)
    note: str = ""
    p95_ms: float = float("nan")
    mix: dict[str, int] = field(default_factory=dict)  # requests by kind (the mixed script)


# --- wrk ------------------------------------------------------------------------------------------------------

LUA = Path(__file__).resolve().parent / "lua"


def parse_wrk(output: str, connections: int) -> LoadResult:
    """The JSON line bench/lua/report.lua prints at the end of a run."""
    line = next((ln for ln in output.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise ValueError(f"no BENCH_JSON line in wrk's output:\n{output}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    seconds = data["duration_us"] / 1e6
    errors = sum(data[k] for k in ("connect", "read", "write", "status", "timeout"))
    return LoadResult(tool="wrk", connections=connections, seconds=seconds, requests=data["requests"],
                      rps=data["requests"] / seconds if seconds else 0.0, p50_ms=data["p50_us"] / 1000,
                      p99_ms=data["p99_us"] / 1000, bad=errors, statuses=data["statuses"],
                      p95_ms=data["p95_us"] / 1000, mix=data["mix"])


def run_wrk(url: str, connections: int, seconds: float, *, script: str = "get.lua",
            env: dict[str, str] | None = None) -> LoadResult | None:
    """``wrk -t1 -cN -dS`` with one of bench/lua's scripts (``env`` configures it); None when wrk is missing."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    done = subprocess.run([wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
                           "-s", str(LUA / script), url], capture_output=True, text=True, timeout=seconds + 120,
                          check=True, env={**os.environ, "BENCH_LUA_DIR": str(LUA), **(env or {})})
    return parse_wrk(done.stdout, connections)


def run_python(url: str, connections: int, seconds: float, *, method: str = "GET", body: Path | None = None,
               headers: dict[str, str] | None = None, unique_forwarded_for: bool = False,
               expect: str | None = None) -> LoadResult:
    """This module's own client, in a child process."""
    args = [sys.executable, "-m", "bench.loadgen", url, "--connections", str(connections), "--duration",
            str(seconds), "--method", method]
    if body is not None:
        args += ["--body-file", str(body)]
    for name, value in (headers or {}).items():
        args += ["--header", f"{name}: {value}"]
    if unique_forwarded_for:
        args.append("--unique-forwarded-for")
    if expect is not None:
        args += ["--expect", expect]
    done = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 120, check=False,
                          cwd=Path(__file__).resolve().parents[1])
    if done.returncode != 0:
        raise RuntimeError(f"the load generator failed:\n{done.stderr[-4000:]}")
    return LoadResult(**json.loads(done.stdout))


def run_get(url: str, connections: int, seconds: float, cookie: str | None = None) -> LoadResult:
    """GET load with wrk, or with the Python client when wrk is missing."""
    result = run_wrk(url, connections, seconds, env={"BENCH_COOKIE": cookie or ""})
    if result is not None:
        return result
    fallback = run_python(url, connections, seconds, headers={"Cookie": cookie} if cookie else None)
    fallback.note = "wrk not installed: Python client (may be the bottleneck)"
    return fallback


# --- the Python client ----------------------------------------------------------------------------------------


class _BadResponse(Exception):
    pass


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, keep-alive) of one HTTP/1.1 answer."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise _BadResponse(lines[0])
    status = int(parts[1])
    fields: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
    if fields.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, then the blank line
                    pass
                break
            chunks.append((await reader.readexactly(size + 2))[:-2])
        body = b"".join(chunks)
    else:
        body = await reader.readexactly(int(fields.get("content-length", "0")))
    keep = fields.get("connection", "").lower() != "close"
    return status, body, keep


@dataclass
class _Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    bad: int = 0
    sent: int = 0


async def _connection(host: str, port: int, build: Any, deadline: float, expect: bytes | None,
                      tally: _Tally) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    try:
        while time.perf_counter() < deadline:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            assert reader is not None
            tally.sent += 1
            started = time.perf_counter()
            try:
                writer.write(build(tally.sent))
                status, body, keep = await asyncio.wait_for(_read_response(reader), timeout=30)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, _BadResponse,
                    ValueError):
                tally.bad += 1
                tally.statuses["error"] += 1
                writer.close()
                reader = writer = None
                continue
            if time.perf_counter() <= deadline:
                tally.latencies.append((time.perf_counter() - started) * 1000)
                tally.statuses[str(status)] += 1
                if not 200 <= status < 300 or (expect is not None and expect not in body):
                    tally.bad += 1
            if not keep:
                writer.close()
                reader = writer = None
    finally:
        if writer is not None:
            writer.close()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


async def _load(args: argparse.Namespace, body: bytes) -> LoadResult:
    parts = urlsplit(args.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    extra = "".join(f"{h}\r\n" for h in args.header)
    fixed = f"{args.method} {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n{extra}"
    if body or args.method != "GET":
        fixed += f"Content-Length: {len(body)}\r\n"

    def build(n: int) -> bytes:
        forwarded = f"X-Forwarded-For: 10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}\r\n" \
            if args.unique_forwarded_for else ""
        return (fixed + forwarded + "\r\n").encode("latin-1") + body

    tally = _Tally()
    started = time.perf_counter()
    deadline = started + args.duration
    expect = args.expect.encode() if args.expect else None
    await asyncio.gather(*(_connection(host, port, build, deadline, expect, tally)
                           for _ in range(args.connections)))
    elapsed = min(time.perf_counter(), deadline) - started
    return LoadResult(tool="python", connections=args.connections, seconds=round(elapsed, 3),
                      requests=len(tally.latencies), rps=len(tally.latencies) / elapsed,
                      p50_ms=_percentile(tally.latencies, 50), p99_ms=_percentile(tally.latencies, 99),
                      bad=tally.bad, statuses=dict(tally.statuses), p95_ms=_percentile(tally.latencies, 95))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen")
    parser.add_argument("url")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body-file")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--unique-forwarded-for", action="store_true")
    parser.add_argument("--expect")
    args = parser.parse_args(argv)
    body = Path(args.body_file).read_bytes() if args.body_file else b""
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(_load(args, body))
    else:
        result = uvloop.run(_load(args, body))
    print(json.dumps(asdict(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
