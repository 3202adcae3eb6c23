"""Lighthouse on four pages of the real stack (bench/lighthouse.py): the sign-in page, 「我的档案」, 「我的申请」 and
the public verification page of a real certificate, in Lighthouse's default mobile mode with simulated Slow 4G.

What a person meets whatever the machine's speed is asserted here, in one run per page: accessibility 100, best
practices 100, no web font requested, the verification page loads no script. The performance score is a speed
target, so it lives in the benchmarks (`python -m bench.lighthouse --runs 3` prints it, median of three; the
figures are in bench/RESULTS.md), not in a timed test. Reports are left in test-artifacts/lighthouse/.
"""

from __future__ import annotations

import shutil
import time

import pytest

from bench.lighthouse import LIGHTHOUSE, OUT, TARGETS, Result, chromium_path, measure, table
from tests.support.stack import REPO

RUNS = 1


@pytest.fixture(scope="module")
def lighthouse() -> tuple[list[Result], list[Result]]:
    if not LIGHTHOUSE.exists():
        pytest.fail("web/node_modules/.bin/lighthouse is missing: cd web && npm ci")
    chromium_path()  # fails with the reason when Chromium is missing
    shutil.rmtree(OUT, ignore_errors=True)
    every: list[Result] = []
    started = time.monotonic()
    medians, cond = measure(OUT, repeat=RUNS, all_runs=every)
    summary = "\n".join([*(f"- {k}: {v}" for k, v in cond.items()), table(medians),
                         f"({len(every)} runs in {time.monotonic() - started:.0f} s)"])
    (OUT / "summary.md").write_text(summary + "\n")
    print(summary)
    return medians, every


def test_every_run_is_accessible_and_follows_best_practices(lighthouse: tuple[list[Result], list[Result]]) -> None:
    _, every = lighthouse
    misses = [f"{r.page.title}: {cat} {r.scores[cat]} ({', '.join(r.failing[cat])}; {r.report.relative_to(REPO)})"
              for r in every for cat in ("accessibility", "best-practices") if r.scores[cat] < TARGETS[cat]]
    assert not misses, "\n".join(misses)


def test_no_web_font_is_requested(lighthouse: tuple[list[Result], list[Result]]) -> None:
    _, every = lighthouse
    fonts = {url for r in every for url in r.font_requests}
    assert not fonts, f"web fonts requested: {sorted(fonts)}"


def test_the_verification_page_loads_no_script(lighthouse: tuple[list[Result], list[Result]]) -> None:
    medians, _ = lighthouse
    verify = next(r for r in medians if r.page.name == "verify")
    assert verify.scripts == [], f"the verification page fetched {verify.scripts} ({verify.script_bytes} bytes)"
