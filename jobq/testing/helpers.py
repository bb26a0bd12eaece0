"""drain(), BackgroundWorker and is_idle: a real worker in the test process, without pytest."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

from jobq.app import App
from jobq.stats import snapshot
from jobq.worker.consumer import Worker

TEST_BLOCK_MS = 100  # short blocking reads: a test worker stops within ~0.1 s


def is_idle(app: App, queues: Sequence[str] | None = None, *, scheduled: bool = True) -> bool:
    """No job ready, running or (if `scheduled`) waiting for a delay or retry in `queues`."""
    names = list(queues or app.queues())
    for q in snapshot(app.broker, names).queues:
        if q.backlog or q.in_flight or (scheduled and q.scheduled):
            return False
    return True


def drain(
    app: App,
    queues: Sequence[str] | None = None,
    *,
    timeout: float = 10.0,
    concurrency: int = 4,
    scheduled: bool = True,
) -> int:
    """Run a worker in this thread until `queues` are idle (see is_idle); returns jobs settled.

    Waits for delayed jobs and retry backoffs too unless `scheduled=False`. Raises
    TimeoutError if the queues are not idle within `timeout` seconds. Not for use inside a
    running event loop (use BackgroundWorker there).
    """

    async def run() -> int:
        worker = Worker(app, queues, concurrency, block_ms=TEST_BLOCK_MS)
        deadline = time.monotonic() + timeout
        settled = 0
        try:
            while True:
                done = await worker.step(block_ms=TEST_BLOCK_MS // 2)
                settled += done
                if not done and is_idle(app, worker.queues, scheduled=scheduled):
                    return settled
                if time.monotonic() > deadline:
                    raise TimeoutError(f"jobq queues {worker.queues} not idle after {timeout}s")
        finally:
            await worker.close()

    return asyncio.run(run())


class _NoSignalLoop(asyncio.SelectorEventLoop):
    """An event loop for a worker thread: signals belong to the main thread (the test runner)."""

    def add_signal_handler(  # type: ignore[override]  # accepts any callback, installs nothing
        self, sig: int, callback: Callable[..., object], *args: Any
    ) -> None:
        return None


class BackgroundWorker:
    """A jobq Worker running `Worker.run()` in a thread of this process until stopped."""

    def __init__(self, app: App, queues: Sequence[str] | None = None, concurrency: int = 4) -> None:
        self.app = app
        self.worker = Worker(app, queues, concurrency, shutdown_timeout=10.0, block_ms=TEST_BLOCK_MS)
        self._loop = _NoSignalLoop()
        self._thread = threading.Thread(target=self._main, name="jobq-test-worker", daemon=True)
        self._error: BaseException | None = None
        self.exit_code: int | None = None

    @property
    def queues(self) -> list[str]:
        return self.worker.queues

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self.exit_code = self._loop.run_until_complete(self.worker.run())
        except BaseException as exc:  # surfaced to the test by stop()
            self._error = exc
        finally:
            self._loop.close()

    def start(self) -> BackgroundWorker:
        self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def wait_until_idle(self, timeout: float = 10.0, *, scheduled: bool = True) -> None:
        """Block until this worker's queues are idle (see is_idle); TimeoutError if not in time."""
        deadline = time.monotonic() + timeout
        while not is_idle(self.app, self.queues, scheduled=scheduled):
            if not self.alive:
                self.stop()
                raise RuntimeError("the jobq test worker stopped before the queues were idle")
            if time.monotonic() > deadline:
                raise TimeoutError(f"jobq queues {self.queues} not idle after {timeout}s")
            time.sleep(0.02)

    def stop(self, timeout: float = 15.0) -> None:
        """Stop fetching, let jobs in flight finish, and join the thread; re-raises its crash."""
        if self._thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                self._loop.call_soon_threadsafe(self.worker.stop, "test finished")
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError(f"the jobq test worker did not stop within {timeout}s")
        if self._error is not None:
            error, self._error = self._error, None
            raise RuntimeError("the jobq test worker crashed") from error

    def __enter__(self) -> BackgroundWorker:
        return self.start() if not self._thread.is_alive() else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
