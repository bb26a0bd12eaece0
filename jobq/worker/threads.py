"""Sync tasks run on a small, elastic set of threads, handed jobs through a queue; finished
jobs come back to the event loop in bursts (one wake-up per burst, not one per job), or,
when the loop waits for a quick burst it handed over (ThreadRunner.lend), with no wake-up
at all.

Python cannot kill a thread. A timeout or cancel raises an exception inside the thread at
its next bytecode; a thread stuck in C code ignores that: it is replaced by a new thread
at once, and the worker process is recycled by its pool (see Worker.taint).
"""

from __future__ import annotations

import asyncio
import contextvars
import ctypes
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from jobq.envelope import Envelope
from jobq.execute import Finished, classify, run_sync
from jobq.job import JobInfo
from jobq.task import Task


class RunSlot:
    """The thread a sync job runs on, while it runs; guards injection against reuse."""

    __slots__ = ("lock", "thread_id")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.thread_id: int | None = None

    def interrupt(self, exc_type: type[BaseException]) -> bool:
        """Raise exc_type in the job's thread if the job is still on it."""
        with self.lock:
            if self.thread_id is None:
                return False
            hit = ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(self.thread_id), ctypes.py_object(exc_type)
            )
            return bool(hit == 1)


Work = tuple[Any, RunSlot, Task[Any, Any], Envelope, JobInfo]

GROW_AFTER_S = 0.002  # jobs still waiting this long after a hand-over get more threads
GATHER_S = 0.0005  # a result finished while other jobs still run waits this long for theirs
IDLE_EXIT_S = 2.0  # a thread idle this long leaves (one always stays)
LEND_S = 0.002  # how long the loop waits for a burst of jobs it handed over to finish
LEND_BACKOFF_S = 1.0  # after two bursts in a row outlasted LEND_S, the loop stops waiting this long


