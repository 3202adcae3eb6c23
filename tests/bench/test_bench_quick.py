"""The benchmark harness still runs: ``python -m bench --quick`` on the production set-up (real PostgreSQL,
Redis, sandboxes and BFF processes) and its summary has every benchmark of issue 6 with a figure."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.support.stack import REPO

KEYS = ("B0", "B1", "B2", "B3", "B4", "B5", "B6")


def summary_rows(output: str) -> dict[str, list[str]]:
    """The summary table's "measured" cells by benchmark."""
    table = output.split("### Summary", 1)[1].split("###", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0] in KEYS:
            rows.setdefault(cells[0], []).append(cells[2])
    return rows


def test_quick_run_reports_every_benchmark_with_numbers() -> None:
    done = subprocess.run([sys.executable, "-m", "bench", "--quick"], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    rows = summary_rows(done.stdout)
    assert set(rows) == set(KEYS), rows
    for key, cells in rows.items():
        for cell in cells:  # a benchmark that failed says "error: …" instead of its figures
            assert re.search(r"\d", cell) and not cell.startswith("error:"), (key, cell)
