"""One log line when Redis goes away and one when it is back, not a line per failed call;
what a worker does when Redis refuses a call."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog

from jobq.broker import AsyncBroker
from jobq.errors import BrokerError, BrokerGroupMissing, BrokerOutOfMemory, BrokerRefused

log = structlog.get_logger("jobq.worker")

BACKOFF_MIN = 0.1
BACKOFF_MAX = 5.0
RELAPSE_S = 5.0


class Outage:
    """Tracks whether Redis is reachable; hands out a capped, growing backoff while not.

    One per worker process, shared by its fetch, settle and maintenance loops, so an
    outage is one warning and one recovery line per process."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.delay = BACKOFF_MIN
        self.recovered_at = -RELAPSE_S
        self.announced = False

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, error: BaseException, **fields: Any) -> float:
        """Record a failed call; returns how long to wait before the next try.

        Stale pooled connections fail one by one just after a recovery; a failure within
        RELAPSE_S of the last recovery belongs to the same outage and is not announced.
        """
        now = time.monotonic()
        if self.since is None:
            self.since = now
            self.delay = BACKOFF_MIN
            if now - self.recovered_at >= RELAPSE_S:
                self.announced = True
                log.warning("redis.unavailable", error=str(error), **fields)
        else:
            self.delay = min(BACKOFF_MAX, self.delay * 2)
        return self.delay

    def ok(self) -> None:
        if self.since is not None:
            now = time.monotonic()
            if self.announced:
                log.info("redis.reconnected", down_s=round(now - self.since, 2))
            self.since, self.announced, self.recovered_at = None, False, now


class Notices:
    """Warnings that would repeat on every loop turn, logged at most once per period each."""

    def __init__(self, period_s: float = 60.0) -> None:
        self.period_s = period_s
        self.last: dict[str, float] = {}

    def warn(self, event: str, **fields: Any) -> None:
        now = time.monotonic()
        if now - self.last.get(event, -self.period_s) >= self.period_s:
            self.last[event] = now
            log.warning(event, **fields)


async def answer_refusal(
    exc: BrokerRefused, broker: AsyncBroker, queues: list[str], outage: Outage, notices: Notices
) -> None:
    """Redis answered with an error: recreate lost groups, wait out OOM, log the rest."""
    if isinstance(exc, BrokerGroupMissing):
        log.warning("worker.group_missing", queues=queues)
        try:
            await broker.ensure_groups(queues)
        except BrokerError as again:
            await asyncio.sleep(outage.failed(again))
        return
    event = "redis.out_of_memory" if isinstance(exc, BrokerOutOfMemory) else "redis.refused"
    notices.warn(event, error=str(exc))
    await asyncio.sleep(1.0)
