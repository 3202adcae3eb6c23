"""``python -m bench`` (``make bench``): issue 7's benchmarks, in one run, printed as Markdown tables.

1. Certificate issuing in-process on one core (``os.sched_setaffinity``): render → digest → token → add_qr →
   sign, as ``services.issue`` does; p50/p95 per stage and in total, certificates per second. PAdES B-B (no
   timestamp) with a throw-away dev PKI, and B-T against the sandbox TSA of the running stack (on the other core).
2. HTTP on one core, the load generator on the other: a bare Litestar hello-world under uvicorn (same server
   flags as ``python -m bff serve``, one worker), then the real BFF (``tests.support.stack.Stack``: sandbox SSO,
   sandbox provincial system, BFF on SQLite) answering ``GET /v/<token>`` for a certificate it really issued
   (sign in → apply → the clerk accepts and completes → download → the QR code's URL), then ``POST /verify/pdf``
   of that PDF.

Processes are pinned by starting them with this process's affinity set to the wanted core (children inherit it,
as with ``taskset -c``); the table shows each server's ``Cpus_allowed_list``. Besides requests/s the table gives
requests per CPU-second of the server process (utime + stime from /proc): on a shared machine that is the
steadier measure of what one core can do.

Everything started here is stopped, and its temporary directories removed, on the way out (also on Ctrl-C and
SIGTERM).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.metadata
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from bench import certs
from bench.loadgen import LoadResult, run_get, run_python
from tests.support.servers import free_port, wait_for_port

REPO = Path(__file__).resolve().parents[1]
VALID = "证明真实有效"  # what the verification page says of a valid certificate
BOUNDARY = "benchboundary7d1c3f"
STAGE_NAMES = {
    "render": "render (`render_certificate`)",
    "digest": "digest (`content_digest`)",
    "token": "token (`TokenKeys.issue`)",
    "qr_encode": "QR encode (`qr_matrix`, inside `add_qr`)",
    "add_qr": "`add_qr` PDF update (rest of `add_qr`)",
    "sign": "sign (`PdfSigner.sign`)",
}


# --- conditions and process helpers ---------------------------------------------------------------------------


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def loadavg() -> str:
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "?"


def versions() -> str:
    names = ("litestar", "uvicorn", "uvloop", "httptools", "pyhanko", "reportlab", "cryptography", "SQLAlchemy")
    found = []
    for name in names:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found.append(f"{name} {importlib.metadata.version(name)}")
    return ", ".join(found)


def wrk_version() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        return "not installed"
    done = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False, timeout=10)
    first = (done.stdout or done.stderr).strip().splitlines()
    return first[0] if first else "installed"


@contextlib.contextmanager
def affinity(cpus: set[int]) -> Iterator[None]:
    """Run (and start children) on ``cpus`` only; restores the previous affinity."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def cpus_allowed(pid: int) -> str:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Cpus_allowed_list:"):
                return line.split(":", 1)[1].strip()
    return "?"


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


# --- results --------------------------------------------------------------------------------------------------


def core_ticks() -> dict[int, tuple[int, int]]:
    """(busy, total) clock ticks of each CPU since boot, from /proc/stat."""
    ticks: dict[int, tuple[int, int]] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/stat").read_text().splitlines():
            name, *values = line.split()
            if name.startswith("cpu") and name[3:].isdigit():
                numbers = [int(v) for v in values[:8]]  # user nice system idle iowait irq softirq steal
                idle = numbers[3] + numbers[4]
                ticks[int(name[3:])] = (sum(numbers) - idle, sum(numbers))
    return ticks


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Window:
    """What the CPUs did while a load generator ran: the server's and the generator's CPU time, and how busy
    each of the two cores was in all (whoever used it)."""

    wall_s: float = 0.0
    server_cpu_s: float = 0.0
    generator_cpu_s: float = 0.0
    server_core_busy: float = float("nan")  # 0..1, every process on that core
    load_core_busy: float = float("nan")


@contextlib.contextmanager
def observe(pid: int, server_core: int, load_core: int) -> Iterator[Window]:
    window = Window()
    ticks, server, children, started = core_ticks(), cpu_seconds(pid), children_cpu_seconds(), time.monotonic()
    yield window
    window.wall_s = time.monotonic() - started
    window.server_cpu_s = cpu_seconds(pid) - server
    window.generator_cpu_s = children_cpu_seconds() - children
    after = core_ticks()
    for core, attr in ((server_core, "server_core_busy"), (load_core, "load_core_busy")):
        if core in ticks and core in after and after[core][1] > ticks[core][1]:
            busy = (after[core][0] - ticks[core][0]) / (after[core][1] - ticks[core][1])
            setattr(window, attr, busy)


