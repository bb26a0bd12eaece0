"""Tasks a worker starts beside its main loop. asyncio keeps the exception that ends such a
task until someone asks for it (and mentions it, if at all, when the task is collected): a
failure there would go unseen while the work it was doing stays undone. `watch` logs it as
an error at once, naming what failed, and lets the worker react."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import structlog

log = structlog.get_logger("jobq.worker")

T = TypeVar("T", bound="asyncio.Task[Any]")


def watch(task: T, what: str, on_failure: Callable[[str], None] | None = None, /, **fields: Any) -> T:
    """Log the exception that ends `task` (not a cancellation) as `worker.task_failed`, then
    call `on_failure` with a one-line reason."""
    task.add_done_callback(partial(_report, what, on_failure, fields))
    return task


def _report(
    what: str, on_failure: Callable[[str], None] | None, fields: dict[str, Any], task: asyncio.Task[Any]
) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is None:
        return
    error = f"{type(exc).__name__}: {exc}"
    log.error("worker.task_failed", what=what, error=error, exc_info=exc, **fields)
    if on_failure is not None:
        on_failure(f"{what} failed: {error}")
