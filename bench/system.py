"""What the machine is and what a process uses: conditions for the report, CPU pinning, CPU time and memory of a
server's whole process tree (uvicorn's master and its workers), and how busy each core was during a run."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


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
    names = ("litestar", "uvicorn", "uvloop", "httptools", "SQLAlchemy", "asyncpg", "redis", "pyhanko", "reportlab",
             "Pillow", "pypdf")
    found = []
    for name in names:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found.append(f"{name} {importlib.metadata.version(name)}")
    return ", ".join(found)


def tool_version(args: list[str]) -> str:
    if shutil.which(args[0]) is None:
        return "not installed"
    done = subprocess.run(args, capture_output=True, text=True, check=False, timeout=10)
    first = (done.stdout or done.stderr).strip().splitlines()
    return first[0] if first else "installed"


@contextlib.contextmanager
def affinity(cpus: set[int] | None) -> Iterator[None]:
    """Run (and start children) on ``cpus`` only, as ``taskset -c`` does; None: all CPUs."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus if cpus is not None else set(range(os.cpu_count() or 1)))
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def pin(pid: int, cpus: set[int]) -> None:
    """Pins a running process and all its threads and children."""
    for each in tree(pid):
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{each}/task"):
                with contextlib.suppress(OSError):
                    os.sched_setaffinity(int(task), cpus)


def cpus_allowed(pid: int) -> str:
    return _status_field(pid, "Cpus_allowed_list") or "?"


def _status_field(pid: int, name: str) -> str | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].strip()
    return None


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants (uvicorn's workers are children of its master)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{current}/task"):
                with contextlib.suppress(OSError):
                    todo += [int(c) for c in Path(f"/proc/{current}/task/{task}/children").read_text().split()]
    return found


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process tree (all threads, live children), in seconds."""
    total = 0.0
    for each in tree(pid):
        with contextlib.suppress(OSError, IndexError):
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident memory of a process tree, MB (VmRSS summed)."""
    total = 0
    for each in tree(pid):
        value = _status_field(each, "VmRSS")
        if value:
            total += int(value.split()[0])
    return total / 1024


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


@dataclass
class Window:
    """What happened during a run: wall time, the servers' CPU time, and how busy each core was (all processes)."""

    wall_s: float = 0.0
    server_cpu_s: float = 0.0
    core_busy: dict[int, float] | None = None

    def server_share(self) -> float:
        """The servers' CPU time as a share of one core over the run."""
        return self.server_cpu_s / self.wall_s if self.wall_s else float("nan")

    def busy(self, core: int) -> float:
        return (self.core_busy or {}).get(core, float("nan"))


@contextlib.contextmanager
def observe(pids: list[int]) -> Iterator[Window]:
    window = Window()
    ticks, before, started = core_ticks(), sum(cpu_seconds(p) for p in pids), time.monotonic()
    yield window
    window.wall_s = time.monotonic() - started
    window.server_cpu_s = sum(cpu_seconds(p) for p in pids) - before
    after = core_ticks()
    window.core_busy = {core: (after[core][0] - ticks[core][0]) / (after[core][1] - ticks[core][1])
                        for core in ticks if core in after and after[core][1] > ticks[core][1]}
