"""B4: uploads of realistic 2 MB and 5 MB scans (a JPEG photo of an A4 page, and the same as a PDF) to
``PUT /api/documents/{id}/files/{file_id}``, N at once; throughput against a raw-body ingest baseline
(``bench/rawingest.py``: a bare endpoint streaming the body to a file), and the server's memory per upload in
flight (VmRSS sampled every 10 ms)."""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from bench.context import Context
from bench.production import Person, new_document
from bench.report import Row, Section, f, pct
from bench.scans import jpeg_scan, pdf_scan
from bench.system import affinity, cpu_seconds, rss_mb
from tests.support.portal_client import same_origin
from tests.support.servers import free_port, stop_process, wait_for_port
from tests.support.stack import REPO

TARGET_SHARE = 0.60
TARGET_MEMORY = 2.0  # × the file, per upload in flight
MB = 1024 * 1024


@dataclass
class Uploads:
    count: int = 0
    sent_bytes: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    rss_before: float = 0.0
    rss_peak: float = 0.0
    cpu_s: float = 0.0
    client_cpu_s: float = 0.0

    @property
    def mb_per_s(self) -> float:
        return self.sent_bytes / MB / self.seconds if self.seconds else float("nan")

    def shares(self) -> str:
        """The server's and the client's CPU time as shares of one core: | server | client."""
        if not self.seconds:
            return "? | ?"
        return f"{pct(self.cpu_s / self.seconds)} | {pct(self.client_cpu_s / self.seconds)}"

    def growth_per_upload(self, concurrency: int) -> float:
        return (self.rss_peak - self.rss_before) / concurrency


class RssSampler:
    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.01)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def _loop(put: Callable[[httpx.AsyncClient, int], object], concurrency: int, seconds: float,
                result: Uploads, body_size: int) -> None:
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(timeout=120) as client:
        async def worker(index: int) -> None:
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                try:
                    await put(client, index)  # type: ignore[misc]
                except Exception as exc:  # every failure is counted and reported
                    result.errors.append(str(exc)[:160])
                    continue
                result.latencies.append((time.perf_counter() - began) * 1000)
                result.count += 1
                result.sent_bytes += body_size
        began = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        result.seconds = time.perf_counter() - began


def measure(pid: int, put: Callable[[httpx.AsyncClient, int], object], concurrency: int, seconds: float,
            body_size: int, load_cpu: int) -> Uploads:
    """One warm-up round, a settled baseline RSS, then the measured run with RSS sampled."""
    result = Uploads()
    with affinity({load_cpu}):
        asyncio.run(_loop(put, concurrency, min(2.0, seconds / 2), Uploads(), body_size))
        time.sleep(0.5)
        result.rss_before = statistics.median(rss_mb(pid) for _ in range(5))
        cpu0 = cpu_seconds(pid)
        client0 = time.thread_time()
        with RssSampler(pid) as sampler:
            asyncio.run(_loop(put, concurrency, seconds, result, body_size))
        result.client_cpu_s = time.thread_time() - client0
        result.cpu_s = cpu_seconds(pid) - cpu0
    result.rss_peak = sampler.peak
    return result


def bff_put(base: str, people: list[Person], documents: list[str], body: bytes, name: str) -> Callable[..., object]:
    async def put(client: httpx.AsyncClient, index: int) -> None:
        person, document = people[index % len(people)], documents[index]
        headers = {"Cookie": person.cookie, **same_origin(base)}
        file_id = uuid.uuid4().hex
        answer = await client.put(f"{base}/api/documents/{document}/files/{file_id}", params={"name": name},
                                  content=body, headers={**headers, "Content-Type": "application/octet-stream"})
        if answer.status_code != 201:
            raise RuntimeError(f"{answer.status_code} {answer.text[:120]}")
        # a person removing the page again, so the draft quota (60 MB per person) never fills
        removed = await client.delete(f"{base}/api/documents/{document}/files/{file_id}", headers=headers)
        if removed.status_code != 200:
            raise RuntimeError(f"DELETE {removed.status_code} {removed.text[:120]}")
    return put


def raw_put(base: str, body: bytes) -> Callable[..., object]:
    async def put(client: httpx.AsyncClient, index: int) -> None:
        answer = await client.put(f"{base}/raw", content=body)
        if answer.status_code != 200 or answer.json()["size"] != len(body):
            raise RuntimeError(f"{answer.status_code} {answer.text[:120]}")
    return put


