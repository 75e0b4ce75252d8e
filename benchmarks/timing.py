"""Timing and memory helpers shared by the benchmark tables.

Implementations compared in one table row are timed *interleaved* (a, b, c,
a, b, c, ...), so a burst of load from other processes hits all of them alike;
each reports the median of its repeats with the min and max.
"""

from __future__ import annotations

import ctypes
import gc
import math
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


def keep_freed_memory() -> str:
    """Ask glibc's malloc to keep the memory a step frees, for every implementation alike; says what it did.

    By default glibc hands freed memory back to the system once enough of it
    sits at the top of the heap, and memory fetched afresh costs a page fault
    per 4 KiB page on first touch (about 2 µs on this machine). Whether a step
    pays them depends on what ran before it and in which order it freed its
    arrays: timed interleaved with glibc's defaults, the op-level RNN (128, 32)
    float32 step measured 1.19x the hand-written one; with freed memory kept,
    1.3-1.4x. Keeping freed memory (no trimming; arrays up to 32 MiB from the
    heap) makes every implementation run fault-free once warmed up, so the
    table compares the work each does. `MALLOC_TRIM_THRESHOLD_` and
    `MALLOC_MMAP_THRESHOLD_` in the environment do the same for any program.
    """
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return "system allocator (not glibc: left as it is)"
    m_trim_threshold, m_mmap_threshold = -1, -3
    kept = [name for name, param, value in (("trim threshold 1 GiB", m_trim_threshold, 1 << 30),
                                            ("mmap threshold 32 MiB", m_mmap_threshold, 1 << 25))
            if mallopt(param, value) == 1]
    if not kept:
        return "glibc malloc left as it is (mallopt refused the settings)"
    return f"glibc malloc keeps freed memory ({', '.join(kept)})"


def interleaved(fns: dict[str, Callable[[], object]], repeats: int, warmup: int = 1,
                min_seconds: float = 1.0, max_repeats: int = 200) -> dict[str, Timing]:
    """Time every function at least `repeats` times, taking turns, after `warmup` calls each (not samples).

    Fast functions get more turns, up to `max_repeats`: enough that the turns
    last about `min_seconds` in all, judged from the warm-up calls. On a shared machine a burst of load lasts
    tens of milliseconds; seven turns of a 2 ms step fit inside one burst and
    then the median is the burst's, not the step's.
    """
    cycle = 0.0                                     # one turn of every function, from the warm-up calls
    for fn in fns.values():
        cycle += min(_seconds(fn) for _ in range(max(1, warmup)))
    if cycle > 0:
        repeats = max(repeats, min(max_repeats, math.ceil(min_seconds / cycle)))
    samples = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            samples[name].append(_seconds(fn))
    return {name: Timing(statistics.median(s), min(s), max(s)) for name, s in samples.items()}


def _seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


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
