"""Read-only snapshot reads for jobq.stats, the dashboard and metrics.

Three pipelined round trips whatever the number of queues, every command O(1) or
O(log N) (never KEYS, SCAN or XINFO FULL).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jobq import protocol, startfail
from jobq.broker.link import Link


class Reads(Link):
    """What stats, the dashboard and metrics read: queues, workers, counters, cron states."""

    def known_queues(self) -> list[str]:
        with self._errors():
            return sorted(str(q) for q in self.client.smembers(self.ns.queues))

    def server_time(self) -> float:
        with self._errors():
            sec, usec = self.client.time()
        return float(sec) + usec / 1e6

    def start_failures(self, now: float) -> list[startfail.StartFailure]:
        """Pools whose worker processes fail to start, newest first (see jobq.startfail)."""
        with self._errors():
            return startfail.read(self.client, self.ns, now)

    def snapshot_raw(self, queues: Sequence[str] | None, max_workers: int = 1000) -> dict[str, Any]:
        """Raw replies for a stats snapshot of `queues` (None: every queue in ns:queues).

        Returns {"time": Redis time s, "queues": [{name, length, group, scheduled, dead,
        counters, oldest_id}], "workers": [(id, last beat ms, hash)]}; `group` is the
        consumer group's XINFO GROUPS entry or None when the group does not exist yet.
        """
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
            self._oldest_ids(rows)
        sec, usec = first[0]
        workers = [(w, ms, h) for (w, ms), h in zip(beats, hashes, strict=True) if h]
        return {"time": float(sec) + usec / 1e6, "queues": rows, "workers": workers}

    def _queue_rows(self, names: Sequence[str]) -> list[dict[str, Any]]:
        pipe = self.client.pipeline(transaction=False)
        for name in names:
            k = self.ns.queue(name)
            pipe.xlen(k.stream)
            pipe.xinfo_groups(k.stream)
            pipe.zcard(k.scheduled)
            pipe.xlen(k.dead)
            pipe.hgetall(k.counters)
        replies: Any = pipe.execute(raise_on_error=False)
        rows = []
        for i, name in enumerate(names):
            length, groups, scheduled, dead, counters = replies[5 * i : 5 * i + 5]
            for reply in (length, scheduled, dead, counters):
                if isinstance(reply, Exception):
                    raise reply
            group = None
            if not isinstance(groups, Exception):  # "no such key": the stream does not exist yet
                group = protocol.our_group(groups)
            rows.append(
                {
                    "name": name,
                    "length": int(length),
                    "group": group,
                    "scheduled": int(scheduled),
                    "dead": int(dead),
                    "counters": dict(counters),
                    "oldest_id": None,
                }
            )
        return rows

    def _oldest_ids(self, rows: list[dict[str, Any]]) -> None:
        """Fill each row's `oldest_id`: the first entry not yet delivered to the group."""
        pipe = self.client.pipeline(transaction=False)
        for row in rows:
            group = row["group"]
            last = str(group.get("last-delivered-id", "0-0")) if group else "0-0"
            pipe.xrange(self.ns.queue(row["name"]).stream, f"({last}", "+", count=1)
        found: Any = pipe.execute()
        for row, entries in zip(rows, found, strict=True):
            row["oldest_id"] = str(entries[0][0]) if entries else None

    def _worker_hashes(self, ids: Sequence[str]) -> list[dict[str, str]]:
        pipe = self.client.pipeline(transaction=False)
        for worker_id in ids:
            pipe.hgetall(self.ns.worker(worker_id))
        return [dict(h) for h in pipe.execute()] if ids else []

    def cron_states(self, entries: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
        """The state hash of each (queue, entry name), in one pipelined round trip."""
        if not entries:
            return []
        with self._errors():
            pipe = self.client.pipeline(transaction=False)
            for queue, name in entries:
                pipe.hgetall(self.ns.queue(queue).cron(name))
            replies: list[Any] = pipe.execute()
        return [dict(r) for r in replies]