@dataclass
class HttpRow:
    name: str
    load: LoadResult
    window: Window
    pinned: str

    @property
    def per_cpu_second(self) -> float:
        cpu = self.window.server_cpu_s
        return self.load.requests / cpu if cpu > 0 else float("nan")

    def share(self, cpu_s: float) -> float:
        """CPU seconds as a share of the run (1.0 = one core all the time)."""
        return cpu_s / self.window.wall_s if self.window.wall_s else float("nan")

    @property
    def others_on_server_core(self) -> float:
        """How much of the server's core other processes took (the machine is shared)."""
        return max(0.0, self.window.server_core_busy - self.share(self.window.server_cpu_s))


@dataclass
class Report:
    started: str
    load_before: str
    server_cpu: int
    load_cpu: int
    args: argparse.Namespace
    bb: certs.CertRun | None = None
    bt: certs.CertRun | None = None
    bt_skipped: str = ""
    hello: HttpRow | None = None
    verify: HttpRow | None = None
    pdf: HttpRow | None = None
    verify_bytes: int = 0
    load_after: str = ""


# --- 1. certificates ------------------------------------------------------------------------------------------


def bench_certificates(args: argparse.Namespace, report: Report, tsa_pki: Path | None, tsa_url: str | None) -> None:
    from bff.domain.certificates.signing import PdfSigner
    from bff.domain.verification.tokens import TokenKeys
    from sandbox.pki import ensure_dev_pki

    with tempfile.TemporaryDirectory(prefix="bench-certs-") as tmp, affinity({report.server_cpu}):
        pki, written = ensure_dev_pki(Path(tmp) / "pki")
        if not pki.complete() or "signing-key.pem" not in written:
            raise RuntimeError(f"the dev PKI was not created as expected (wrote {written})")
        keys = TokenKeys.load_or_create(Path(tmp) / "token-keys")
        signer = PdfSigner(pki.signing_key, pki.signing_cert, [pki.ca_cert])
        print(f"  B-B: {args.warmup_certs} warm-up + {args.certs} certificates…", file=sys.stderr, flush=True)
        report.bb = certs.run("PAdES B-B (no timestamp)", keys, signer, args.certs, args.warmup_certs)
        if args.bt_certs <= 0:
            report.bt_skipped = "skipped (--bt-certs 0)"
        elif tsa_pki is None or tsa_url is None:
            report.bt_skipped = "skipped (no stack, so no sandbox TSA)"
        else:
            stack_pki, _ = ensure_dev_pki(tsa_pki)  # the stack's PKI: the TSA signs with its tsa.pem
            bt_signer = PdfSigner(stack_pki.signing_key, stack_pki.signing_cert, [stack_pki.ca_cert],
                                  timestamp_url=tsa_url)
            print(f"  B-T: {args.bt_certs} certificates…", file=sys.stderr, flush=True)
            report.bt = certs.run("PAdES B-T (sandbox TSA on the other core)", keys, bt_signer, args.bt_certs,
                                  max(5, args.warmup_certs // 5))


# --- 2. HTTP --------------------------------------------------------------------------------------------------


def measure(name: str, url: str, pid: int, report: Report, args: argparse.Namespace) -> HttpRow:
    """A warm-up run, then the measured one, observed."""
    with affinity({report.load_cpu}):
        run_get(url, args.connections, args.warmup)
        with observe(pid, report.server_cpu, report.load_cpu) as window:
            load = run_get(url, args.connections, args.duration)
    return HttpRow(name=name, load=load, window=window, pinned=cpus_allowed(pid))


def bench_hello(report: Report, args: argparse.Namespace, logs: Path) -> None:
    port = free_port()
    with open(logs / "hello.log", "ab") as log, affinity({report.server_cpu}):
        proc = subprocess.Popen([sys.executable, "-m", "bench.hello", str(port)], cwd=REPO, stdout=log,
                                stderr=subprocess.STDOUT)
    try:
        wait_for_port(port)
        url = f"http://127.0.0.1:{port}/"
        answer = httpx.get(url, timeout=10)
        if answer.status_code != 200 or answer.text != "Hello, world!":
            raise RuntimeError(f"hello-world answered {answer.status_code}: {answer.text[:200]}")
        print("  hello-world…", file=sys.stderr, flush=True)
        report.hello = measure("hello-world `GET /`", url, proc.pid, report, args)
    finally:
        _stop(proc)


def obtain_certificate(stack: Any) -> bytes:
    """A certificate the stack's BFF really issued: apply, the clerk accepts and completes, download."""
    from tests.support.flows import detail, signed_in, submit
    from tests.support.stack import wait_until

    browser = signed_in(stack)
    created = submit(stack, browser)
    if created.status_code != 201:
        raise RuntimeError(f"could not apply: {created.status_code} {created.text[:300]}")
    app_id = created.json()["id"]
    wait_until(lambda: stack.sandbox_application(app_id) is not None, timeout=60)
    stack.clerk(app_id, "accept")
    stack.clerk(app_id, "complete")
    shown = wait_until(lambda: (d := detail(stack, browser, app_id))["certificate"] is not None and d, timeout=90)
    download = browser.get(f"{stack.portal}{shown['certificate']['download_url']}")
    if download.status_code != 200 or not download.content.startswith(b"%PDF"):
        raise RuntimeError(f"could not download the certificate: {download.status_code}")
    return bytes(download.content)


def bench_bff(stack: Any, pdf: bytes, report: Report, args: argparse.Namespace) -> None:
    from bff.domain.certificates.render import read_qr_url

    qr = read_qr_url(pdf)
    if not qr or "/V/" not in qr:
        raise RuntimeError(f"no verification URL in the certificate's QR link: {qr!r}")
    token = qr.rsplit("/", 1)[1]
    # Production intervals for the background loops (the Stack's are shortened for tests).
    stack.extra_env.update({"POLL_INTERVAL": "2", "RELAY_INTERVAL": "1", "RELAY_RETRY_BASE_SECONDS": "2",
                            "RELAY_RETRY_CAP_SECONDS": "300"})
    with affinity({report.server_cpu}):
        stack.start_bff()
    proc = stack.procs["bff"]
    url = f"{stack.portal}/v/{token}"
    page = httpx.get(url, timeout=10)
    if page.status_code != 200 or VALID not in page.text:
        raise RuntimeError(f"GET /v/<token> did not verify the certificate: {page.status_code} {page.text[:300]}")
    report.verify_bytes = len(page.content)
    print("  BFF GET /v/<token>…", file=sys.stderr, flush=True)
    report.verify = measure("BFF `GET /v/<token>`", url, proc.pid, report, args)
    if args.pdf_duration <= 0:
        return

    body = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.pdf\"\r\n"
            f"Content-Type: application/pdf\r\n\r\n").encode() + pdf + f"\r\n--{BOUNDARY}--\r\n".encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}", "Origin": stack.portal}
    check = httpx.post(f"{stack.portal}/verify/pdf", content=body,
                       headers={**headers, "X-Forwarded-For": "192.0.2.1"}, timeout=30)
    if check.status_code != 200 or VALID not in check.text:
        raise RuntimeError(f"POST /verify/pdf did not verify the certificate: {check.status_code} {check.text[:300]}")
    with tempfile.NamedTemporaryFile(prefix="bench-verify-", suffix=".multipart") as file:
        file.write(body)
        file.flush()
        print("  BFF POST /verify/pdf…", file=sys.stderr, flush=True)
        with affinity({report.load_cpu}):
            options: dict[str, Any] = {"method": "POST", "body": Path(file.name), "headers": headers,
                                       "unique_forwarded_for": True, "expect": VALID}
            run_python(f"{stack.portal}/verify/pdf", args.pdf_connections, 2, **options)
            with observe(proc.pid, report.server_cpu, report.load_cpu) as window:
                load = run_python(f"{stack.portal}/verify/pdf", args.pdf_connections, args.pdf_duration, **options)
    report.pdf = HttpRow(name="BFF `POST /verify/pdf`", load=load, window=window, pinned=cpus_allowed(proc.pid))


