"""B3: certificate issuing. (a) In-process, one certificate at a time on the server core: render → digest →
token → add_qr → sign, as ``services.issue`` does (``bench/certs.py``), p50 per certificate and per stage.
(b) B2 again while the same BFF issues 10 certificates per second (``POST /api/applications/{id}/reissue``, the
real endpoint: provincial result, render, sign with the sandbox TSA, store, in the BFF's worker thread): how much
B2 loses."""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench import certs
from bench.context import Context
from bench.report import LOAD_NOTE, Row, Section, f, load_line, load_table_head, pct
from bench.scenarios.b2_verify import check_page
from bench.system import affinity
from tests.support.portal_client import same_origin

TARGET_P50_MS = 25.0
TARGET_LOSS = 0.10
RATE = 10.0  # certificates per second during (b)
STAGE_NAMES = {
    "render": "render (`render_certificate`)",
    "digest": "digest (`content_digest`)",
    "token": "token (`TokenKeys.issue`)",
    "qr_encode": "QR encode (`qr_matrix`, inside `add_qr`)",
    "add_qr": "`add_qr` PDF update (rest of `add_qr`)",
    "sign": "sign (`PdfSigner.sign`)",
}


def in_process(ctx: Context) -> certs.CertRun:
    from bff.domain.certificates.signing import PdfSigner
    from bff.domain.verification.tokens import TokenKeys
    from sandbox.pki import ensure_dev_pki

    with tempfile.TemporaryDirectory(prefix="bench-certs-") as tmp, affinity({ctx.server_cpu}):
        pki, written = ensure_dev_pki(Path(tmp) / "pki")
        if not pki.complete() or "signing-key.pem" not in written:
            raise RuntimeError(f"the dev PKI was not created as expected (wrote {written})")
        keys = TokenKeys.load_or_create(Path(tmp) / "token-keys")
        signer = PdfSigner(pki.signing_key, pki.signing_cert, [pki.ca_cert])
        return certs.run("PAdES B-B (no timestamp)", keys, signer, ctx.args.certs, ctx.args.warmup_certs)


@dataclass
class Issuing:
    """A loop issuing certificates at a fixed rate through the real endpoint, in its own thread."""

    base: str
    cookie: str
    paths: list[str]
    rate: float
    ok: int = 0
    skipped: int = 0  # ticks when every application still had a reissue in flight
    failed: list[str] = field(default_factory=list)
    busy: set[str] = field(default_factory=set)
    latencies: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    started: float = 0.0
    stopped: float = 0.0

    def __enter__(self) -> Issuing:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    async def _one(self, client: httpx.AsyncClient, path: str) -> None:
        began = time.perf_counter()
        self.busy.add(path)
        try:
            answer = await client.post(f"{self.base}{path}", headers={"Cookie": self.cookie,
                                                                       **same_origin(self.base)})
        except httpx.HTTPError as exc:
            self.failed.append(type(exc).__name__)
            return
        finally:
            self.busy.discard(path)
        if answer.status_code == 200:
            self.ok += 1
            self.latencies.append((time.perf_counter() - began) * 1000)
        else:
            self.failed.append(f"{answer.status_code} {answer.text[:120]}")

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=60) as client:
            tasks: set[asyncio.Task[None]] = set()
            self.started = time.perf_counter()
            n = 0
            while not self._stop.is_set():
                # one reissue per application at a time, as one person would (no two supersede the same one)
                free = [p for p in self.paths if p not in self.busy]
                if free:
                    task = asyncio.create_task(self._one(client, free[n % len(free)]))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                else:
                    self.skipped += 1
                n += 1
                await asyncio.sleep(max(0.0, self.started + n / self.rate - time.perf_counter()))
            self.stopped = time.perf_counter()
            await asyncio.gather(*tasks)


