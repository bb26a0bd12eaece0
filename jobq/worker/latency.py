"""Enqueue-to-start latency over the last minute, per queue, published with heartbeats.

A stream entry id starts with the Redis time (ms) it entered the stream, so the wait of a
delayed job counts from when it became due, and no clock of a producer is involved. The
worker's clock is corrected by the offset to Redis time measured at each heartbeat.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque

from jobq.records import level_of

WINDOW_S = 60.0
MAX_SAMPLES = 2048


class LatencyWindow:
    """Samples are kept as taken (start time, entry reference) and turned into waits only
    when a heartbeat asks: one append per job, the parsing once per heartbeat."""

    def __init__(self) -> None:
        self.offset_ms = 0.0  # Redis clock minus this host's clock
        self.samples: dict[str, deque[tuple[float, str]]] = defaultdict(lambda: deque(maxlen=MAX_SAMPLES))

    def add(self, queue: str, stream_id: str, started_monotonic: float) -> None:
        self.samples[queue].append((started_monotonic, stream_id))

    def percentiles(self) -> dict[str, list[float]]:
        """queue -> [p50 ms, p95 ms] over the window; queues with no recent sample are left out."""
        now = time.monotonic()
        horizon = now - WINDOW_S
        # a monotonic start time on Redis's clock, in ms
        to_redis_ms = (time.time() - now) * 1000 + self.offset_ms
        out: dict[str, list[float]] = {}
        for queue, window in self.samples.items():
            values = sorted(
                max(0.0, at * 1000 + to_redis_ms - entered_ms(ref)) for at, ref in window if at >= horizon
            )
            if values:
                out[queue] = [
                    round(values[int(0.5 * (len(values) - 1))], 3),
                    round(values[int(0.95 * (len(values) - 1))], 3),
                ]
        return out


def entered_ms(ref: str) -> float:
    """The Redis time (ms) an entry entered its stream, from the worker's reference to it."""
    return float(level_of(ref)[1].partition("-")[0])
