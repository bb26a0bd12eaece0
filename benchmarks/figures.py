"""Small pure helpers for turning runs into figures."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence


def median(values: Iterable[float | None]) -> float | None:
    """Median of the values that are present; None when there are none."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..1) of an already sorted sequence."""
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


RAW_SINGLE, RAW_PIPELINED = "raw XADD", "raw XADD pipelined"  # W1's floors (benchmarks.enqueue)


def floor_of(variant: str) -> str:
    """The raw variant a W1 variant is compared against: batches against pipelined XADDs."""
    return RAW_PIPELINED if variant.startswith(("delay_many", RAW_PIPELINED)) else RAW_SINGLE
