"""One log line when Redis goes away and one when it is back, not a line per failed call."""

from __future__ import annotations

import time
from typing import Any

import structlog

log = structlog.get_logger("jobq.worker")

BACKOFF_MIN = 0.1
BACKOFF_MAX = 5.0


class Outage:
    """Tracks whether Redis is reachable; hands out a capped, growing backoff while not.

    One per worker process, shared by its fetch, settle and maintenance loops, so an
    outage is one warning and one recovery line per process."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.delay = BACKOFF_MIN

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, error: BaseException, **fields: Any) -> float:
        """Record a failed call; returns how long to wait before the next try."""
        if self.since is None:
            self.since = time.monotonic()
            self.delay = BACKOFF_MIN
            log.warning("redis.unavailable", error=str(error), **fields)
        else:
            self.delay = min(BACKOFF_MAX, self.delay * 2)
        return self.delay

    def ok(self) -> None:
        if self.since is not None:
            log.info("redis.reconnected", down_s=round(time.monotonic() - self.since, 2))
            self.since = None
