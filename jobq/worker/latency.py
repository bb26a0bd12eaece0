"""Enqueue-to-start latency over the last minute, per queue, published with heartbeats.

A stream entry id starts with the Redis time (ms) it entered the stream, so the wait of a
delayed job counts from when it became due, and no clock of a producer is involved. The
worker's clock is corrected by the offset to Redis time measured at each heartbeat.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque

from jobq.records import LEVEL_SEP

WINDOW_S = 60.0
MAX_SAMPLES = 2048


class LatencyWindow:
    def __init__(self) -> None:
        self.offset_ms = 0.0  # Redis clock minus this host's clock
        self.samples: dict[str, deque[tuple[float, float]]] = defaultdict(lambda: deque(maxlen=MAX_SAMPLES))

    def add(self, queue: str, stream_id: str, started_monotonic: float) -> None:
        # the entry's reference: "<level>/<stream id>" at a priority level but the default
        entered_ms = float(stream_id.partition("-")[0].rpartition(LEVEL_SEP)[2])
        now_ms = time.time() * 1000 + self.offset_ms
        self.samples[queue].append((started_monotonic, max(0.0, now_ms - entered_ms)))

    def percentiles(self) -> dict[str, list[float]]:
        """queue -> [p50 ms, p95 ms] over the window; queues with no recent sample are left out."""
        horizon = time.monotonic() - WINDOW_S
        out: dict[str, list[float]] = {}
        for queue, window in self.samples.items():
            values = sorted(ms for at, ms in window if at >= horizon)
            if values:
                out[queue] = [
                    round(values[int(0.5 * (len(values) - 1))], 3),
                    round(values[int(0.95 * (len(values) - 1))], 3),
                ]
        return out
