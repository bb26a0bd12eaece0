"""What the dashboard shows, computed from successive snapshots (pure).

Snapshots carry running totals (processed, failed); rates and the trend sparkline are
their deltas over the last minute, kept here, so Redis is never asked for history.
"""

from __future__ import annotations

import itertools
import statistics
from collections import deque
from dataclasses import dataclass

from jobq.dashboard.format import age
from jobq.stats import QueueStats, Snapshot, WorkerStats

WINDOW_S = 60.0
TREND_BUCKETS = 30


@dataclass(frozen=True, slots=True)
class Rates:
    """Per-second rates over the window; None until two snapshots have been seen."""

    processed: float | None
    failed: float | None
    trend: tuple[float | None, ...]  # processed per second, one value per bucket, oldest first


@dataclass(frozen=True, slots=True)
class _Step:
    """Counter growth of one queue between two successive snapshots."""

    start: float
    end: float
    processed: int
    failed: int


def _growth(before: int, after: int) -> int:
    """Counter growth; a counter that went backwards was reset (Redis lost it), so it counts from 0."""
    return after - before if after >= before else after


def _spread(steps: list[_Step], lo: float, hi: float, field: str) -> float | None:
    """Events per second inside [lo, hi), sharing each step's events by time overlap."""
    events = covered = 0.0
    for s in steps:
        overlap = min(s.end, hi) - max(s.start, lo)
        if overlap > 0:
            events += getattr(s, field) * overlap / (s.end - s.start)
            covered += overlap
    return events / covered if covered > 0 else None


class History:
    """The counters of recent snapshots, turned into rates and a trend per queue."""

    def __init__(self, window_s: float = WINDOW_S, buckets: int = TREND_BUCKETS) -> None:
        self.window_s = window_s
        self.buckets = buckets
        self._samples: deque[tuple[float, dict[str, tuple[int, int]]]] = deque()

    def add(self, snap: Snapshot) -> None:
        at = snap.taken_at
        if self._samples and at <= self._samples[-1][0]:
            return  # the same or an older look: nothing new
        self._samples.append((at, {q.name: (q.processed, q.failed) for q in snap.queues}))
        while len(self._samples) > 2 and self._samples[1][0] <= at - self.window_s:
            self._samples.popleft()

    def _steps(self, queue: str) -> list[_Step]:
        steps = []
        samples = list(self._samples)
        for (t0, before), (t1, after) in itertools.pairwise(samples):
            if queue in before and queue in after:
                p0, f0 = before[queue]
                p1, f1 = after[queue]
                steps.append(_Step(t0, t1, _growth(p0, p1), _growth(f0, f1)))
        return steps

    def rates(self, queue: str) -> Rates:
        steps = self._steps(queue)
        if not steps:
            return Rates(None, None, (None,) * self.buckets)
        end = self._samples[-1][0]
        start = end - self.window_s
        width = self.window_s / self.buckets
        trend = tuple(
            _spread(steps, start + i * width, start + (i + 1) * width, "processed")
            for i in range(self.buckets)
        )
        return Rates(_spread(steps, start, end, "processed"), _spread(steps, start, end, "failed"), trend)


def merge_latency(workers: list[WorkerStats], queue: str) -> tuple[float, float] | None:
    """One queue's (p50, p95) across workers: the median p50 and the worst p95.

    Percentiles of separate windows cannot be merged exactly; these two keep the typical
    wait and never hide a slow worker.
    """
    pairs = [w.latency_ms[queue] for w in workers if queue in w.latency_ms]
    if not pairs:
        return None
    return statistics.median(p for p, _ in pairs), max(p for _, p in pairs)


@dataclass(frozen=True, slots=True)
class QueueRow:
    stats: QueueStats
    rates: Rates
    latency: tuple[float, float] | None


def queue_rows(snap: Snapshot, history: History) -> list[QueueRow]:
    return [QueueRow(q, history.rates(q.name), merge_latency(snap.workers, q.name)) for q in snap.queues]


@dataclass
class Connection:
    """What to say about Redis: live, not answering, or unreachable (and since when)."""

    last_ok: float | None = None  # monotonic time of the last good snapshot
    error: str | None = None
    failing_since: float | None = None

    def succeeded(self, at: float) -> None:
        self.last_ok, self.error, self.failing_since = at, None, None

    def failed(self, at: float, error: str) -> None:
        if self.failing_since is None:
            self.failing_since = at
        self.error = error

    def state(self, now: float, patience: float) -> tuple[str, str]:
        """("live" | "connecting" | "disconnected", detail) at monotonic time `now`."""
        if self.error is not None and self.failing_since is not None:
            return "disconnected", f"for {age(now - self.failing_since)}, retrying: {self.error}"
        if self.last_ok is None:
            return "connecting", "connecting to Redis"
        if now - self.last_ok > patience:
            return "disconnected", f"for {age(now - self.last_ok)}, retrying: Redis does not answer"
        return "live", ""
