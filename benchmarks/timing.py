"""Timing and memory helpers shared by the benchmark tables.

Implementations compared in one table row are timed *interleaved* (a, b, c,
a, b, c, ...), so a burst of load from other processes hits all of them alike;
each reports the median of its repeats with the min and max.
"""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from dataclasses import dataclass
from typing import Callable


@dataclass
class Timing:
    """Median, min and max of repeated runs, in seconds."""

    median: float
    low: float
    high: float

    def ms(self) -> str:
        return f"{self.median * 1e3:.2f} ({self.low * 1e3:.2f}–{self.high * 1e3:.2f})"

    def us(self, per: int = 1) -> str:
        scale = 1e6 / per
        return f"{self.median * scale:.2f} ({self.low * scale:.2f}–{self.high * scale:.2f})"


def interleaved(fns: dict[str, Callable[[], object]], repeats: int, warmup: int = 1) -> dict[str, Timing]:
    """Time every function `repeats` times, taking turns; one untimed warm-up call each first."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    samples = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return {name: Timing(statistics.median(s), min(s), max(s)) for name, s in samples.items()}


def ratio(a: Timing, b: Timing) -> str:
    return f"{a.median / b.median:.2f}x"


def traced_bytes(fn: Callable[[], object]) -> tuple[int, int, object]:
    """(bytes still held by what fn returned, peak bytes while fn ran, fn's result), by tracemalloc.

    numpy reports its array buffers to tracemalloc, so this counts arrays and
    Python objects alike. The baseline is whatever was allocated before the call.
    """
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = fn()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return current - base, peak - base, result


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table (it reads fine in a terminal and pastes into docs)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
