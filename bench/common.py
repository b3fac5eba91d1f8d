"""Shared helpers: timing, percentiles, memory, and the BENCHMARKS.md section writer."""

from __future__ import annotations

import os
import re
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "BENCHMARKS.md"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Milliseconds per call over `repeat` calls."""
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def summary_ms(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 0.5):.1f} ms, p95 {percentile(values, 0.95):.1f} ms "
        f"(mean {statistics.fmean(values):.1f}, n={len(values)})"
    )


def rss_mb() -> float:
    """Current resident set size in MB (Linux /proc)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_section(name: str, body: str) -> None:
    """Replace (or append) the `## name` section of BENCHMARKS.md."""
    text = REPORT.read_text(encoding="utf-8") if REPORT.exists() else _HEADER
    section = f"## {name}\n\n{body.strip()}\n\n"
    pattern = re.compile(rf"^## {re.escape(name)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text + section
    REPORT.write_text(text, encoding="utf-8")


def machine() -> str:
    return f"{os.cpu_count()} CPU cores, {time.strftime('%Y-%m-%d')}"


_HEADER = """# Benchmarks

Produced by `make bench` (which runs `python -m bench`); each section names the command that
wrote it and the date. Timings are wall-clock on the development machine (2 cores, no GPU).
They are measurements, not test assertions.

"""
