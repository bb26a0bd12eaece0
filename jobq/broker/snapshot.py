"""The reads of a stats snapshot, over any client that speaks redis-py's pipeline calls
for them: redis-py's own (jobq.broker.reads) or jobq.broker.lite's, which `jobq stats`
uses to start without importing redis-py. Nothing here imports redis.

Three pipelined round trips whatever the number of queues, every command O(1) or
O(log N) (never KEYS, SCAN or XINFO FULL). Replies come back as the typed rows of
jobq.broker.rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any

from jobq import startfail
from jobq.broker.rows import GroupRow, LevelRow, QueueRow, SnapshotRows, WorkerRow
from jobq.flow import DEFAULT_PRIORITY
from jobq.keys import NamespaceKeys


def paused_since(reply: Any) -> float | None:
    """A paused key's value (Redis ms) as Unix seconds; None when the queue runs."""
    try:
        return int(reply) / 1000.0 if reply is not None else None
    except (TypeError, ValueError):
        return 0.0  # paused, since an unknown time


class SnapshotReads:
    """What stats, the dashboard and metrics read of queues and workers. A subclass gives
    `client` (with `pipeline`, `smembers`, `zrevrange`, `zrem` as redis-py has them, replies
    decoded), `ns`, and `_errors()`, inside which a client's failure becomes a BrokerError."""

    client: Any
    ns: NamespaceKeys

    def _errors(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    def known_queues(self) -> list[str]:
        with self._errors():
            return sorted(str(q) for q in self.client.smembers(self.ns.queues))

    def start_failures(self, now: float) -> list[startfail.StartFailure]:
        """Pools whose worker processes fail to start, newest first, at most
        startfail.MAX_LISTED; index entries whose record lapsed are dropped on the way."""
        with self._errors():
            found = self.client.zrevrange(self.ns.start_failures, 0, startfail.MAX_LISTED - 1)
            pools = [str(p) for p in found]
            if not pools:
                return []
            pipe = self.client.pipeline(transaction=False)
            for pool in pools:
                pipe.hgetall(self.ns.start_failure(pool))
            hashes: list[Any] = pipe.execute()
            gone = [p for p, h in zip(pools, hashes, strict=True) if not h]
            if gone:
                self.client.zrem(self.ns.start_failures, *gone)
        return [startfail.parse(h, now) for h in hashes if h]

    def snapshot(self, queues: Sequence[str] | None, max_workers: int = 1000) -> SnapshotRows:
        """The rows of a stats snapshot of `queues` (None: every queue in ns:queues) and of
        the (at most `max_workers`) most recently seen workers that are still registered."""
        with self._errors():
            pipe = self.client.pipeline(transaction=False)
            pipe.time()
            pipe.zrevrange(self.ns.workers, 0, max_workers - 1, withscores=True)
            if queues is None:
                pipe.smembers(self.ns.queues)
            first: Any = pipe.execute()
            names = sorted(str(q) for q in first[2]) if queues is None else list(queues)
            beats = [(str(w), float(ms)) for w, ms in first[1]]
            rows = self._queue_rows(names)
            hashes = self._worker_hashes([w for w, _ in beats])
            rows = self._oldest_ids(rows)
        sec, usec = first[0]
        return SnapshotRows(
            time=float(sec) + usec / 1e6,
            queues=tuple(rows),
            workers=tuple(WorkerRow(w, ms, h) for (w, ms), h in zip(beats, hashes, strict=True) if h),
        )

    def _queue_rows(self, names: Sequence[str]) -> list[QueueRow]:
        pipe = self.client.pipeline(transaction=False)
        for name in names:
            k = self.ns.queue(name)
            pipe.xlen(k.stream)
            pipe.xinfo_groups(k.stream)
            pipe.zcard(k.scheduled)
            pipe.xlen(k.dead)
            pipe.hgetall(k.counters)
            pipe.get(k.paused)
            pipe.smembers(k.levels)
        replies: Any = pipe.execute(raise_on_error=False)
        rows = []
        for i, name in enumerate(names):
            length, groups, scheduled, dead, counters, paused, levels = replies[7 * i : 7 * i + 7]
            for reply in (length, scheduled, dead, counters, paused, levels):
                if isinstance(reply, Exception):
                    raise reply
            # XINFO GROUPS fails with "no such key" while the stream does not exist yet
            group = GroupRow.find(groups)
            row = QueueRow(name, int(length), group, int(scheduled), int(dead), dict(counters))
            used = tuple(LevelRow(int(level)) for level in sorted(levels, key=int, reverse=True))
            rows.append(replace(row, paused_since=paused_since(paused), levels=used))
        return self._level_rows(rows) if any(row.levels for row in rows) else rows

    def _level_rows(self, rows: list[QueueRow]) -> list[QueueRow]:
        """The rows with the length and group of each priority level's stream."""
        pipe = self.client.pipeline(transaction=False)
        for row in rows:
            for level in row.levels:
                stream = self.ns.queue(row.name).level_stream(level.level)
                pipe.xlen(stream)
                pipe.xinfo_groups(stream)
        replies: Any = iter(pipe.execute(raise_on_error=False))
        out = []
        for row in rows:
            levels = []
            for level in row.levels:
                length, groups = next(replies), next(replies)
                length = 0 if isinstance(length, Exception) else int(length)
                levels.append(replace(level, length=length, group=GroupRow.find(groups)))
            out.append(replace(row, levels=tuple(levels)))
        return out

    def _oldest_ids(self, rows: Sequence[QueueRow]) -> list[QueueRow]:
        """The rows with each stream's first entry not yet delivered to the group (None:
        there is none): the queue's own, and each of its priority levels'."""
        pipe = self.client.pipeline(transaction=False)
        for row in rows:
            for level, group in ((DEFAULT_PRIORITY, row.group), *((lv.level, lv.group) for lv in row.levels)):
                last = group.last_delivered_id if group else "0-0"
                pipe.xrange(self.ns.queue(row.name).level_stream(level), f"({last}", "+", count=1)
        found: Any = iter(pipe.execute())
        first = [str(entries[0][0]) if entries else None for entries in found]
        out, at = [], 0
        for row in rows:
            levels = tuple(replace(lv, oldest_id=first[at + 1 + j]) for j, lv in enumerate(row.levels))
            out.append(replace(row, oldest_id=first[at], levels=levels))
            at += 1 + len(row.levels)
        return out

    def _worker_hashes(self, ids: Sequence[str]) -> list[dict[str, str]]:
        pipe = self.client.pipeline(transaction=False)
        for worker_id in ids:
            pipe.hgetall(self.ns.worker(worker_id))
        return [dict(h) for h in pipe.execute()] if ids else []
