"""Reads about one job or one dead letter, for `jobq explain`, `jobq job show` and `jobq dlq`."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from jobq import records
from jobq.broker.factrows import DeadRow, JobRow, PendingRow
from jobq.broker.link import Link
from jobq.broker.rows import GroupRow
from jobq.flow import DEFAULT_PRIORITY
from jobq.keys import GROUP


class JobReads(Link):
    """Bounded reads of one job's record, entry, outcome and dead-letter entry."""

    def dead_entries(
        self, queue: str, start: str = "-", count: int = 100
    ) -> list[tuple[str, dict[str, str]]]:
        with self._errors():
            found: Any = self.client.xrange(self.ns.queue(queue).dead, start, "+", count=count)
        return list(found)

    def dead_entry_of(self, queue: str, job_id: str) -> tuple[str, dict[str, str]] | None:
        k = self.ns.queue(queue)
        with self._errors():
            dead_id: Any = self.client.hget(k.dead_index, job_id)
            if not dead_id:
                return None
            found: Any = self.client.xrange(k.dead, dead_id, dead_id, count=1)
        return (found[0][0], found[0][1]) if found else None

    def dead_last_id(self, queue: str) -> str | None:
        """The id of the newest dead-letter entry (None: the stream is empty)."""
        with self._errors():
            found: Any = self.client.xrevrange(self.ns.queue(queue).dead, "+", "-", count=1)
        return str(found[0][0]) if found else None

    def job_facts(self, queue: str, job_id: str, ahead_limit: int = 1000) -> JobRow:
        """Everything Redis knows about one job, for `jobq explain` / `jobq job show`.

        Bounded reads only: counting the jobs queued ahead stops past `ahead_limit`.
        """
        k = self.ns.queue(queue)
        with self._errors():
            pipe = self.client.pipeline(transaction=False)
            pipe.time()
            pipe.hget(k.jobs, job_id)
            pipe.get(k.result(job_id))
            pipe.ttl(k.result(job_id))
            pipe.hget(k.delayed, job_id)
            pipe.hget(k.dead_index, job_id)
            pipe.get(k.progress(job_id))
            pipe.xinfo_groups(k.stream)
            replies = pipe.execute(raise_on_error=False)
            now, record, outcome, ttl, delayed, dead_id, progress, groups = replies
            for reply in (now, record, outcome, ttl, delayed, dead_id, progress):
                if isinstance(reply, Exception):
                    raise reply
            dead = self.dead_entry_of(queue, job_id) if dead_id else None
            row = JobRow(
                time=float(now[0]) + now[1] / 1e6,
                record=record,
                outcome=outcome,
                result_ttl=int(ttl),
                delayed=delayed,
                dead=DeadRow(*dead) if dead else None,
                progress=progress,
            )
            if record and record[0] in "QX":
                level, stream_id = records.level_of(record[1:])
                if level != DEFAULT_PRIORITY:  # a queued job of another level: its stream's group
                    groups = self.client.xinfo_groups(k.level_stream(level))
                group = GroupRow.find(groups)
                row = self._in_stream(k.level_stream(level), row, stream_id, group, ahead_limit)
        return row

    def _in_stream(
        self, stream: str, row: JobRow, stream_id: str, group: GroupRow | None, ahead_limit: int
    ) -> JobRow:
        """`row` with the job's stream entry, its pending entry if delivered, else the count
        of undelivered entries ahead of it, and the heartbeat of the worker holding it."""
        last = group.last_delivered_id if group else "0-0"
        pipe = self.client.pipeline(transaction=False)
        pipe.xrange(stream, stream_id, stream_id, count=1)
        pipe.xpending_range(stream, GROUP, min=stream_id, max=stream_id, count=1)
        pipe.xrange(stream, f"({last}", f"({stream_id}", count=ahead_limit + 1)
        entry, pending, ahead = pipe.execute(raise_on_error=False)
        if isinstance(entry, Exception):
            raise entry
        p = pending[0] if isinstance(pending, list) and pending else None
        worker: dict[str, str] = {}
        if p is not None:
            found: Any = self.client.hgetall(self.ns.worker(str(p["consumer"])))
            worker = dict(found)
        return replace(
            row,
            entry=dict(entry[0][1]) if entry else None,
            pending=_pending(p),
            ahead=None if p is not None or isinstance(ahead, Exception) else len(ahead),
            worker=worker,
        )


def _pending(p: Any) -> PendingRow | None:
    if p is None:
        return None
    return PendingRow(str(p["consumer"]), int(p["time_since_delivered"]), int(p["times_delivered"]))
