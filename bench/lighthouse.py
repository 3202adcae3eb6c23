"""``python -m bench.lighthouse``: Lighthouse (mobile, simulated Slow 4G) on four pages of the real stack.

Starts ``tests.support.stack.Stack`` (sandbox SSO, sandbox provincial system, the BFF on SQLite serving
``web/dist``), signs a person in through the real OIDC code flow, submits a few applications and has the sandbox
clerk complete one so that a real certificate is issued, then runs the ``lighthouse`` CLI from ``web/node_modules``
against Debian's Chromium (no browser download) on:

- the sign-in page (``/`` signed out),
- 「我的档案」 (``/`` signed in: the session cookie goes in ``--extra-headers``),
- 「我的申请」 (``/applications`` signed in, with the applications above),
- the public verification page ``/v/<token>`` of the issued certificate (no cookie).

Lighthouse's defaults are kept: ``formFactor=mobile`` (Moto G Power, 412×823), ``throttlingMethod=simulate``
with its mobile "Slow 4G" profile (150 ms RTT, 1.6 Mbit/s down, 750 kbit/s up, 4× CPU slowdown). Prints the
scores, writes each JSON report to ``test-artifacts/lighthouse/<page>.json`` and checks every request against
web fonts (a phone has its own CJK font; the portal never downloads one).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.flows import download, issued, signed_in, submit
from tests.support.stack import REPO, Stack

WEB = REPO / "web"
LIGHTHOUSE = WEB / "node_modules" / ".bin" / "lighthouse"
OUT = REPO / "test-artifacts" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices")
TARGETS = {"performance": 95, "accessibility": 100, "best-practices": 100}
# the flags e2e/conftest.py launches Chromium with, headless
CHROME_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
FONT_SUFFIXES = (".woff", ".woff2", ".ttf", ".otf", ".eot")
SESSION_COOKIE = "__Host-portal_session"
ATTEMPTS = 3


@dataclass
class Page:
    name: str  # the report's file name
    title: str  # how the page is called in the table
    url: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Result:
    page: Page
    scores: dict[str, int]
    report: Path
    font_requests: list[str]
    failing: dict[str, list[str]]  # category → ids of its scored audits below 1
    metrics: dict[str, float]
    scripts: list[str]  # every script the page fetched
    script_bytes: int  # their transfer size (compressed, as sent)

    def misses(self) -> list[str]:
        """Targets this page misses, in words."""
        out = [f"{self.page.title}: {cat} {self.scores.get(cat)} < {target} (audits: {', '.join(self.failing[cat])})"
               for cat, target in TARGETS.items() if self.scores.get(cat, 0) < target]
        if self.font_requests:
            out.append(f"{self.page.title}: web font requests {self.font_requests}")
        return out


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise RuntimeError("Chromium not found: apt-get install chromium, or set CHROMIUM_PATH")
    return path


def chromium_version() -> str:
    out = subprocess.run([chromium_path(), "--version"], capture_output=True, text=True, check=False).stdout
    return out.strip()


def lighthouse_version() -> str:
    return subprocess.run([str(LIGHTHOUSE), "--version"], capture_output=True, text=True, check=True).stdout.strip()


def prepare(stack: Stack) -> list[Page]:
    """Sign a person in, give them applications and one issued certificate; the four pages to measure."""
    browser = signed_in(stack, "zhangwei")
    ids = []
    for purpose in ("办理落户", "办理入职", "子女入学"):
        r = submit(stack, browser, purpose=purpose)
        assert r.status_code in (200, 201), r.text
        ids.append(str(r.json()["id"]))
    done = ids[0]
    pdf = download(stack, browser, issued(stack, browser, done))
    from bff.domain.certificates.render import read_qr_url

    qr = read_qr_url(pdf)
    assert qr is not None, "no QR code on the certificate"
    token = qr.rstrip("/").rsplit("/", 1)[1]
    cookie = {"Cookie": f"{SESSION_COOKIE}={browser.session_cookie()}"}
    return [
        Page("sign-in", "登录页", f"{stack.portal}/"),
        Page("home", "我的档案", f"{stack.portal}/", cookie),
        Page("applications", "我的申请", f"{stack.portal}/applications", cookie),
        Page("verify", "核验页 /v/<token>", f"{stack.portal}/v/{token}"),
    ]


def run_lighthouse(page: Page, out: Path = OUT, run: int = 0) -> Result:
    out.mkdir(parents=True, exist_ok=True)
    report = out / (f"{page.name}.json" if run == 0 else f"{page.name}.run{run + 1}.json")
    cmd = [str(LIGHTHOUSE), page.url, "--output=json", f"--output-path={report}", "--quiet",
           f"--only-categories={','.join(CATEGORIES)}", f"--chrome-flags={' '.join(CHROME_FLAGS)}",
           "--max-wait-for-load=60000"]
    if page.headers:
        cmd.append(f"--extra-headers={json.dumps(page.headers)}")
    env = {**os.environ, "CHROME_PATH": chromium_path()}
    # Lighthouse now and then fails to record a trace (NO_NAVSTART, NO_FCP on a busy machine): such a run has no
    # scores at all and is simply made again; a run with scores is never repeated here.
    for attempt in range(ATTEMPTS):
        report.unlink(missing_ok=True)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240, check=False)
        if proc.returncode == 0 and report.exists():
            return read_report(page, report)
        print(f"lighthouse failed on {page.title} (attempt {attempt + 1}): {proc.stderr.strip()[-300:]}",
              file=sys.stderr)
    raise RuntimeError(f"lighthouse failed on {page.title} ({proc.returncode}):\n{proc.stderr[-4000:]}")


def read_report(page: Page, report: Path) -> Result:
    lhr: dict[str, Any] = json.loads(report.read_text())
    cats = lhr["categories"]
    audits = lhr["audits"]
    scores = {cat: round((cats[cat]["score"] or 0) * 100) for cat in CATEGORIES}
    failing = {
        cat: [ref["id"] for ref in cats[cat]["auditRefs"]
              if ref["weight"] > 0 and audits[ref["id"]]["score"] is not None and audits[ref["id"]]["score"] < 1]
        for cat in CATEGORIES
    }
    requests = audits.get("network-requests", {}).get("details", {}).get("items", [])
    fonts = [r["url"] for r in requests
             if r.get("resourceType") == "Font" or r["url"].split("?", 1)[0].lower().endswith(FONT_SUFFIXES)]
    metrics = {key: float(audits[key]["numericValue"]) for key in
               ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time",
                "cumulative-layout-shift", "speed-index") if key in audits}
    scripts = [r for r in requests if r.get("resourceType") == "Script"]
    return Result(page, scores, report, fonts, failing, metrics, [r["url"] for r in scripts],
                  sum(int(r.get("transferSize", 0)) for r in scripts))


def conditions() -> dict[str, str]:
    return {
        "lighthouse": lighthouse_version(),
        "chromium": chromium_version(),
        "throttling": "simulate, mobile Slow 4G (150 ms RTT, 1638.4 kbit/s down, 750 kbit/s up, CPU ×4)",
        "load": "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()),
    }


def table(results: list[Result]) -> str:
    rows = ["| page | performance | accessibility | best practices | FCP ms | LCP ms | TBT ms | CLS |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        m = r.metrics
        rows.append(f"| {r.page.title} | {r.scores['performance']} | {r.scores['accessibility']} | "
                    f"{r.scores['best-practices']} | {m.get('first-contentful-paint', 0):.0f} | "
                    f"{m.get('largest-contentful-paint', 0):.0f} | {m.get('total-blocking-time', 0):.0f} | "
                    f"{m.get('cumulative-layout-shift', 0):.3f} |")
    return "\n".join(rows)


def median(runs: list[Result]) -> Result:
    """The run with the median performance score (Lighthouse's own advice against run-to-run variance)."""
    ordered = sorted(runs, key=lambda r: r.scores["performance"])
    return ordered[len(ordered) // 2]


def measure(out: Path = OUT, only: set[str] | None = None, repeat: int = 1,
            all_runs: list[Result] | None = None) -> tuple[list[Result], dict[str, str]]:
    """Start a stack, prepare the data, run Lighthouse on each page (``repeat`` times, keeping the median run; every
    run is appended to ``all_runs``); the stack is stopped on the way out."""
    all_runs = [] if all_runs is None else all_runs
    if not LIGHTHOUSE.exists():
        raise RuntimeError("lighthouse is not installed: cd web && npm ci")
    if not (WEB / "dist" / "index.html").exists():
        raise RuntimeError("web/dist is not built: make web")
    stack = Stack().start()
    try:
        pages = prepare(stack)
        results: list[Result] = []
        for page in pages:
            if only and page.name not in only:
                continue
            # the server-rendered page has no script and varies little: one run is enough
            runs = [run_lighthouse(page, out, i) for i in range(1 if page.name == "verify" else repeat)]
            results.append(median(runs))
            all_runs.extend(runs)
        return results, conditions()
    finally:
        stack.close()
        shutil.rmtree(stack.base, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lighthouse", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="where the JSON reports go")
    parser.add_argument("--runs", type=int, default=1, help="runs per page; the median run is kept")
    parser.add_argument("--pages", help="a comma-separated subset of: sign-in, home, applications, verify")
    args = parser.parse_args(argv)
    started = time.monotonic()
    results, cond = measure(args.out, set(args.pages.split(",")) if args.pages else None, args.runs)
    print("\n".join(f"- {k}: {v}" for k, v in cond.items()))
    print(table(results))
    misses = [m for r in results for m in r.misses()]
    print(f"reports in {args.out} ({time.monotonic() - started:.0f} s)")
    for miss in misses:
        print("MISS", miss)
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
