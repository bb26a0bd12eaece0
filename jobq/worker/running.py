"""Runner: starts held jobs, `concurrency` at a time (sync ones on task threads, async ones
on the event loop), stops them at their timeout or on cancel, and hands every outcome on."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Any

import structlog

from jobq.errors import JobCancelled, JobTimeout
from jobq.execute import Finished, classify, info_for, run_async, run_sync
from jobq.job import JobInfo
from jobq.worker.held import Held
from jobq.worker.hooked import RunHooks
from jobq.worker.latency import LatencyWindow
from jobq.worker.observed import watch
from jobq.worker.threads import RunSlot, ThreadRunner

log = structlog.get_logger("jobq.worker")

STUCK_GRACE_S = 1.0  # after a sync job's timeout, how long its thread gets to give up
READ_BURSTS = 4  # bursts of `concurrency` jobs a read carries while sync bursts come back quick


class Runner:
    def __init__(
        self,
        concurrency: int,
        latency: LatencyWindow,
        on_finished: Callable[[list[tuple[Held, Finished]]], None],
        on_stuck: Callable[[str], None],
        on_progress: Callable[[Held, str], None] | None = None,
        hooks: RunHooks | None = None,
    ) -> None:
        self.concurrency = concurrency
        self.hooks = hooks  # the app's middleware; None when it has no worker-side hook
        self.latency = latency
        self.on_finished = on_finished
        self.on_stuck = on_stuck
        self.on_progress = on_progress
        self.running = 0
        self.freed_at = 0.0  # monotonic time a slot last came free while all were taken
        self.ready: deque[Held] = deque()
        self.stuck_threads = 0
        self._threads: ThreadRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.may_start: Callable[[Held], bool] | None = None  # False: do not start it
        self._loop_thread = 0
        self.fresh_async = False  # an async job was started and has not yet run a step

    async def step_fresh(self) -> None:
        """Yield once to the loop: async jobs just started take their first step now, one
        loop turn after the read that brought them, not after the next read is built and
        sent (asyncio on 3.11 has no eager tasks). Awaited only when there are such jobs."""
        self.fresh_async = False
        await asyncio.sleep(0)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._loop_thread = threading.get_ident()

    @property
    def threads(self) -> ThreadRunner:
        if self._threads is None:
            assert self._loop is not None
            run = run_sync if self.hooks is None else self.hooks.run_sync
            self._threads = ThreadRunner(self.concurrency, self._loop, self._threads_done, run)
        return self._threads

    @property
    def free(self) -> int:
        """Slots neither running nor promised to a job waiting in `ready`."""
        return self.concurrency - self.running - len(self.ready)

    def shutdown(self) -> None:
        if self._threads is not None:
            self._threads.shutdown()

    def room(self, held: int) -> int:
        """How many entries the next read may ask for. One burst: slots for `concurrency`
        jobs, less those running. READ_BURSTS while the loop's waits for sync bursts come
        back in time (ThreadRunner.quick): jobs that quick wait a few milliseconds at most
        for a slot, and each read and each settle carries four times as many of them, so
        what each round trip costs is shared by four times as many jobs. Finished jobs
        stay held until their settle lands, so they count too: a slow settle never lets a
        worker hoard entries (held <= 2 x the slots of the bursts read)."""
        bursts = READ_BURSTS if self._threads is not None and self._threads.quick else 1
        slots = bursts * self.concurrency
        return min(slots - self.running, 2 * slots - held)

    def start_ready(self) -> None:
        """Start what waits, up to `concurrency`. A sync burst handed to an idle runner is
        waited for (ThreadRunner.lend); when it came back whole, the next burst starts at
        once, so a read of several bursts is run and then settled in one batch."""
        while True:
            threads = self._threads if not self.running else None
            handed_before = threads.submitted if threads is not None else 0
            while self.ready and self.running < self.concurrency:
                h = self.ready.popleft()
                if not h.lost and (self.may_start is None or self.may_start(h)):
                    self._start(h)
            if threads is None or threads.submitted == handed_before:
                return
            if not threads.lend():
                # The worker was idle and woke a task thread, and the loop does not wait for
                # the burst: give the thread the CPU and the interpreter lock now, not when
                # the loop next blocks in I/O (after building the next read).
                os.sched_yield()
                return
            if not (self.ready and threads.quick and not self.running):
                return

    def _start(self, h: Held) -> None:
        loop = self._loop
        assert loop is not None
        self.running += 1
        h.started = time.monotonic()
        self.latency.add(h.queue, h.stream_id, h.started)
        info = info_for(h.env, h.queue, h.attempt, partial(self._report, h) if self.on_progress else None)
        if h.task.is_async:
            run = self._run_async(h, info) if self.hooks is None else self._run_hooked(h, info, self.hooks)
            h.atask = watch(loop.create_task(run), "job run", **h.log_fields())
            self.fresh_async = True
        else:
            h.slot = RunSlot()
            self.threads.submit(h, h.slot, h.task, h.env, info)
        timeout = h.task.options.timeout
        if timeout:
            h.timer = loop.call_later(timeout, self._on_timeout, h)

    def _report(self, h: Held, blob: str) -> None:
        """`JobInfo.set_progress` of a run (bound to it with a partial, cheaper per job than a
        closure): hands the report to the loop, from the job's thread (sync task) or from the
        loop itself (async task); ignored once it finished."""
        loop, sink = self._loop, self.on_progress
        assert loop is not None and sink is not None
        if h.finished:
            return
        if threading.get_ident() == self._loop_thread:
            sink(h, blob)
        else:
            loop.call_soon_threadsafe(sink, h, blob)

    async def _run_async(self, h: Held, info: JobInfo) -> None:
        try:
            fin = await run_async(h.task, h.env, info)
        except asyncio.CancelledError:
            fin = self._stopped(h)
        self._complete(h, fin)

    async def _run_hooked(self, h: Held, info: JobInfo, hooks: RunHooks) -> None:
        self._complete(h, await hooks.run_async(h.task, h.env, info, lambda: self._stopped(h)))

    def _threads_done(self, done: list[tuple[Any, Finished]]) -> None:
        """A burst of sync jobs came back from their threads."""
        fresh = [(h, fin) for h, fin in done if not h.finished]
        if len(fresh) < len(done):  # failed already by their timeout; the threads came back
            self.stuck_threads = max(0, self.stuck_threads - len(done) + len(fresh))
        if fresh:
            self._complete_all(fresh)

    def _stopped(self, h: Held) -> Finished:
        if h.stop_reason == "timeout":
            error = JobTimeout(f"timed out after {h.task.options.timeout}s (task timeout)")
            return classify(error, h.task, h.env)
        return classify(JobCancelled("cancelled while running"), h.task, h.env)

    def _on_timeout(self, h: Held) -> None:
        if h.finished:
            return
        h.stop_reason = "timeout"
        log.warning("job.timeout", **h.log_fields(), timeout_s=h.task.options.timeout)
        if h.atask is not None:
            h.atask.cancel()
            return
        assert h.slot is not None and self._loop is not None
        h.slot.interrupt(JobTimeout)
        self.threads.replace_one()
        self._complete(h, self._stopped(h))
        self.stuck_threads += 1
        self._loop.call_later(STUCK_GRACE_S, self._check_stuck, h)

    def _check_stuck(self, h: Held) -> None:
        if h.slot is not None and h.slot.thread_id is not None:
            log.error(
                "worker.thread_stuck",
                job_id=h.env.id,
                task=h.env.task,
                note="sync task ignored its timeout; replacing this process",
            )
            self.on_stuck("stuck thread")

    def request_cancel(self, h: Held) -> None:
        """Ask a running job to stop (it was cancelled through Job.cancel)."""
        if h.finished or h.stop_reason:
            return
        h.stop_reason = "cancelled"
        if h.atask is not None:
            h.atask.cancel()
        elif h.slot is not None:
            h.slot.interrupt(JobCancelled)

    def _complete(self, h: Held, fin: Finished) -> None:
        self._complete_all([(h, fin)])

    def _complete_all(self, done: list[tuple[Held, Finished]]) -> None:
        """Runs that ended, handed on together: a burst of sync jobs shares one clock
        reading and one hand-over, rather than each paying for its own."""
        now = time.monotonic()
        for h, _ in done:
            h.finish(now)
            if h.timer is not None:
                h.timer.cancel()
            if self.running == self.concurrency:
                self.freed_at = now
            self.running -= 1
        self.on_finished(done)
