"""Run the app's worker lifecycle hooks inside one worker process (see jobq.hooks).

Start hooks run in order before the first job; the first one that raises stops the
process with EXIT_START_FAILED, after one error line naming the hook and a record in
Redis (jobq.startfail) for `jobq stats`; its pool waits longer before each new try
(start_backoff). Stop hooks run in order after the last job, sharing what is left of the
shutdown timeout (at least STOP_GRACE_S); one that raises or overruns is logged and the
next still runs. If a start hook failed, no stop hook runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import structlog

from jobq.app import App
from jobq.broker import AsyncBroker
from jobq.errors import BrokerError, JobqError
from jobq.hooks import WorkerContext, enter_worker, hook_name

log = structlog.get_logger("jobq.worker")

EXIT_START_FAILED = 4  # an on_worker_start hook raised; the pool retries with a growing wait
START_BACKOFF_MIN_S = 1.0
START_BACKOFF_MAX_S = 60.0
STOP_GRACE_S = 1.0
RECORD_TIMEOUT_S = 2.0


def start_backoff(failures: int) -> float:
    """Seconds the pool waits before starting a process again after `failures` failed starts
    in a row: 1, 2, 4 ... capped at START_BACKOFF_MAX_S (never a tight respawn loop)."""
    return float(min(START_BACKOFF_MAX_S, START_BACKOFF_MIN_S * 2.0 ** min(max(failures - 1, 0), 16)))


def error_text(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Lifecycle:
    """The hooks of one worker process, and whether its start hooks all succeeded."""

    def __init__(
        self, app: App, worker_id: str, host: str, queues: Sequence[str], broker: AsyncBroker
    ) -> None:
        self.app = app
        self.worker_id = worker_id
        self.host = host
        self.broker = broker
        self.context = WorkerContext(worker_id, tuple(queues))
        self.started = False
        self.pool = f"{host}:{os.getppid()}"

    async def start(self) -> bool:
        """Make the context current and run the start hooks; False if one raised."""
        enter_worker(self.context)
        for hook in self.app.start_hooks:
            try:
                result = hook()
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                await self._start_failed(hook, exc)
                return False
        self.started = True
        if self.app.start_hooks:
            await self._guard_redis(self.broker.clear_start_failure(self.pool))
        return True

    async def start_or_raise(self) -> None:
        """start(), for Worker.step (tests, embedding): JobqError if a start hook raised."""
        if not await self.start():
            raise JobqError("an on_worker_start hook failed: see worker.start_failed in the log")

    async def _start_failed(self, hook: Callable[..., Any], exc: BaseException) -> None:
        name, error = hook_name(hook), error_text(exc)
        log.error("worker.start_failed", hook=name, error=error, worker=self.worker_id)
        fields = {"host": self.host, "pid": os.getppid(), "hook": name, "error": error}
        await self._guard_redis(self.broker.record_start_failure(self.pool, fields))

    async def _guard_redis(self, call: Any) -> None:
        """Best effort: a record that cannot be written must not hold the process up."""
        with contextlib.suppress(BrokerError, asyncio.TimeoutError):
            await asyncio.wait_for(call, RECORD_TIMEOUT_S)

    async def stop(self, deadline: float) -> None:
        """Run the stop hooks (if the start hooks all ran), each within what is left."""
        if not self.started:
            return
        self.started = False  # once, whoever asks first (run, or close after step)
        for hook in self.app.stop_hooks:
            budget = max(STOP_GRACE_S, deadline - time.monotonic())
            try:
                await asyncio.wait_for(_call(hook), budget)
            except asyncio.TimeoutError:
                log.error("worker.stop_hook_timeout", hook=hook_name(hook), timeout_s=round(budget, 2))
            except Exception as exc:
                log.error("worker.stop_hook_failed", hook=hook_name(hook), error=error_text(exc))


async def _call(hook: Callable[..., Any]) -> None:
    """Await an async hook; run a sync one on a daemon thread, so that one that hangs is
    left behind at the deadline instead of holding the process (or asyncio's executor)."""
    if inspect.iscoroutinefunction(hook):
        await hook()
        return
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        if not done.done():
            done.set_exception(error) if error is not None else done.set_result(None)

    def target() -> None:
        error: BaseException | None = None
        try:
            result = hook()
            if inspect.isawaitable(result):
                raise TypeError("a sync stop hook returned an awaitable; declare it async def")
        except BaseException as exc:
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
            loop.call_soon_threadsafe(settle, error)

    ctx = contextvars.copy_context()
    threading.Thread(target=ctx.run, args=(target,), name="jobq-stop-hook", daemon=True).start()
    await done
