"""Fleet-wide rate limits and concurrency caps, asked of Redis just before a job starts.

Entries of limited tasks wait here (held, their leases renewed) instead of going straight
to the runner. Everything that piles up while the event loop is busy goes to Redis in one
flow_acquire.lua call per queue: those allowed start; the others are deferred, that is
put back on the scheduled set with the wait the script computed, as the same attempt
(not a failure, not counted against retries), and their worker slot is free at once.

A concurrency slot is held under the entry's stream id with a lease: renewed here with
the entry's, freed when its settle lands, and lapsing by itself if the worker dies, so a
killed holder's slot returns within the visibility timeout. Per batch that is two extra
round trips (acquire, free), not per job.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from typing import Protocol

import structlog

from jobq import records
from jobq.broker import AsyncBroker
from jobq.errors import BrokerError
from jobq.keys import limiter_id
from jobq.protocol import Limited
from jobq.worker.held import Held
from jobq.worker.observed import watch
from jobq.worker.outage import Outage
from jobq.worker.settler import Settler
from jobq.worker.shutdown import release

log = structlog.get_logger("jobq.worker")

COUNTER = {"r": records.THROTTLED, "c": records.CAPPED}
LEAD_MS = 250  # a deferred job comes back this early (it may wait here for its slot)
MARGIN_MS = 10  # a rate window is this much longer on the Redis clock than its period, so
# the few ms between the decision and the task's first line never put one start too many
# into a window measured by the tasks themselves (costs 1 % of a per-second rate)


def limited_entry(h: Held) -> Limited:
    options = h.task.options
    rate, env = options.rate, h.env
    return Limited(
        h.stream_id,
        env.id,
        limiter_id(env.task, env.rate_key),
        rate.count if rate else 0,
        rate.period_ms + MARGIN_MS if rate else 0,
        options.concurrency or 0,
        limiter_id(env.task, env.cap_key),
    )


class Host(Protocol):
    """What the limiter needs of its worker (the `Worker`)."""

    broker: AsyncBroker
    settler: Settler
    outage: Outage
    held: dict[str, Held]

    def redis_time(self) -> float: ...

    def start_limited(self, h: Held) -> None: ...


class Limiter:
    def __init__(self, host: Host, vt: float) -> None:
        self.broker = host.broker
        self.settle = host.settler.add
        self.start = host.start_limited
        self.outage = host.outage
        self.clock = host.redis_time  # Unix s on the Redis clock, which slot leases are scored by
        self.held = host.held
        self.lease_ms = int(vt * 1000)
        self.renew_every = max(0.05, min(1.0, vt / 4))
        self.pending: dict[str, list[Held]] = defaultdict(list)
        self.holders: dict[str, tuple[str, str]] = {}  # stream id -> (queue, cap limiter)
        self.freed: list[tuple[str, str, str]] = []
        self._flushing: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()

    @property
    def closing(self) -> bool:
        return self._closed.is_set()

    def close(self) -> None:
        """Stop renewing now: the renew loop's wait ends at once, not after renew_every."""
        self._closed.set()

    def add(self, h: Held) -> None:
        """Ask Redis before `h` starts; asked together with whatever else arrives meanwhile."""
        self.pending[h.queue].append(h)
        self._schedule()

    def settled(self, stream_ids: list[str]) -> None:
        """Free the concurrency slots of entries whose settle landed."""
        for sid in stream_ids:
            held = self.holders.pop(sid, None)
            if held is not None:
                self.freed.append((*held, sid))
        if self.freed:
            self._schedule()

    def _schedule(self) -> None:
        if self._flushing is None or self._flushing.done():
            self._flushing = watch(asyncio.get_running_loop().create_task(self.flush()), "limit slots")

    async def flush(self) -> None:
        """Acquire for everything pending, free what was released; retried through outages."""
        while (self.pending or self.freed) and not self.closing:
            try:
                if self.freed:
                    freed, self.freed = self.freed, []
                    await self._free(freed)
                for queue in list(self.pending):
                    await self._acquire(queue, self.pending.pop(queue))
                self.outage.ok()
            except BrokerError as exc:
                await asyncio.sleep(self.outage.failed(exc))

    async def _free(self, freed: list[tuple[str, str, str]]) -> None:
        try:
            await self.broker.hold_slots(freed, None)
        except BrokerError:
            self.freed = freed + self.freed
            raise

    async def _acquire(self, queue: str, batch: list[Held]) -> None:
        waiting = [h for h in batch if not h.lost]
        try:
            entries = [limited_entry(h) for h in waiting]
            verdicts = await self.broker.acquire(queue, entries, self.lease_ms, LEAD_MS)
        except BrokerError:
            self.pending[queue] = batch + self.pending.get(queue, [])
            raise
        for h, (why, wait_ms) in zip(waiting, verdicts, strict=True):
            if not why:
                if h.task.options.concurrency:
                    self.holders[h.stream_id] = (queue, limiter_id(h.env.task, h.env.cap_key))
                self.start(h)
                continue
            if why == "w":  # its slot frees in a moment: ask again then, from here
                asyncio.get_running_loop().call_later(wait_ms / 1000, self.add, h)
                continue
            h.finished = True  # on its way back to the scheduled set
            counter = COUNTER.get(why, records.THROTTLED)
            self.settle(queue, release(h, wait_ms), {counter: 1, f"{counter}:{h.env.task}": 1})
            log.debug(
                "job.deferred", job_id=h.env.id, task=h.env.task, queue=queue, why=counter, wait_ms=wait_ms
            )

    async def run(self) -> None:
        """Renew the slots of running holders with their leases, until closed."""
        while not self.closing:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._closed.wait(), self.renew_every)
            if self.closing:
                return
            for sid in [sid for sid in self.holders if sid not in self.held]:
                self.settled([sid])  # its lease was lost: free its slot too
            if self.holders:
                holders = [(q, limiter, sid) for sid, (q, limiter) in self.holders.items()]
                with contextlib.suppress(BrokerError):  # it lapses only after a whole lease
                    until = int(self.clock() * 1000) + self.lease_ms
                    await self.broker.hold_slots(holders, until)
