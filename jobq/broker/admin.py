"""What an operator does to a namespace: replay or purge dead letters, purge waiting jobs,
and delete a whole namespace (the demo and jobq.testing, on namespaces they made)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jobq import protocol, records
from jobq.broker.link import Link
from jobq.broker.rows import GroupRow
from jobq.flow import DEFAULT_PRIORITY
from jobq.keys import QueueKeys


class Admin(Link):
    """Requeue and purge; every call here removes or moves jobs."""

    def requeue_dead(self, queue: str, items: Sequence[tuple[str, str, str]]) -> list[int]:
        """Per item: 1 requeued, 0 gone from the dead-letter stream, 2 removed as stale."""
        with self._errors():
            reply = self._run("requeue_dead", protocol.requeue_dead(self.ns.queue(queue), items))
        return [int(x) for x in reply]

    def purge_dead(self, queue: str) -> int:
        k = self.ns.queue(queue)
        with self._errors():
            pipe = self.client.pipeline(transaction=False)
            pipe.xlen(k.dead)
            pipe.delete(k.dead, k.dead_index)
            count, _ = pipe.execute()
        return int(count)

    def purge_waiting(self, queue: str, limit: int, ttl: int, blob: str) -> tuple[int, int]:
        """One bounded batch per priority level: list up to `limit` undelivered entries of
        each level's stream (and scheduled jobs), then purge.lua removes those still
        waiting. Returns (entries removed, scheduled removed)."""
        k = self.ns.queue(queue)
        with self._errors():
            levels = sorted((int(x) for x in self.client.smembers(k.levels)), reverse=True)
            queued, moved = self._purge_level(k, DEFAULT_PRIORITY, limit, ttl, blob)
            for level in levels:
                queued += self._purge_level(k, level, limit, ttl, blob)[0]
        return queued, moved

    def _purge_level(self, k: QueueKeys, level: int, limit: int, ttl: int, blob: str) -> tuple[int, int]:
        """Scheduled jobs go with the default level's batch (they are on no stream yet)."""
        stream = k.level_stream(level)
        pipe = self.client.pipeline(transaction=False)
        pipe.xinfo_groups(stream)
        if level == DEFAULT_PRIORITY:
            pipe.zrange(k.scheduled, 0, limit - 1)
        groups, *found = pipe.execute(raise_on_error=False)
        scheduled = found[0] if found else []
        if isinstance(scheduled, Exception):
            raise scheduled
        group = GroupRow.find(groups)
        last = group.last_delivered_id if group else "0-0"
        entries: Any = self.client.xrange(stream, f"({last}", "+", count=limit)
        batch = protocol.PurgeBatch(
            [(str(sid), protocol.claimed_id(f.get(records.ENTRY_ENVELOPE))) for sid, f in entries],
            [str(job_id) for job_id in scheduled],
            level,
        )
        if not batch.queued and not batch.scheduled:
            return 0, 0
        queued, moved = self._run("purge", protocol.purge(k, batch, ttl, blob))
        return int(queued), int(moved)

    def delete_namespace(self, batch: int = 500) -> int:
        """Delete every key of this namespace (SCAN MATCH, UNLINK in batches); returns the count.

        Used by `jobq demo` and jobq.testing to leave nothing behind in a namespace they
        made for themselves; never on a namespace that holds real work.
        """
        pattern = _glob_escape(self.config.namespace) + ":*"
        deleted = 0
        with self._errors():
            keys: list[str] = []
            for key in self.client.scan_iter(match=pattern, count=batch):
                keys.append(key)
                if len(keys) >= batch:
                    deleted += int(self.client.unlink(*keys))
                    keys.clear()
            if keys:
                deleted += int(self.client.unlink(*keys))
        self._forget_queues()
        return deleted


def _glob_escape(text: str) -> str:
    """`text` as a literal inside a Redis glob pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
