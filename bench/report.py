"""The report: a summary table with one row per figure of issue 6 (B0–B6), then each benchmark's own section;
and ``--write-results``, which replaces everything below the marker line of bench/RESULTS.md with it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.loadgen import LoadResult
from bench.system import Window

MARKER = "<!-- run of record: everything below this line is written by `python -m bench --write-results` -->"


@dataclass
class Row:
    """One line of the summary: ``key`` is B0…B6 (the smoke test checks every one is there with a number)."""

    key: str
    what: str
    measured: str
    target: str = ""
    met: bool | None = None  # None: no target


@dataclass
class Section:
    key: str
    title: str
    rows: list[Row] = field(default_factory=list)
    body: list[str] = field(default_factory=list)


def f(value: float, digits: int = 1) -> str:
    if value != value or math.isinf(value):
        return "?"
    return f"{value:,.{digits}f}"


def pct(value: float) -> str:
    return "?" if value != value else f"{100 * value:.0f}%"


def verdict(met: bool | None) -> str:
    return {True: "met", False: "**NOT met**", None: ""}[met]


def summary(sections: Sequence[Section]) -> list[str]:
    out = ["| | benchmark | measured | target | |", "|---|---|---|---|---|"]
    for section in sections:
        for row in section.rows:
            out.append(f"| {row.key} | {row.what} | {row.measured} | {row.target} | {verdict(row.met)} |")
    return out


LOAD_HEADER = ("| run | generator | conns | requests | req/s | p50 ms | p95 ms | p99 ms | errors | "
               "req per server CPU-s | server CPU | CPU 0 busy | CPU 1 busy |")


def load_table_head() -> list[str]:
    return [LOAD_HEADER, "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]


def per_cpu_second(load: LoadResult, window: Window) -> float:
    return load.requests / window.server_cpu_s if window.server_cpu_s > 0 else float("nan")


def load_line(name: str, load: LoadResult, window: Window) -> str:
    return (f"| {name} | {load.tool} | {load.connections} | {load.requests:,} | {f(load.rps)} | {f(load.p50_ms, 2)} | "
            f"{f(load.p95_ms, 2)} | {f(load.p99_ms, 2)} | {load.bad} | {f(per_cpu_second(load, window))} | "
            f"{pct(window.server_share())} | {pct(window.busy(0))} | {pct(window.busy(1))} |")


LOAD_NOTE = ("errors: non-2xx answers and socket errors; req per server CPU-s: requests / the server processes' CPU "
             "seconds (utime + stime of the whole process tree), what one dedicated core would serve, the steadier "
             "figure on a shared machine; server CPU: the server's CPU time as a share of one core; CPU n busy: how "
             "busy each core was over the run, every process counted (the machine is shared).")


def write_results(path: Path, text: str) -> None:
    current = path.read_text() if path.exists() else ""
    head = current.split(MARKER, 1)[0].rstrip() if MARKER in current else current.rstrip()
    path.write_text(f"{head}\n\n{MARKER}\n\n{text.strip()}\n")
