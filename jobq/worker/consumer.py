"""Worker: the fetch / run / settle loop of one process, for sync and async tasks alike."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import structlog

from jobq import records
from jobq.app import App
from jobq.broker import AsyncBroker
from jobq.errors import BrokerError, BrokerRefused
from jobq.execute import Finished
from jobq.worker.admission import Refusal, admit, refusal_settlement
from jobq.worker.flow import Gate
from jobq.worker.heartbeat import heartbeat_fields
from jobq.worker.held import Held
from jobq.worker.hooked import RunHooks
from jobq.worker.latency import LatencyWindow
from jobq.worker.lifecycle import EXIT_START_FAILED, Lifecycle
from jobq.worker.limits import Limiter
from jobq.worker.maintenance import Maintenance
from jobq.worker.observed import watch
from jobq.worker.outage import Notices, Outage, answer_refusal
from jobq.worker.running import Runner
from jobq.worker.settler import Origin, Settler
from jobq.worker.shutdown import ABANDONED, StopSignals, abandon_unfinished, drain_note, release
from jobq.worker.stoppable import StoppableRead
from jobq.worker.watchdog import Stalls, stalls
from jobq.worker.weights import Fetcher

log = structlog.get_logger("jobq.worker")

EXIT_OK = 0
EXIT_RECYCLE = 3  # the pool replaces this process at once (max jobs, stuck thread)


class Worker:
    """Consumes the given queues in this process, `concurrency` jobs at a time."""

    def __init__(
        self,
        app: App,
        queues: Sequence[str] | None = None,
        concurrency: int = 1,
        *,
        worker_id: str | None = None,
        max_jobs: int | None = None,
        shutdown_timeout: float = 30.0,
        block_ms: int = 1000,
        burst: bool = False,
        max_memory_mb: int | None = None,
        rng: random.Random | None = None,
        repeat_hurries: bool = True,
        weights: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.queues = list(queues or app.queues())
        self.concurrency = max(1, concurrency)
        self.host = socket.gethostname()
        self.id = worker_id or f"{self.host}:{os.getpid()}"
        self.max_jobs = max_jobs
        self.shutdown_timeout = shutdown_timeout
        self.block_ms = block_ms
        self.burst = burst
        self.max_memory_mb = max_memory_mb
        self.latency = LatencyWindow()
        self.vt = app.config.visibility_timeout
        self.broker = AsyncBroker(app.config, self.id)
        self.fetcher = Fetcher(self.broker, self.queues, weights)
        self.streams = self.fetcher.streams
        self.held: dict[str, Held] = {}
        self.done = 0
        self.exit_code = EXIT_OK
        self.started_at = time.time()
        self.runner = Runner(self.concurrency, self.latency, self._finished, self.taint)
        self.runner.hooks = RunHooks.of(app.middleware)
        self.origin = Origin(self.id, self.host)
        self.outage = Outage()
        self.notices = Notices()
        self.settler = Settler(self.broker, self.origin, self._settled, self.outage, rng)
        self.runner.on_progress = self.settler.add_progress
        self.gate = Gate(self.settler.add, release, self.redis_time, self.fetcher)
        self.runner.may_start = self.gate.may_start
        self.reader = StoppableRead(self._read, self.fetcher, self.held, self.settler)
        self.limiter = Limiter(self, self.vt)
        self.maintenance = Maintenance(
            self,
            self.broker,
            self.runner,
            self.outage,
            self.latency,
            vt=self.vt,
            max_memory_mb=max_memory_mb,
            config=app.config,
        )
        self.settler.drainer = self.maintenance.drainer
        self.lifecycle = Lifecycle(app, self.id, self.host, self.queues, self.broker)
        self._stopping = False
        self.hurried = ""  # why it stops now rather than drains, once it does
        self.signals = StopSignals(self.stop, self.hurry, repeat_hurries=repeat_hurries)
        self.wedged = False
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # lifecycle -----------------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        return self._stopping

    def stop(self, reason: str = "requested") -> None:
        """Stop fetching; jobs in flight finish (up to shutdown_timeout)."""
        if not self._stopping:
            self._stopping = True
            note = drain_note(self.running + len(self.runner.ready), self.shutdown_timeout)
            log.info("worker.stopping", worker=self.id, reason=reason, in_flight=self.running, note=note)
        if self._wake is not None:
            self._wake.set()
        self.reader.interrupt()

    def hurry(self, reason: str = "requested") -> None:
        """Stop now: jobs in flight are abandoned and released to other workers at once."""
        self.stop(reason)
        if not self.hurried:
            self.hurried = reason
            note = "stopping now: unfinished jobs are released for other workers"
            log.warning("worker.hurrying", worker=self.id, reason=reason, in_flight=self.running, note=note)

    def taint(self, reason: str) -> None:
        """This process can no longer be trusted to run jobs: drain and be replaced."""
        self.exit_code = EXIT_RECYCLE
        self.stop(reason)

    def redis_time(self) -> float:
        """Now, in Unix seconds on Redis's clock (as last measured by a heartbeat)."""
        return time.time() + self.latency.offset_ms / 1000

    def declare_wedged(self, reason: str) -> None:
        """This process sits on jobs it does not run: stop renewing leases and exit now,
        releasing what it holds, so the pool replaces it and other workers take the jobs."""
        self.wedged = True
        self.exit_code = EXIT_RECYCLE
        self.hurry(reason)

    @property
    def running(self) -> int:
        return self.runner.running

    def stalls(self) -> Stalls:
        """Every held entry with how long it has stalled (see jobq.worker.watchdog)."""
        return stalls(
            self.held.values(), self.concurrency, self.runner.freed_at, self.outage, time.monotonic()
        )

    async def setup(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.runner.bind(self._loop)
        self._wake = asyncio.Event()
        while not self._stopping:
            try:
                await self.broker.ensure_groups(self.queues)
                await self.maintenance.pauses()
                await self.maintenance.warn_on_eviction()
                self.outage.ok()
                return
            except BrokerError as exc:
                await asyncio.sleep(self.outage.failed(exc))

    async def run(self) -> int:
        """Run until stopped; returns the process exit code."""
        await self.setup()
        loop = asyncio.get_running_loop()
        if threading.current_thread() is threading.main_thread():  # embedded: the host's signals
            self.signals.install(loop)
        if not await self.lifecycle.start():
            await self.close()
            return EXIT_START_FAILED
        log.info("worker.started", worker=self.id, queues=self.queues, concurrency=self.concurrency)
        background = [
            watch(loop.create_task(d.run()), type(d).__name__, self.declare_wedged)
            for d in (self.settler, self.maintenance, self.limiter)
        ]
        stop_by = None
        try:
            await self._fetch_loop()
            stop_by = time.monotonic() + self.shutdown_timeout
            await self._drain(self.shutdown_timeout)
            abandon_unfinished(self.runner, self.held, self.settler, self.hurried or "shutdown timeout")
        finally:
            await self._stop_background(background)
            await self.settler.flush_for(5.0)
            hooks_by = stop_by or time.monotonic() + self.shutdown_timeout
            await self.lifecycle.stop(time.monotonic() if self.hurried else hooks_by)
            await self.close()
        log.info("worker.stopped", worker=self.id, processed=self.done, exit_code=self.exit_code)
        return self.exit_code

    async def step(self, block_ms: int = 100) -> int:
        """One read / run / settle cycle, for tests and embedding; returns jobs settled."""
        if self._wake is None:
            await self.setup()
            await self.lifecycle.start_or_raise()
        before = self.done
        await self.maintenance.before_step()
        entries = await self._read(self.concurrency, block_ms)
        self._admit(entries)
        await self._drain(None)
        await self.settler.flush()
        await self.settler.drained(5.0)
        return self.done - before

    async def _drain(self, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (self.running or self.runner.ready) and not self.hurried:
            if deadline is not None and time.monotonic() >= deadline:
                log.warning("worker.shutdown_timeout", unfinished=self.running + len(self.runner.ready))
                return
            self.runner.start_ready()
            await self._rest(0.2)

    async def _rest(self, seconds: float) -> None:
        """Wait until woken (a job finished, a queue resumed), at most `seconds`."""
        assert self._wake is not None
        self._wake.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def _stop_background(self, tasks: list[asyncio.Task[None]]) -> None:
        self.maintenance.closing = self.settler.closing = True
        self.limiter.close()
        self.settler.wake.set()
        _, pending = await asyncio.wait(tasks, timeout=3.0)
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1.0)

    async def close(self) -> None:
        """Leave the worker registry and release connections and threads."""
        await self.lifecycle.stop(time.monotonic() + self.shutdown_timeout)  # if step() started them
        with contextlib.suppress(BrokerError, asyncio.TimeoutError):
            await asyncio.wait_for(self.broker.deregister(self.id, self.queues), 2.0)
        await self.broker.close()
        self.runner.shutdown()

    # fetching ------------------------------------------------------------------------

    async def _fetch_loop(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            free = self._room()
            if free <= 0 or self.runner.ready:
                self._wake.clear()
                await self._wake.wait()
                self.runner.start_ready()
                continue
            if self.fetcher.paused and not self.fetcher.active():
                await self._rest(0.25)  # every queue paused: wait for a resume
                continue
            entries = await self.reader.read(free, self.block_ms)
            if not entries and self.burst and self._idle():
                self.stop("burst: queues are empty")
            self._admit(entries)
            if self.runner.fresh_async:  # their first step before the next read
                await self.runner.step_fresh()

    def _room(self) -> int:
        """How many entries to read (Runner.room), never past --max-jobs-per-child."""
        free = self.runner.room(len(self.held))
        return min(free, self.max_jobs - self.done - len(self.held)) if self.max_jobs else free

    def paused_now(self, queues: set[str]) -> None:
        """The queues paused now (from maintenance); a resume wakes the fetch loop."""
        if self.fetcher.pause_only(queues) and self._wake is not None:
            self._wake.set()

    async def _read(self, count: int, block_ms: int) -> list[Any]:
        try:
            entries = await self.fetcher.read(count, block_ms)
        except BrokerRefused as exc:
            await self.refused(exc)
            return []
        except BrokerError as exc:
            await asyncio.sleep(self.outage.failed(exc))
            return []
        self.outage.ok()
        return entries

    def _idle(self) -> bool:
        return not (self.running or self.runner.ready or self.settler.pending or self.outage.down)

    async def refused(self, exc: BrokerRefused) -> None:
        await answer_refusal(exc, self.broker, self.queues, self.outage, self.notices)

    def _admit(self, entries: list[Any]) -> None:
        now = time.monotonic()
        for stream, items in entries:
            queue = self.streams[stream]
            for stream_id, fields in items:
                self.accept(queue, stream_id, (fields or {}).get(records.ENTRY_ENVELOPE), 1, now)
        self.runner.start_ready()

    def accept(self, queue: str, stream_id: str, raw: str | None, deliveries: int, now: float) -> None:
        """Take one delivered entry: dead-letter it at once if it cannot run, else queue it."""
        verdict = admit(self.app, queue, stream_id, raw, deliveries, now)
        if isinstance(verdict, Refusal):
            counters = {records.FAILED: verdict.failed} if verdict.failed else {}
            self.settler.add(queue, refusal_settlement(queue, stream_id, verdict, self.origin), counters)
            return
        self.held[stream_id] = verdict
        if not verdict.task.options.limited:
            self.runner.ready.append(verdict)
        elif self.gate.may_start(verdict):  # not paused, not expired: ask Redis for its slots
            self.limiter.add(verdict)

    # running -----------------------------------------------------------------------

    def start_limited(self, h: Held) -> None:
        self.runner.ready.append(h)
        self.runner.start_ready()

    def _finished(self, done: list[tuple[Held, Finished]]) -> None:
        for h, _ in done:
            if h.lost:
                self.held.pop(h.stream_id, None)
                log.warning("job.lost_lease", job_id=h.env.id, task=h.env.task, queue=h.queue)
        # an abandoned job was released, to run again
        self.settler.add_finished([(h, f) for h, f in done if not h.lost and h.stop_reason != ABANDONED])
        self.maintenance.check_memory()  # after each burst, not per tick: a fast leak is caught
        assert self._wake is not None
        self._wake.set()

    def heartbeat_fields(self) -> dict[str, Any]:
        return heartbeat_fields(self)

    def _settled(self, stream_ids: list[str]) -> None:
        self.limiter.settled(stream_ids)
        for sid in stream_ids:
            if self.held.pop(sid, None) is not None:
                self.done += 1
        if self._wake is not None:
            self._wake.set()
        if self.max_jobs and self.done >= self.max_jobs and not self._stopping:
            self.exit_code = EXIT_RECYCLE
            self.stop("max jobs per child reached")
