"""What an operator does to a namespace: replay or purge dead letters, purge waiting jobs,
and delete a whole namespace (the demo and jobq.testing, on namespaces they made)."""

from __future__ import annotations

from collections.abc import Sequence

from jobq import protocol
from jobq.broker.link import Link


class Admin(Link):
    """Requeue and purge; every call here removes or moves jobs."""

    def requeue_dead(self, queue: str, items: Sequence[tuple[str, str, str]]) -> list[bool]:
        with self._errors():
            reply = self._run("requeue_dead", protocol.requeue_dead(self.ns.queue(queue), items))
        return [bool(x) for x in reply]

    def purge_dead(self, queue: str) -> int:
        k = self.ns.queue(queue)
        with self._errors():
            pipe = self.client.pipeline(transaction=False)
            pipe.xlen(k.dead)
            pipe.delete(k.dead, k.dead_index)
            count, _ = pipe.execute()
        return int(count)

    def purge_waiting(self, queue: str, limit: int, ttl: int, blob: str) -> tuple[int, int]:
        """One bounded batch of purge.lua: (undelivered entries removed, scheduled removed)."""
        with self._errors():
            queued, scheduled = self._run("purge", protocol.purge(self.ns.queue(queue), limit, ttl, blob))
        return int(queued), int(scheduled)

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
        self._known_queues.clear()
        return deleted


def _glob_escape(text: str) -> str:
    """`text` as a literal inside a Redis glob pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
