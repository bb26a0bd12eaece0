"""Pool: the supervisor process. Forks the worker processes, keeps their number, and
drains them on SIGTERM/SIGINT (at once, releasing their jobs, on a second one or SIGQUIT)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from jobq.app import App
from jobq.worker.consumer import EXIT_OK, EXIT_RECYCLE, Worker
from jobq.worker.lifecycle import EXIT_START_FAILED, start_backoff
from jobq.worker.shutdown import HURRY_SIGNAL, STOP_SIGNALS

log = structlog.get_logger("jobq.pool")

RESPAWN_BACKOFF_MAX_S = 10.0
KILL_GRACE_S = 5.0
BLOCKED_ACROSS_FORK = {*STOP_SIGNALS, HURRY_SIGNAL}
HURRYING_NOTE = "stopping now: unfinished jobs are released for other workers"


@dataclass
class WorkerSettings:
    queues: list[str]
    concurrency: int = 1
    weights: dict[str, int] = field(default_factory=dict)  # -q NAME:WEIGHT (absent: 1)
    shutdown_timeout: float = 30.0
    max_jobs_per_child: int | None = None
    burst: bool = False
    max_memory_mb: int | None = None


@dataclass
class Child:
    name: str
    target: Callable[[], int]
    pid: int = 0
    started: float = 0.0
    failures: int = 0
    start_failures: int = 0  # failed starts in a row (an on_worker_start hook raised)
    restart_at: float = 0.0
    done: bool = False  # a burst worker that emptied its queues
    is_worker: bool = False


def run_worker_process(app: App, settings: WorkerSettings) -> int:
    worker = Worker(
        app,
        settings.queues,
        settings.concurrency,
        weights=settings.weights,
        max_jobs=settings.max_jobs_per_child,
        shutdown_timeout=settings.shutdown_timeout,
        burst=settings.burst,
        max_memory_mb=settings.max_memory_mb,
        repeat_hurries=False,  # the supervisor counts the signals and passes on what they mean
    )
    # Everything alive now (modules, the app, its tasks) lives as long as the process: the
    # collector need not scan it again at every full collection (a few % of a no-op job's CPU).
    gc.freeze()
    return asyncio.run(worker.run())


@dataclass
class Pool:
    """Supervises `processes` worker processes (plus any extra children such as cron)."""

    app: App
    settings: WorkerSettings
    processes: int = 1
    extra: dict[str, Callable[[], int]] = field(default_factory=dict)
    on_child_start: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        self.children: list[Child] = [
            Child(f"worker-{i}", lambda: run_worker_process(self.app, self.settings), is_worker=True)
            for i in range(self.processes)
        ]
        self.children += [Child(name, fn) for name, fn in self.extra.items()]
        self.stopping = False
        self.hurry = False
        self.received: list[signal.Signals] = []
        self.noted = 0

    def _on_signal(self, signum: int, _frame: object) -> None:
        self.received.append(signal.Signals(signum))  # logged by the loop: a handler may cut a line
        self.stopping = True

    def _take_signals(self) -> None:
        """Say what each signal received does: the first SIGTERM/SIGINT drains, a second
        one or SIGQUIT stops now."""
        while self.noted < len(self.received):
            sig = self.received[self.noted]
            self.noted += 1
            if sig == HURRY_SIGNAL or self.noted > 1:
                if not self.hurry:
                    self.hurry = True
                    log.warning("pool.hurrying", signal=sig.name, note=HURRYING_NOTE)
            else:
                timeout = self.settings.shutdown_timeout
                note = f"finishing the jobs in flight, up to {timeout:g} s; press Ctrl-C again to stop now"
                log.info("pool.stopping", signal=sig.name, note=note)

    def run(self) -> int:
        for sig in BLOCKED_ACROSS_FORK:
            signal.signal(sig, self._on_signal)
        log.info(
            "pool.started",
            pid=os.getpid(),
            processes=self.processes,
            queues=self.settings.queues,
            concurrency=self.settings.concurrency,
        )
        self._spawn_all()
        while not self.stopping:
            self._reap()
            now = time.monotonic()
            for child in self.children:
                if child.pid == 0 and not child.done and now >= child.restart_at:
                    self._spawn(child)
            if self.settings.burst and all(c.done for c in self.children if c.is_worker):
                log.info("pool.burst_done")
                self.stopping = True
            time.sleep(0.05)
        return self._shutdown()

    def _spawn_all(self) -> None:
        """Start every child, stopping at the first signal and reaping as it goes: a large
        pool must neither outlive a SIGTERM nor pile up zombies while it starts."""
        for child in self.children:
            if self.stopping:
                started = sum(1 for c in self.children if c.pid)
                log.info("pool.spawn_interrupted", started=started, of=len(self.children))
                return
            self._spawn(child)
            self._reap()

    def _spawn(self, child: Child) -> None:
        # Signals stay blocked across fork until the child has its own handlers: a SIGTERM
        # landing in between would otherwise hit the supervisor's handler copied into the
        # child, and that child would never stop.
        signal.pthread_sigmask(signal.SIG_BLOCK, BLOCKED_ACROSS_FORK)
        try:
            pid = os.fork()
        except OSError:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, BLOCKED_ACROSS_FORK)
            raise
        if pid == 0:  # the child
            code = 1
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                signal.signal(HURRY_SIGNAL, _exit_now)  # until a worker has its own handler
                signal.pthread_sigmask(signal.SIG_UNBLOCK, BLOCKED_ACROSS_FORK)
                if self.on_child_start is not None:
                    self.on_child_start()
                code = child.target()
            except BaseException as exc:
                log.exception("pool.child_crashed", child=child.name, error=repr(exc))
            finally:
                os._exit(code)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, BLOCKED_ACROSS_FORK)
        child.pid = pid
        child.started = time.monotonic()
        log.debug("pool.child_started", child=child.name, pid=pid)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                for child in self.children:
                    child.pid = 0
                return
            if pid == 0:
                return
            for child in self.children:
                if child.pid == pid:
                    self._exited(child, status)

    def _exited(self, child: Child, status: int) -> None:
        child.pid = 0
        code = os.waitstatus_to_exitcode(status)
        if self.stopping:
            return
        if self.settings.burst and child.is_worker and code == EXIT_OK:
            child.done = True
            return
        if code == EXIT_START_FAILED:
            child.start_failures += 1
            child.restart_at = time.monotonic() + start_backoff(child.start_failures)
            log.warning(
                "pool.child_start_failed",
                child=child.name,
                failed_starts=child.start_failures,
                respawn_in_s=start_backoff(child.start_failures),
            )
            return
        child.start_failures = 0
        if code == EXIT_RECYCLE:
            log.info("pool.child_recycled", child=child.name)
            child.failures, child.restart_at = 0, 0.0
            return
        lived = time.monotonic() - child.started
        child.failures = 0 if lived > 30 else child.failures + 1
        delay = min(RESPAWN_BACKOFF_MAX_S, 0.1 * (2 ** max(0, child.failures - 1)))
        if child.failures <= 1:
            delay = 0.0
        child.restart_at = time.monotonic() + delay
        how = f"signal {-code}" if code < 0 else f"exit code {code}"
        log.warning("pool.child_died", child=child.name, how=how, respawn_in_s=round(delay, 2))

    def _shutdown(self) -> int:
        self._take_signals()
        live = [c for c in self.children if c.pid]
        for child in live:
            _signal(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.settings.shutdown_timeout + KILL_GRACE_S
        hurried = False
        while any(c.pid for c in self.children) and time.monotonic() < deadline:
            self._take_signals()
            if self.hurry and not hurried:  # workers release their jobs and exit
                hurried = True
                for child in self.children:
                    if child.pid and child.is_worker:
                        _signal(child.pid, HURRY_SIGNAL)
                deadline = min(deadline, time.monotonic() + KILL_GRACE_S)
            self._reap()
            time.sleep(0.05)
        for child in self.children:
            if child.pid:
                log.warning("pool.child_killed", child=child.name, pid=child.pid)
                _signal(child.pid, signal.SIGKILL)
        while any(c.pid for c in self.children):
            self._reap()
            time.sleep(0.01)
        log.info("pool.stopped")
        return EXIT_OK


def _exit_now(_signum: int, _frame: object) -> None:
    os._exit(EXIT_OK)


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
