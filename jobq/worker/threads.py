"""Sync tasks run on threads; this module can also interrupt one of those threads.

Python cannot kill a thread. A timeout or cancel raises an exception inside the thread at
its next bytecode; a thread stuck in C code ignores that, and then the worker process is
recycled by its pool (see Worker.taint).
"""

from __future__ import annotations

import ctypes
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from jobq.envelope import Envelope
from jobq.execute import Finished, run_sync
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


def _thread_main(slot: RunSlot, task: Task[Any, Any], env: Envelope, info: JobInfo) -> Finished:
    with slot.lock:
        slot.thread_id = threading.get_ident()
    try:
        return run_sync(task, env, info)
    finally:
        with slot.lock:
            slot.thread_id = None


class ThreadRunner:
    """A fixed pool of threads for sync tasks."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.executor = self._new()

    def _new(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="jobq-task")

    def replace(self) -> None:
        """Start a fresh set of threads, leaving the current jobs to finish on the old ones.

        Called when a job's thread may be stuck past its timeout: its slot is given back
        at once, and the next job must not queue behind the stuck thread.
        """
        old, self.executor = self.executor, self._new()
        old.shutdown(wait=False)

    def submit(self, slot: RunSlot, task: Task[Any, Any], env: Envelope, info: JobInfo) -> Future[Finished]:
        return self.executor.submit(_thread_main, slot, task, env, info)

    def shutdown(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
