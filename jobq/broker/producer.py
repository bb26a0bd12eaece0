"""Producer calls: enqueue, and what a Job handle asks (status, cancel, wait for the result)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from jobq import protocol
from jobq.broker.connection import SOCKET_TIMEOUT_S
from jobq.broker.link import EnqueueTarget, Link
from jobq.flow import DEFAULT_PRIORITY
from jobq.keys import GROUP
from jobq.states import CancelReply

ENQUEUE_CHUNK = 500


def _run_now(jobs: Sequence[protocol.NewJob]) -> bool:
    """Jobs enqueue_now.lua takes (at the default level): due now, under ids jobq made."""
    if len(jobs) == 1:
        job = jobs[0]
        return not (job.delay_ms or job.at_ms or job.unique)
    return not any(job.delay_ms or job.at_ms or job.unique for job in jobs)


class Producer(Link):
    """Enqueue jobs and follow them by id."""

    def enqueue(self, queue: str, jobs: Sequence[protocol.NewJob]) -> list[bool]:
        """Enqueue jobs into one queue; one script call per chunk, all chunks pipelined."""
        level = jobs[0].level if jobs else DEFAULT_PRIORITY
        if len(jobs) > 1 and any(job.level != level for job in jobs):
            return self._enqueue_levels(queue, jobs)
        if len(jobs) > ENQUEUE_CHUNK:
            chunks = [jobs[start : start + ENQUEUE_CHUNK] for start in range(0, len(jobs), ENQUEUE_CHUNK)]
        else:
            chunks = [jobs]
        with self._errors():
            to = self._enqueue_targets.get((queue, level)) or self._enqueue_target(queue, level)
            if to.now is not None and _run_now(jobs):
                head = to.now
                calls = [protocol.enqueue_now(to.keys, chunk, head.keys) for chunk in chunks]
                self._scripted("enqueue_now", calls, [head.call(keys, args) for keys, args in calls])
                return [True] * len(jobs)
            head = to.later
            calls = [protocol.enqueue(to.keys, chunk, level, head.keys) for chunk in chunks]
            replies = self._scripted("enqueue", calls, [head.call(keys, args) for keys, args in calls])
        return [bool(x) for reply in replies for x in reply]

    def _enqueue_target(self, queue: str, level: int) -> EnqueueTarget:
        """A queue's keys and packed script heads at a level, made at its first enqueue."""
        if queue not in self._known_queues:
            self._register_queue(queue)
        k = self.ns.queue(queue)
        later = self._script_head("enqueue", protocol.enqueue(k, (), level)[0])
        now = (
            self._script_head("enqueue_now", protocol.enqueue_now(k, ())[0])
            if level == DEFAULT_PRIORITY
            else None
        )
        target = self._enqueue_targets[queue, level] = EnqueueTarget(k, later, now)
        return target

    def _enqueue_levels(self, queue: str, jobs: Sequence[protocol.NewJob]) -> list[bool]:
        """Jobs of several priority levels: one enqueue per level, flags in the given order."""
        by_level: dict[int, list[int]] = {}
        for i, job in enumerate(jobs):
            by_level.setdefault(job.level, []).append(i)
        flags = [False] * len(jobs)
        for indexes in by_level.values():
            for i, flag in zip(indexes, self.enqueue(queue, [jobs[i] for i in indexes]), strict=True):
                flags[i] = flag
        return flags

    def _register_queue(self, queue: str) -> None:
        """Once per process and queue: list the queue, and create its consumer group (at 0)
        so the group exists even if Redis fills up before the first worker starts."""
        pipe = self.client.pipeline(transaction=False)
        pipe.sadd(self.ns.queues, queue)
        pipe.xgroup_create(self.ns.queue(queue).stream, GROUP, id="0", mkstream=True)
        for reply in pipe.execute(raise_on_error=False):
            if isinstance(reply, Exception) and "BUSYGROUP" not in str(reply):
                raise reply
        self._known_queues.add(queue)

    def status(self, queue: str, job_id: str) -> tuple[str, str] | None:
        with self._errors():
            reply = self._run("status", protocol.status(self.ns.queue(queue), job_id))
        return (reply[0], reply[1]) if reply else None

    def find_queue(self, job_id: str, candidates: Sequence[str]) -> str | None:
        """Which queue knows this job id: its unfinished record or its stored outcome."""
        with self._errors():
            stored = [str(q) for q in self.client.smembers(self.ns.queues)]
            names = list(dict.fromkeys([*candidates, *sorted(stored)]))
            pipe = self.client.pipeline(transaction=False)
            for name in names:
                k = self.ns.queue(name)
                pipe.hexists(k.jobs, job_id)
                pipe.exists(k.result(job_id))
                pipe.hexists(k.dead_index, job_id)
            flags = pipe.execute()
        for i, name in enumerate(names):
            if any(flags[3 * i : 3 * i + 3]):
                return name
        return None

    def progress(self, queue: str, job_id: str) -> str | None:
        with self._errors():
            found: Any = self.client.get(self.ns.queue(queue).progress(job_id))
        return None if found is None else str(found)

    def cancel(self, queue: str, job_id: str, ttl: int, blob: str) -> CancelReply:
        with self._errors():
            reply = self._run("cancel", protocol.cancel(self.ns.queue(queue), job_id, ttl, blob))
        return CancelReply.of(reply)

    def wait_result(self, queue: str, job_id: str, timeout: float | None) -> str | None:
        """Block until the job has a stored outcome, or the timeout passes (None: forever).

        The caller registers as a waiter first, so the settle script wakes it with a push;
        the stored outcome is checked after registering, so a finish in between is seen.
        """
        k = self.ns.queue(queue)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._errors():
            self.client.hincrby(k.waiters, job_id, 1)
            try:
                while True:
                    blob: Any = self.client.get(k.result(job_id))
                    if blob is not None:
                        return str(blob)
                    if not self.client.hexists(k.jobs, job_id):
                        late: Any = self.client.get(k.result(job_id))
                        return None if late is None else str(late)
                    left = 5.0 if deadline is None else deadline - time.monotonic()
                    if left <= 0:
                        return None
                    wait = min(max(left, 0.01), SOCKET_TIMEOUT_S / 2)
                    self.client.blpop([k.notify(job_id)], timeout=wait)
            finally:
                if self.client.hincrby(k.waiters, job_id, -1) <= 0:
                    self.client.hdel(k.waiters, job_id)
