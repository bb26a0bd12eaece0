"""Background duties of a worker: renew leases, reclaim from the dead, promote due jobs,
publish heartbeats. Each duty has its own period; one loop runs them all."""

from __future__ import annotations

import asyncio
import os
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import structlog

from jobq import records
from jobq.broker import AsyncBroker
from jobq.config import Config
from jobq.errors import BrokerError, BrokerRefused
from jobq.flow import DEFAULT_PRIORITY, PAUSE_CHECK_S
from jobq.worker.held import Held
from jobq.worker.latency import LatencyWindow
from jobq.worker.outage import Outage
from jobq.worker.running import Runner
from jobq.worker.watchdog import Stalls, Watchdog, census, renewable
from jobq.worker.weights import Fetcher
from jobq.workflow.drain import Drainer

log = structlog.get_logger("jobq.worker")

TICK_S = 0.1
PROMOTE_EVERY_S = 0.25
HEARTBEAT_EVERY_S = 2.0
OUTBOX_SWEEP_S = 1.0
HEARTBEAT_TTL_S = 15
PROMOTE_LIMIT = 1000
WATCH_EVERY_S = 1.0


class Host(Protocol):
    """What the duties need of the worker they serve (the `Worker` is the one host): its
    identity, queues and held entries, and the calls that admit, refuse, stop or report."""

    id: str
    queues: list[str]
    held: dict[str, Held]
    wedged: bool
    fetcher: Fetcher

    @property
    def stopping(self) -> bool: ...

    def stop(self, reason: str = ...) -> None: ...

    def taint(self, reason: str) -> None: ...

    def declare_wedged(self, reason: str) -> None: ...

    def stalls(self) -> Stalls: ...

    async def refused(self, exc: BrokerRefused) -> None: ...

    def accept(self, queue: str, stream_id: str, raw: str | None, deliveries: int, now: float) -> None: ...

    def heartbeat_fields(self) -> dict[str, Any]: ...

    def paused_now(self, queues: set[str]) -> None: ...