# --- the table ------------------------------------------------------------------------------------------------


def _f(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def _pct(value: float) -> str:
    return "?" if value != value else f"{100 * value:.0f}%"


def render(report: Report) -> str:
    out: list[str] = []
    a = report.args
    out += [
        "## Conditions",
        "",
        f"- date: {report.started}",
        f"- CPU: {cpu_model()}; {os.cpu_count()} CPUs online; kernel {platform.release()}",
        f"- Python {platform.python_version()}; {versions()}; wrk: {wrk_version()}",
        f"- load average (1/5/15 min) before: {report.load_before}; after: {report.load_after}",
        f"- pinning: certificates and servers on CPU {report.server_cpu}, load generators on CPU {report.load_cpu}",
        "",
    ]
    if report.bb is not None:
        target = "met" if certs.median(report.bb.totals()) <= 25 else "NOT met"
        out += [
            f"## 1. Certificate issuing in-process, one at a time, pinned to CPU {report.server_cpu}",
            "",
            "render → digest → token → add_qr → sign, as `services.issue` does; the five kinds in turn, realistic "
            "content (`tests/certificates/helpers.py`).",
            "",
            "| pipeline | warm-up + n | p50 ms | p95 ms | CPU ms p50 | certificates/s (one core) | per CPU-second |",
            "|---|---|---|---|---|---|---|",
        ]
        for run in (report.bb, report.bt):
            if run is None:
                continue
            out.append(f"| {run.label} | {run.warmup} + {len(run.samples)} | {_f(certs.median(run.totals()))} | "
                       f"{_f(certs.percentile(run.totals(), 95))} | {_f(certs.median(run.cpu()))} | "
                       f"{_f(run.per_second())} | {_f(run.per_cpu_second())} |")
        if report.bt is None:
            out.append(f"| PAdES B-T | {report.bt_skipped} | | | | | |")
        out += ["", "p50/p95: wall time per certificate; CPU ms: this thread's CPU time (less sensitive to other "
                "processes on the core); certificates/s: count / summed wall time, back to back.", "",
                f"Target p50 ≤ 25 ms: **{target}**.", "", "Stages (B-B), wall ms:", "",
                "| stage | p50 | p95 | mean | share of mean total |", "|---|---|---|---|---|"]
        mean_total = sum(report.bb.totals()) / len(report.bb.samples)
        for stage in (*certs.STAGES, "total"):
            values = report.bb.stage(stage)
            mean = sum(values) / len(values)
            out.append(f"| {STAGE_NAMES.get(stage, stage)} | {_f(certs.median(values), 2)} | "
                       f"{_f(certs.percentile(values, 95), 2)} | {_f(mean, 2)} | {100 * mean / mean_total:.0f}% |")
        if report.bt is not None:
            sign = report.bt.stage("sign")
            out.append(f"| sign (B-T) | {_f(certs.median(sign), 2)} | {_f(certs.percentile(sign, 95), 2)} | "
                       f"{_f(sum(sign) / len(sign), 2)} | |")
        out += ["", "By kind (B-B):", "", "| kind | n | p50 ms | p95 ms | signed PDF KB |", "|---|---|---|---|---|"]
        for kind in dict.fromkeys(s.kind for s in report.bb.samples):
            mine = [s for s in report.bb.samples if s.kind == kind]
            totals = [s.wall_ms["total"] for s in mine]
            out.append(f"| {kind} | {len(mine)} | {_f(certs.median(totals))} | "
                       f"{_f(certs.percentile(totals, 95))} | {_f(sum(s.size for s in mine) / len(mine) / 1024)} |")
        out.append("")
    rows = [r for r in (report.hello, report.verify, report.pdf) if r is not None]
    if rows:
        out += [
            f"## 2. HTTP: server on CPU {report.server_cpu} (uvicorn, 1 worker), load generator on CPU "
            f"{report.load_cpu}",
            "",
            f"GET: {a.warmup:g} s warm-up, then {a.duration:g} s with {a.connections} connections; "
            f"`POST /verify/pdf`: {a.pdf_duration:g} s with {a.pdf_connections} connections, one X-Forwarded-For "
            "address per request (the endpoint allows 10 per address per 10 minutes).",
            "",
            "| endpoint | generator | conns | requests | req/s | p50 ms | p99 ms | bad | "
            "req per server CPU-s | server CPU | generator CPU | others on server core | server pinned to |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in rows:
            load, window = row.load, row.window
            out.append(f"| {row.name} | {load.tool} | {load.connections} | {load.requests:,} | {_f(load.rps)} | "
                       f"{_f(load.p50_ms, 2)} | {_f(load.p99_ms, 2)} | {load.bad} | {_f(row.per_cpu_second)} | "
                       f"{_pct(row.share(window.server_cpu_s))} | {_pct(row.share(window.generator_cpu_s))} | "
                       f"{_pct(row.others_on_server_core)} | CPU {row.pinned} |")
        notes = {r.load.note for r in rows if r.load.note}
        out += ["", "server CPU / generator CPU: share of one core the server process / the load generator used "
                "during the run; others on server core: share of the server's core other processes took; req per "
                "server CPU-s: requests / the server's CPU seconds, what one dedicated core would serve (the steadier "
                "figure when the machine is shared). bad: non-2xx answers, socket errors, or (Python generator) "
                "answers without 「证明真实有效」.", ""]
        out += [f"Note: {n}." for n in sorted(notes)] + ([""] if notes else [])
        if report.hello is not None and report.verify is not None:
            ratio = report.verify.load.rps / report.hello.load.rps
            per_cpu = report.verify.per_cpu_second / report.hello.per_cpu_second
            verdict = "met" if ratio >= 0.30 else "NOT met"
            out += [f"verify / hello-world: **{100 * ratio:.1f}%** of requests/s (target ≥ 30%: **{verdict}**); "
                    f"{100 * per_cpu:.1f}% per server CPU-second. Verification page: {report.verify_bytes:,} bytes."]
        out.append("")
    return "\n".join(out)


# --- main -----------------------------------------------------------------------------------------------------


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--certs", type=int, default=250, help="certificates measured (B-B); default 250")
    parser.add_argument("--warmup-certs", type=int, default=25)
    parser.add_argument("--bt-certs", type=int, default=50, help="certificates measured with a TSA (0: skip)")
    parser.add_argument("--duration", type=float, default=15, help="seconds per GET measurement")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up load before each")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--pdf-duration", type=float, default=10, help="seconds of POST /verify/pdf (0: skip)")
    parser.add_argument("--pdf-connections", type=int, default=4)
    parser.add_argument("--skip-http", action="store_true", help="only the in-process certificate benchmark")
    parser.add_argument("--quick", action="store_true", help="a short smoke run (figures not meaningful)")
    args = parser.parse_args(argv)
    if args.quick:
        args.certs, args.warmup_certs, args.bt_certs = 20, 5, 5
        args.duration, args.warmup, args.pdf_duration = 2, 1, 2
    if args.certs < 1:
        parser.error("--certs must be at least 1")
    return args


def main(argv: list[str]) -> int:
    args = parse(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu = 0 if 0 in cpus else cpus[0]
    load_cpu = next((c for c in cpus if c != server_cpu), server_cpu)
    report = Report(started=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), load_before=loadavg(),
                    server_cpu=server_cpu, load_cpu=load_cpu, args=args)
    if load_cpu == server_cpu:
        print("warning: one CPU only; server and load generator share it", file=sys.stderr)

    with contextlib.ExitStack() as cleanup:
        logs = Path(tempfile.mkdtemp(prefix="bench-logs-"))
        cleanup.callback(shutil.rmtree, logs, True)
        stack: Any = None
        pdf = b""
        if not args.skip_http or args.bt_certs > 0:
            from tests.support.stack import Stack

            stack = Stack()
            cleanup.callback(shutil.rmtree, stack.base, True)
            cleanup.callback(stack.close)
            print("starting the stack (sandbox SSO, sandbox provincial, BFF)…", file=sys.stderr, flush=True)
            with affinity({load_cpu}):
                stack.start()
            if not args.skip_http:
                print("issuing a certificate through the stack…", file=sys.stderr, flush=True)
                pdf = obtain_certificate(stack)
            stack.stop("bff")  # off core 0 while certificates are measured
        print("certificates in-process…", file=sys.stderr, flush=True)
        bench_certificates(args, report, stack.base / "pki" if stack else None,
                           f"{stack.provincial}/tsa" if stack else None)
        if not args.skip_http:
            print("HTTP…", file=sys.stderr, flush=True)
            bench_hello(report, args, logs)
            bench_bff(stack, pdf, report, args)
    report.load_after = loadavg()
    print(render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