def run(ctx: Context) -> Section:
    assert ctx.b3 is not None
    section = Section("B3", "B3. Signed certificates")
    bb = in_process(ctx)
    p50 = certs.median(bb.totals())
    section.rows.append(Row("B3", "certificate render + sign, one core, p50", f"{f(p50)} ms "
                            f"(p95 {f(certs.percentile(bb.totals(), 95))} ms, CPU {f(certs.median(bb.cpu()))} ms)",
                            f"≤ {TARGET_P50_MS:g} ms", p50 <= TARGET_P50_MS))

    url = f"{ctx.stack.portal}{ctx.verify_path}"
    check_page(url)
    paths = [f"/api/applications/{a}/reissue" for a in ctx.b3.certificates]
    with affinity({ctx.load_cpu}), Issuing(ctx.stack.portal, ctx.b3.cookie, paths, RATE) as issuing:
        time.sleep(1)
        load, window = ctx.measure_get(url, [ctx.bff_pid])
    achieved = issuing.ok / (issuing.stopped - issuing.started) if issuing.stopped > issuing.started else 0.0
    loss = 1 - load.rps / ctx.verify_rps
    section.rows.append(Row("B3", f"B2 while {RATE:g} certificates/s are issued by the same BFF",
                            f"{f(load.rps)} req/s, loses {pct(loss)} (issued {f(achieved)}/s, "
                            f"{len(issuing.failed)} failed, {issuing.skipped} skipped)", f"loses ≤ {pct(TARGET_LOSS)}",
                            loss <= TARGET_LOSS and not issuing.failed and load.bad == 0))

    section.body += [
        f"**(a) In-process**, pinned to CPU {ctx.server_cpu}, one certificate at a time, exactly the steps of "
        "`services.issue`'s `make()`: `render_certificate` → `content_digest` → `TokenKeys.issue` → `add_qr` → "
        "`PdfSigner.sign` (PAdES B-B, a throw-away dev PKI from `sandbox.pki`, RSA-3072); the five kinds in turn "
        f"with realistic content (`tests/certificates/helpers.make_content`). {bb.warmup} warm-up + "
        f"{len(bb.samples)} measured. The QR symbol is encoded as its own stage (`qr_matrix(url, \"M\")`, the very "
        "call `add_qr` makes; `add_qr` then hits its cache), so `add_qr` below is only the PDF update.", "",
        "| pipeline | n | p50 ms | p95 ms | CPU ms p50 | certificates/s (one core) |", "|---|---|---|---|---|---|",
        f"| {bb.label} | {len(bb.samples)} | {f(p50)} | {f(certs.percentile(bb.totals(), 95))} | "
        f"{f(certs.median(bb.cpu()))} | {f(bb.per_second())} |", "",
        "| stage | p50 ms | p95 ms | mean ms | share of mean total |", "|---|---|---|---|---|",
    ]
    mean_total = sum(bb.totals()) / len(bb.samples)
    for stage in (*certs.STAGES, "total"):
        values = bb.stage(stage)
        mean = sum(values) / len(values)
        section.body.append(f"| {STAGE_NAMES.get(stage, stage)} | {f(certs.median(values), 2)} | "
                            f"{f(certs.percentile(values, 95), 2)} | {f(mean, 2)} | {100 * mean / mean_total:.0f}% |")
    failures = sorted(set(issuing.failed))[:3]
    section.body += [
        "", f"**(b) B2 under certificate issuing.** While wrk loads `GET /V/<token>` as in B2, a client on CPU "
        f"{ctx.load_cpu} calls `POST /api/applications/{{id}}/reissue` {RATE:g} times a second (open loop, "
        f"round the {len(paths)} completed applications of {ctx.b3.username}, one reissue in flight per application; "
        "a tick finding all of them in flight is skipped); each call makes the BFF fetch the "
        "provincial result, render, sign (PAdES B-T: the sandbox TSA) and store a new certificate, in its worker "
        f"thread. The BFF has one worker on CPU {ctx.server_cpu}, so the certificates' CPU comes out of the same "
        f"core. Issued: {issuing.ok} ({f(achieved)}/s), p50 "
        f"{f(certs.median(issuing.latencies))} ms per reissue; failed: {len(issuing.failed)}"
        + (f" ({'; '.join(failures)})" if failures else "") + ".", "",
        *load_table_head(), *([load_line("`GET /V/<token>` alone (B2)", *ctx.verify_run)] if ctx.verify_run else []),
        load_line(f"`GET /V/<token>` + {RATE:g} certificates/s", load, window), "", LOAD_NOTE,
    ]
    return section