def run(ctx: Context) -> Section:
    args = ctx.args
    sizes = [2_000_000] if args.quick else [2_000_000, 5_000_000]
    files = {("JPEG", size): jpeg_scan(size) for size in sizes}
    files.update({("PDF", size): pdf_scan(size) for size in sizes})
    n = args.upload_concurrency
    section = Section("B4", "B4. Uploads of scans")
    documents = [new_document(ctx.stack, ctx.uploaders[i % len(ctx.uploaders)]) for i in range(n)]
    raw: dict[int, Uploads] = {}
    port = free_port()
    spool = tempfile.mkdtemp(prefix="bench-raw-", dir=ctx.logs)
    with open(ctx.logs / "raw.log", "ab") as log, affinity({ctx.server_cpu}):
        proc = subprocess.Popen([sys.executable, "-m", "bench.rawingest", str(port), spool], cwd=REPO, stdout=log,
                                stderr=subprocess.STDOUT)
    try:
        wait_for_port(port)
        for size in sizes:
            body = files[("JPEG", size)]
            raw[size] = measure(proc.pid, raw_put(f"http://127.0.0.1:{port}", body), n, args.upload_duration,
                                len(body), ctx.load_cpu)
    finally:
        stop_process(proc)
    lines = ["| upload | file MB | in flight | uploads | MB/s | vs raw ingest | p50 ms | server CPU ms per upload | "
             "server CPU | client CPU | RSS before MB | RSS peak MB | growth per upload in flight | × file | errors |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for size in sizes:
        r = raw[size]
        if r.errors:
            raise RuntimeError(f"the raw-ingest baseline failed: {r.errors[0]}")
        lines.append(f"| raw-body ingest (baseline) | {f(size / MB, 2)} | {n} | {r.count} | {f(r.mb_per_s)} | | "
                     f"{f(statistics.median(r.latencies) if r.latencies else float('nan'))} | "
                     f"{f(1000 * r.cpu_s / max(r.count, 1))} | {r.shares()} | {f(r.rss_before)} | {f(r.rss_peak)} | "
                     f"{f(r.growth_per_upload(n))} MB | {f(r.growth_per_upload(n) * MB / size, 2)} | "
                     f"{len(r.errors)} |")
    for (kind, size), body in files.items():
        put = bff_put(ctx.stack.portal, ctx.uploaders, documents, body, f"scan.{kind.lower()}")
        u = measure(ctx.bff_pid, put, n, args.upload_duration, len(body), ctx.load_cpu)
        share = u.mb_per_s / raw[size].mb_per_s
        times_file = u.growth_per_upload(n) * MB / len(body)
        met = share >= TARGET_SHARE and times_file <= TARGET_MEMORY and not u.errors and u.count > 0
        section.rows.append(Row("B4", f"upload {f(len(body) / MB, 1)} MB {kind}, {n} in flight",
                                f"{f(u.mb_per_s)} MB/s = {pct(share)} of raw ingest; {f(u.growth_per_upload(n))} MB "
                                f"per upload in flight = {f(times_file, 1)}× the file",
                                f"≥ {pct(TARGET_SHARE)}; ≤ {TARGET_MEMORY:g}×", met))
        lines.append(f"| {kind} scan → BFF | {f(len(body) / MB, 2)} | {n} | {u.count} | {f(u.mb_per_s)} | "
                     f"{pct(share)} | {f(statistics.median(u.latencies) if u.latencies else float('nan'))} | "
                     f"{f(1000 * u.cpu_s / max(u.count, 1))} | {u.shares()} | {f(u.rss_before)} | {f(u.rss_peak)} | "
                     f"{f(u.growth_per_upload(n))} MB | {f(times_file, 2)} | {len(u.errors)} |")
        if u.errors:
            lines.append(f"| (first error: {u.errors[0]}) |" + " |" * 14)
    section.body += [
        f"{n} uploads in flight for {args.upload_duration:g} s per file (after a warm-up round), from an asyncio "
        f"httpx client on CPU {ctx.load_cpu}; the BFF (one worker) and the baseline on CPU {ctx.server_cpu}. Each "
        "BFF upload is `PUT` of the raw file to a document of its own (of "
        f"{len(ctx.uploaders)} persons), then `DELETE` of that file (a person removing the page: the per-person "
        "draft quota is 60 MB); MB/s counts the upload bytes over the whole loop, DELETEs included. The scans: an "
        "A4 page at 300 dpi (2480 × 3508), paper noise and text-like bars, colour JPEG (quality 85 / 95 to reach "
        "the size) and that JPEG as a one-page PDF (img2pdf). The BFF checks every file by its content: a JPEG is "
        "decoded, turned upright and re-encoded without metadata; a PDF is parsed and a sanitised copy written.",
        "", *lines, "",
        "RSS: VmRSS of the server process (all threads), sampled every 10 ms; before = after the warm-up round, "
        "settled; growth per upload in flight = (peak − before) / uploads in flight. Server CPU ms per upload: the "
        "server's CPU time over the run / uploads (the `DELETE` included).",
    ]
    return section
