"""Read-only reads for jobq.stats, the dashboard, metrics and `jobq cron list`, over
redis-py (the snapshot itself: jobq.broker.snapshot)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jobq.broker.factrows import CronRow
from jobq.broker.link import Link
from jobq.broker.snapshot import SnapshotReads


class Reads(Link, SnapshotReads):
    """What stats, the dashboard and metrics read: queues, workers, counters (SnapshotReads,
    over redis-py's client here), server time, cron states."""

    def server_time(self) -> float:
        with self._errors():
            sec, usec = self.client.time()
        return float(sec) + usec / 1e6

    def cron_states(self, entries: Sequence[tuple[str, str]]) -> list[CronRow]:
        """The stored state of each (queue, entry name), in one pipelined round trip."""
        if not entries:
            return []
        with self._errors():
            pipe = self.client.pipeline(transaction=False)
            for queue, name in entries:
                pipe.hgetall(self.ns.queue(queue).cron(name))
            replies: list[Any] = pipe.execute()
        return [CronRow.of(r) for r in replies]
