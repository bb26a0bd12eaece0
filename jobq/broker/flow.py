"""Flow-control calls of operators and producers: pause and resume a queue; what a job's
rate limit and concurrency cap hold (for `jobq explain`).

A pause is one key in the queue's slot holding the Redis time it began, so it outlives
worker restarts and (with AOF) Redis restarts, and every worker of the fleet reads the
same answer (see `jobq.worker.flow`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jobq.broker.link import Link
from jobq.broker.snapshot import paused_since


class FlowCalls(Link):
    """Pause and resume queues; read which are paused."""

    def pause(self, queue: str) -> bool:
        """Pause `queue`; False if it was paused already (its start time is kept)."""
        with self._errors():
            sec, usec = self.client.time()
            ms = int(sec) * 1000 + int(usec) // 1000
            return bool(self.client.set(self.ns.queue(queue).paused, ms, nx=True))

    def resume(self, queue: str) -> bool:
        """Resume `queue`; False if it was not paused."""
        with self._errors():
            return bool(self.client.delete(self.ns.queue(queue).paused))

    def paused(self, queues: Sequence[str]) -> dict[str, float | None]:
        """Queue -> Unix seconds it was paused at, or None when it runs (one round trip)."""
        with self._errors():
            pipe = self.client.pipeline(transaction=False)
            for queue in queues:
                pipe.get(self.ns.queue(queue).paused)
            replies: Any = pipe.execute() if queues else []
        return {q: paused_since(r) for q, r in zip(queues, replies, strict=True)}

    def limit_facts(
        self, queue: str, job_id: str, rate_limiter: str, cap_limiter: str
    ) -> tuple[float | None, int]:
        """(Unix s of the rate-limit slot `job_id` reserved, or None; live holders of the
        concurrency cap) for `jobq explain`."""
        k = self.ns.queue(queue)
        with self._errors():
            sec, usec = self.client.time()
            now_ms = int(sec) * 1000 + int(usec) // 1000
            pipe = self.client.pipeline(transaction=False)
            pipe.zscore(k.rate(rate_limiter), job_id)
            pipe.zcount(k.slots(cap_limiter), now_ms, "+inf")
            reserved, holders = pipe.execute()
        ahead = reserved is not None and float(reserved) > now_ms
        return (float(reserved) / 1000 if ahead else None), int(holders)