class Maintenance:
    def __init__(
        self,
        host: Host,
        broker: AsyncBroker,
        runner: Runner,
        outage: Outage,
        latency: LatencyWindow,
        *,
        vt: float,
        max_memory_mb: int | None,
        config: Config,
    ) -> None:
        self.w = host
        self.broker = broker
        self.runner = runner
        self.outage = outage
        self.latency = latency
        self.max_memory_mb = max_memory_mb
        self.renew_every = max(0.05, min(1.0, vt / 4))
        self.reclaim_every = max(0.05, min(1.0, vt / 4))
        self.min_idle_ms = int(vt * 1000)
        self.cursors: dict[str, str] = defaultdict(lambda: "0-0")
        self.parent = os.getppid()
        self._next: dict[str, float] = defaultdict(float)
        self.closing = False
        self.watchdog = Watchdog(host.id, vt)
        self.aging_ms = int(config.priority_aging * 1000)
        self.age_every = max(0.05, min(1.0, config.priority_aging / 4))
        self.drainer = Drainer(broker, config, lambda: bool(host.held))

    def _due(self, duty: str, every: float, now: float) -> bool:
        if now >= self._next[duty]:
            self._next[duty] = now + every
            return True
        return False

    async def run(self) -> None:
        duties = (
            ("renew", self.renew_every, self.renew),
            ("promote", PROMOTE_EVERY_S, self.promote),
            ("pauses", PAUSE_CHECK_S, self.pauses),
            ("reclaim", self.reclaim_every, self.reclaim),
            ("heartbeat", HEARTBEAT_EVERY_S, self.heartbeat),
            ("outbox", OUTBOX_SWEEP_S, self.sweep_outbox),
        )
        while not self.closing:
            now = time.monotonic()
            for name, every, duty in duties:
                if self._due(name, every, now):
                    await self.guarded(duty)
            self.check_memory()
            if self._due("watch", WATCH_EVERY_S, now):
                self.check_wedged()
            if os.getppid() != self.parent:
                self.w.stop("the pool supervisor is gone")
            promote_in = self._next["promote"] - time.monotonic()
            await asyncio.sleep(min(TICK_S, max(0.005, promote_in)))

    async def guarded(self, duty: Callable[[], Awaitable[None]]) -> None:
        """Run one duty; a refusal or an outage is logged (once) and waited out, never fatal."""
        try:
            await duty()
            self.outage.ok()
        except BrokerRefused as exc:
            await self.w.refused(exc)
        except BrokerError as exc:
            await asyncio.sleep(self.outage.failed(exc))

    async def renew(self) -> None:
        """Keep the leases of held entries fresh; learn which were cancelled or lost. Entries
        the worker stalls on are left to lapse, and a wedged worker renews nothing."""
        if self.w.wedged:
            return
        by_queue: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for h in renewable(self.w.stalls()):
            by_queue[h.queue].append((h.stream_id, h.env.id))
        now = time.monotonic()
        for queue, pairs in by_queue.items():
            lost, cancelled = await self.broker.renew(queue, pairs)
            lost_set = set(lost)
            for sid, _ in pairs:
                kept = self.w.held.get(sid)
                if kept is not None and sid not in lost_set:
                    kept.confirmed = now
            for sid in lost:
                gone = self.w.held.get(sid)
                # A finished entry is reported gone when its settle landed during this call;
                # its settle reply accounts for it (and fences it if it was really taken).
                if gone is not None and not gone.finished and not gone.lost:
                    gone.lost = True
                    log.warning("job.lease_lost", job_id=gone.env.id, task=gone.env.task, queue=queue)
                    if not gone.started:
                        self.w.held.pop(sid, None)
            for sid in cancelled:
                target = self.w.held.get(sid)
                if target is not None:
                    self.runner.request_cancel(target)

    async def reclaim(self) -> None:
        """Take over entries whose owner stopped renewing them, following XAUTOCLAIM's cursor."""
        free = self.runner.free
        if free <= 0 or self.w.stopping:
            return
        now = time.monotonic()
        used = self.w.fetcher.levels.used
        for queue in self.w.queues:
            for level in used.get(queue, (DEFAULT_PRIORITY,)):  # a cursor per level stream
                at = queue if level == DEFAULT_PRIORITY else records.at_level(level, queue)
                cursor, entries = await self.broker.reclaim(
                    queue, self.min_idle_ms, self.cursors[at], free, level
                )
                self.cursors[at] = cursor
                for e in entries:
                    ref = records.at_level(level, e.stream_id)
                    self.w.accept(queue, ref, e.envelope, e.deliveries, now)
        self.runner.start_ready()

    async def sweep_outbox(self) -> None:
        """Finish workflow updates a dead worker left in the outboxes (jobq.workflow.drain)."""
        await self.drainer.sweep(self.w.queues)

    async def promote(self) -> None:
        """Move due jobs; come back sooner than PROMOTE_EVERY_S when one is due sooner (a job
        a rate limit deferred should start on time, not up to a period late)."""
        soonest = PROMOTE_EVERY_S
        for queue in self.w.queues:
            _, wait_ms = await self.broker.promote(queue, PROMOTE_LIMIT)
            if 0 <= wait_ms < soonest * 1000:
                soonest = wait_ms / 1000
        self._next["promote"] = min(self._next["promote"], time.monotonic() + soonest)
        used = self.w.fetcher.levels.used  # aging: only queues with more than one level
        if used and self.aging_ms and self._due("aging", self.age_every, time.monotonic()):
            for queue in used:
                await self.broker.age_levels(queue, self.aging_ms, PROMOTE_LIMIT)

    async def before_step(self) -> None:
        """What `Worker.step` does before it reads: learn pauses and levels, promote due jobs."""
        await self.pauses()
        await self.promote()

    async def pauses(self) -> None:
        """Which queues are paused, and which priority levels each uses (one round trip)."""
        paused, levels = await self.broker.queue_state(self.w.queues)
        self.w.fetcher.levels.update(levels)
        self.w.paused_now(paused)

    def check_wedged(self) -> None:
        """Exit if this process holds jobs it is not making progress on (jobq.worker.watchdog)."""
        if self.watchdog.wedged(census(self.w.stalls())):
            self.w.declare_wedged("wedged: holding jobs it is not running")

    async def heartbeat(self) -> None:
        redis_ms = await self.broker.heartbeat(self.w.id, self.w.heartbeat_fields(), HEARTBEAT_TTL_S)
        self.latency.offset_ms = redis_ms - time.time() * 1000

    def check_memory(self) -> None:
        """Recycle this process once it outgrows its memory limit (a leaking task). Checked
        after every job as well as every tick, so a child that leaks fast stops at the job
        that crossed the limit; without a limit it costs one test."""
        limit = self.max_memory_mb
        if limit and not self.w.stopping:
            rss = rss_mb()
            if rss > limit:
                log.warning("worker.memory_limit", rss_mb=round(rss, 1), limit_mb=limit)
                self.w.taint("memory limit per child reached")

    async def warn_on_eviction(self) -> None:
        """Eviction silently deletes jobs; say so loudly at start."""
        value = await self.broker.eviction_policy()
        if value not in (None, "noeviction"):
            log.warning(
                "redis.eviction_policy",
                policy=value,
                note="jobs can be silently lost; set maxmemory-policy noeviction",
            )


def rss_mb() -> float:
    """Current resident memory of this process (Linux /proc; peak RSS elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
