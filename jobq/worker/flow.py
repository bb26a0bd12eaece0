"""The last check before a held entry starts: is its queue paused, has the job expired?

Pauses are read from Redis by the worker's maintenance loop (every `PAUSE_CHECK_S`), so a
pause reaches every live worker before `App.pause` returns; an entry fetched before its
worker learned of the pause is released (back on its queue, no attempt counted), not started.
An expired job is settled as "expired" (stored outcome, counter) and never run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import structlog

from jobq import records
from jobq.protocol import Settlement
from jobq.states import JobStatus, SettleOp
from jobq.worker.held import Held

log = structlog.get_logger("jobq.worker")

EXPIRED_BLOB = records.outcome_blob(JobStatus.EXPIRED, error="expired before it started", reason="expired")

Settle = Callable[[str, Settlement, dict[str, int]], None]
Clock = Callable[[], float]


class Paused(Protocol):
    paused: frozenset[str]


def expired_settlement(h: Held) -> Settlement:
    """Close the job as expired: its outcome is stored, the entry acked, nothing dead-lettered."""
    ttl = h.task.options.result_ttl
    return Settlement(SettleOp.EXPIRE, h.stream_id, h.env.id, ttl, EXPIRED_BLOB, link=h.env.workflow)


class Gate:
    """Decides, for each held entry about to start, whether it may."""

    def __init__(
        self, settle: Settle, release: Callable[[Held], Settlement], clock: Clock, paused: Paused
    ) -> None:
        self.settle = settle
        self.release = release
        self.clock = clock  # Unix seconds on Redis time (the worker's corrected clock)
        self.paused = paused  # the queues paused now

    def may_start(self, h: Held) -> bool:
        """True: start it. False: it was handed to the settler (released or expired)."""
        paused = self.paused.paused
        if paused and h.queue in paused:
            h.finish()  # on its way back: shutdown must not release it again
            self.settle(h.queue, self.release(h), {})
            log.info("job.released_paused", job_id=h.env.id, task=h.env.task, queue=h.queue)
            return False
        expires = h.env.expires
        if expires is not None and self.clock() >= expires:
            h.finish()
            counts = {records.EXPIRED: 1, f"{records.EXPIRED}:{h.env.task}": 1}
            self.settle(h.queue, expired_settlement(h), counts)
            log.info("job.expired", job_id=h.env.id, task=h.env.task, queue=h.queue, expires=expires)
            return False
        return True
