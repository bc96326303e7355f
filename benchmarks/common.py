"""Timing and result-file helpers shared by every benchmark."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench-results.json"


def median_ms(fn: Callable[[], object], runs: int = 7, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in milliseconds over ``runs`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    mem_kb = next(int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal"))
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), "unknown CPU")
    return {"cores": os.cpu_count(), "memory_gb": round(mem_kb / 1024 / 1024, 1), "cpu": cpu}


def write_results(figures: dict[str, float], path: Path = RESULTS) -> None:
    """Merge figures into the flat JSON results file (other suites' figures are kept)."""
    current = json.loads(path.read_text()) if path.exists() else {}
    current.update({k: round(float(v), 3) for k, v in figures.items()})
    current.update({f"machine_{k}": v for k, v in machine().items()})
    path.write_text(json.dumps(dict(sorted(current.items())), indent=2) + "\n")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a whole process has used (clock ticks, 10 ms steps; ended threads included)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Window:
    """The measured interval of a crowd benchmark: it opens once every visitor has arrived.

    Page loads are not interactions: ``on_open`` runs when the last visitor is counted in (start the
    CPU counters, start counting actions), then the window stays open ``duration`` seconds.
    """

    def __init__(self, visitors: int, duration: float, on_open: Callable[[], None]):
        if visitors < 1:
            raise ValueError(f"a window needs at least 1 visitor, got {visitors}")
        self.waiting, self.duration, self.on_open = visitors, duration, on_open
        self.opened = asyncio.Event()
        self.deadline = float("inf")  # not open yet: nobody's loop stops before it opens

    def arrived(self) -> None:
        """Count a visitor in (it may carry on at once or wait for ``opened``); the last one opens the window."""
        self.waiting -= 1
        if self.waiting == 0:
            self.on_open()
            self.deadline = time.monotonic() + self.duration
            self.opened.set()

    def open(self) -> bool:
        """True until the window's time is up (and before it has opened)."""
        return time.monotonic() < self.deadline
