"""What the benchmarks share: the options, which core serves and which generates load, the production set-up
and what the seeding produced, the figures later benchmarks compare with, and one measured HTTP run."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

from bench.loadgen import LoadResult, run_get
from bench.production import Person, Production
from bench.system import Window, affinity, observe
from tests.support.stack import Stack


@dataclass
class Context:
    args: argparse.Namespace
    server_cpu: int
    load_cpu: int
    production: Production
    logs: Path
    b1: Person | None = None  # 20 applications with timelines, some with certificates
    b3: Person | None = None  # certificates to reissue while B2 runs
    uploaders: list[Person] = field(default_factory=list)
    verify_path: str = ""
    bff_pid: int = 0
    bff_default: bool = True  # the BFF runs as B1–B4 expect: one worker pinned to the server core
    hello_rps: float = float("nan")
    verify_rps: float = float("nan")
    verify_run: tuple[LoadResult, Window] | None = None

    def default_bff(self) -> None:
        """One worker pinned to the server core, relay on, production intervals (restarted if B5 changed it)."""
        if not self.bff_default:
            self.bff_pid = self.production.restart_bff({self.server_cpu})
            self.bff_default = True

    @property
    def stack(self) -> Stack:
        assert self.production.stack is not None
        return self.production.stack

    def measure_get(self, url: str, pids: list[int], cookie: str | None = None,
                    connections: int | None = None, seconds: float | None = None) -> tuple[LoadResult, Window]:
        """A warm-up, then the measured run; the generator on the load core, the servers' CPU observed."""
        conns = connections or self.args.connections
        with affinity({self.load_cpu}):
            run_get(url, conns, self.args.warmup, cookie)
            with observe(pids) as window:
                load = run_get(url, conns, seconds or self.args.duration, cookie)
        return load, window
