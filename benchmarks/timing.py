"""Timing helpers for worker processes: timed calls, percentiles, peak RSS."""
from __future__ import annotations

import resource
import time
from collections.abc import Callable, Sequence

import numpy as np


def timed_calls(fn: Callable[[list[str]], object], texts: list[str], call: int | None) -> tuple[float, list[float]]:
    """Run ``fn`` over ``texts`` in calls of ``call`` texts (one call if None); the total
    seconds and each call's latency in ms."""
    size = call or len(texts)
    latencies = []
    start = time.perf_counter()
    for i in range(0, len(texts), size):
        t = time.perf_counter()
        fn(texts[i : i + size])
        latencies.append((time.perf_counter() - t) * 1000)
    return time.perf_counter() - start, latencies


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile, None for fewer than two values (one call has no spread)."""
    return float(np.percentile(values, q)) if len(values) > 1 else None


def peak_rss_mb() -> float:
    """This process's peak resident set size (Linux ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
