"""Sync tasks run on a fixed set of threads, handed jobs through a queue; finished jobs come
back to the event loop in bursts (one wake-up per burst, not one per job).

Python cannot kill a thread. A timeout or cancel raises an exception inside the thread at
its next bytecode; a thread stuck in C code ignores that: it is replaced by a new thread
at once, and the worker process is recycled by its pool (see Worker.taint).
"""

from __future__ import annotations

import asyncio
import ctypes
import queue
import threading
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


class ThreadRunner:
    """`size` threads running sync jobs; results go to `on_done(token, finished)` on the loop."""

    def __init__(
        self, size: int, loop: asyncio.AbstractEventLoop, on_done: Callable[[Any, Finished], None]
    ) -> None:
        self.size = size
        self.loop = loop
        self.on_done = on_done
        self.inbox: queue.SimpleQueue[Work | None] = queue.SimpleQueue()
        self.outbox: deque[tuple[Any, Finished]] = deque()
        self.signalled = False
        self.surplus = 0  # threads to retire: replacements were started for stuck ones
        self.surplus_lock = threading.Lock()
        self.threads = [self._spawn() for _ in range(size)]

    def _spawn(self) -> threading.Thread:
        thread = threading.Thread(target=self._serve, name="jobq-task", daemon=True)
        thread.start()
        return thread

    def submit(self, token: Any, slot: RunSlot, task: Task[Any, Any], env: Envelope, info: JobInfo) -> None:
        self.inbox.put((token, slot, task, env, info))

    def replace_one(self) -> None:
        """A job's thread may be stuck: start another so the pool keeps its size."""
        with self.surplus_lock:
            self.surplus += 1
        self.threads.append(self._spawn())

    def shutdown(self) -> None:
        for _ in self.threads:
            self.inbox.put(None)

    def _serve(self) -> None:
        while (work := self.inbox.get()) is not None:
            token, slot, task, env, info = work
            try:
                with slot.lock:
                    slot.thread_id = threading.get_ident()
                try:
                    fin = run_sync(task, env, info)
                finally:
                    with slot.lock:
                        slot.thread_id = None
            except BaseException as exc:
                fin = classify(exc, task, env)
            self.outbox.append((token, fin))
            if not self.signalled:
                self.signalled = True
                self.loop.call_soon_threadsafe(self._deliver)
            if self.surplus:
                with self.surplus_lock:
                    if self.surplus:
                        self.surplus -= 1
                        return

    def _deliver(self) -> None:
        self.signalled = False  # before draining: a result appended after this re-signals
        outbox, on_done = self.outbox, self.on_done
        while outbox:
            token, fin = outbox.popleft()
            on_done(token, fin)