class ThreadRunner:
    """Up to `size` threads running sync jobs; results go to `on_done([(token, finished)...])`
    on the loop, a burst at a time.

    The pool is elastic and wakes as few threads as keep jobs moving. A job handed over
    wakes an idle thread only when no awake thread is free to take it; a thread that
    finishes a job takes the next one waiting. Jobs still waiting GROW_AFTER_S later get
    more threads, doubling the busy ones at each step, so slow or blocking jobs reach
    `size` threads within about ten milliseconds. Idle threads sleep on a stack and the
    most recent sleeper is woken first, so a thread no longer needed stays asleep and
    leaves after IDLE_EXIT_S. Short jobs then run on one thread: the interpreter lock does
    not bounce between dozens of them, each woken for a job or two, for good after one
    hiccup grew the pool (a SimpleQueue hands work to every waiting thread in turn).
    """

    def __init__(
        self,
        size: int,
        loop: asyncio.AbstractEventLoop,
        on_done: Callable[[list[tuple[Any, Finished]]], None],
        run: Callable[[Task[Any, Any], Envelope, JobInfo], Finished] = run_sync,
    ) -> None:
        self.size = size
        self.run = run  # execute.run_sync, or the same through the app's middleware
        self.loop = loop
        self.on_done = on_done
        self.waiting: deque[Work] = deque()  # handed over, not yet taken by a thread
        self.outbox: deque[tuple[Any, Finished]] = deque()
        self.signalled = False
        self.lock = threading.Lock()
        self.live = 0
        self.free = 0  # awake threads not running a job: they take what is handed over next
        self.sleepers: list[threading.Lock] = []  # idle threads, most recent last (held: asleep)
        self.stopping = False
        self.check_scheduled = False
        self.submitted = 0  # jobs handed over, ever (written by the loop only)
        self.finished = 0  # jobs whose run returned, ever (under `lock`)
        self.lending = False  # the loop waits for the burst: results need no wake-up
        self.burst_over = threading.Event()
        self.lend_after = 0.0  # monotonic; slow bursts (LEND_BACKOFF_S): no waiting before this
        self.quick = False  # the last burst the loop waited for finished within LEND_S
        self.slow_bursts = 0  # bursts in a row that outlasted LEND_S
        self._spawn()

    @property
    def idle(self) -> int:
        return len(self.sleepers)

    def _spawn(self) -> None:
        with self.lock:
            if self.live >= self.size or self.stopping:
                return
            self.live += 1
            self.free += 1
        # Each thread starts in a copy of the worker loop's context: jobq.current_worker()
        # and anything the start hooks bound in it are seen by sync tasks, at no cost per job.
        ctx = contextvars.copy_context()
        threading.Thread(target=ctx.run, args=(self._serve,), name="jobq-task", daemon=True).start()

    def submit(self, token: Any, slot: RunSlot, task: Task[Any, Any], env: Envelope, info: JobInfo) -> None:
        self.submitted += 1
        self.waiting.append((token, slot, task, env, info))
        if not self.free:  # read without the lock; _wake looks again under it
            self._wake(1, only_if_none_free=True)
        if not self.check_scheduled:
            self.check_scheduled = True
            self.loop.call_later(GROW_AFTER_S, self._grow)

    def _wake(self, wanted: int, only_if_none_free: bool = False) -> int:
        """Wake up to `wanted` idle threads, most recent first; how many were woken."""
        woken = 0
        with self.lock:
            if only_if_none_free and self.free:
                return 0
            while woken < wanted and self.sleepers:
                self.free += 1
                self.sleepers.pop().release()
                woken += 1
        return woken

    def _grow(self) -> None:
        """Runs on the loop: jobs still waiting get more threads, as many as are busy."""
        self.check_scheduled = False
        waiting = len(self.waiting)
        if not waiting:
            return
        wanted = min(waiting, max(1, self.live - self.idle - self.free))
        for _ in range(wanted - self._wake(wanted)):
            self._spawn()
        self.check_scheduled = True
        self.loop.call_later(GROW_AFTER_S, self._grow)

    def replace_one(self) -> None:
        """A job's thread may be stuck for good: allow one more thread, and start it."""
        with self.lock:
            self.size += 1
        self._spawn()

    def shutdown(self) -> None:
        with self.lock:
            self.stopping = True
            for asleep in self.sleepers:
                self.free += 1
                asleep.release()
            self.sleepers.clear()

    def _next(self, asleep: threading.Lock) -> Work | None:
        """The next job to run; None when this thread should leave."""
        while True:
            with self.lock:
                self.free -= 1  # first: a job handed over from now on finds it asleep
                if self.waiting:
                    return self.waiting.popleft()
                if self.stopping:
                    self.live -= 1
                    return None
                self.sleepers.append(asleep)
            if not asleep.acquire(timeout=IDLE_EXIT_S):
                with self.lock:
                    if asleep in self.sleepers:  # idle too long: leave, unless the last
                        self.sleepers.remove(asleep)
                        if self.live > 1:
                            self.live -= 1
                            return None
                        self.free += 1
                        continue
                asleep.acquire()  # woken as the wait ran out: take that wake-up
            # woken (free counted by the waker) or staying: look for work again

    def _serve(self) -> None:
        asleep = threading.Lock()
        asleep.acquire()
        while True:
            work = self._next(asleep)
            if work is None:
                return
            token, slot, task, env, info = work
            self.outbox.append((token, self._run(slot, task, env, info)))
            with self.lock:
                self.free += 1
                self.finished += 1
                lending, over = self.lending, self.finished == self.submitted
            if lending:  # the loop is waiting: it takes the results itself
                if over:
                    self.burst_over.set()
            elif not self.signalled:
                self.signalled = True
                # The last job running hands the burst over now; one that finished while
                # others still run or wait gives them GATHER_S to join it, so a burst of
                # short jobs comes back whole, to be settled and refilled in one batch
                # rather than in the slivers that happened to finish first.
                alone = not self.waiting and self.live - self.idle - self.free <= 0
                self.loop.call_soon_threadsafe(self._deliver if alone else self._gather)

    def _run(self, slot: RunSlot, task: Task[Any, Any], env: Envelope, info: JobInfo) -> Finished:
        try:
            with slot.lock:
                slot.thread_id = threading.get_ident()
            try:
                return self.run(task, env, info)
            finally:
                with slot.lock:
                    slot.thread_id = None
        except BaseException as exc:  # a late timeout or cancel landed here
            return classify(exc, task, env)

    def lend(self) -> bool:
        """Wait (the interpreter lock released) up to LEND_S for the jobs just handed over to
        finish, then deliver their results; False if not tried (it did not pay lately).

        While the loop waits, the task thread runs the burst alone: no wake-up of the loop
        per burst, and no bouncing of the interpreter lock between the two threads each
        time a job releases it (any system call: a write, a sleep). Quick jobs come back
        settled in one batch, and `quick` says so (the worker then reads several bursts at a
        time: Runner.room); a second burst in a row that outlasts LEND_S stops the waiting
        for LEND_BACKOFF_S, so slow jobs cost the loop at most two such waits a second.
        """
        now = time.monotonic()
        if now < self.lend_after:
            return False
        with self.lock:
            self.lending = self.finished != self.submitted
        if self.lending:
            self.burst_over.wait(LEND_S)
            with self.lock:
                self.lending = False
                self.quick = self.finished == self.submitted
            self.slow_bursts = 0 if self.quick else self.slow_bursts + 1
            if self.slow_bursts > 1:  # not a hiccup (a collection, a preemption): slow jobs
                self.lend_after = now + LEND_BACKOFF_S
            self.burst_over.clear()
        self._deliver()
        return True

    def _gather(self) -> None:
        self.loop.call_later(GATHER_S, self._deliver)

    def _deliver(self) -> None:
        self.signalled = False  # before draining: a result appended after this re-signals
        outbox = self.outbox
        if outbox:  # only the loop takes from it: what is there now stays there
            self.on_done([outbox.popleft() for _ in range(len(outbox))])
