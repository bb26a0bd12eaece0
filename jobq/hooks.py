"""Worker lifecycle hooks: what `@app.on_worker_start` / `@app.on_worker_stop` register, and
the per-process state tasks read through `jobq.current_worker()`.

A hook takes no arguments and may be sync or async. It runs once in each worker process
(never in the pool supervisor): start hooks before the process takes its first job, stop
hooks after its last job has finished. Hooks share one `WorkerContext` per process; put
what they open on its `state` and read it back in tasks::

    @app.on_worker_start
    def open_pool() -> None:
        jobq.current_worker().state.db = make_pool()

    @app.task
    def count_users() -> int:
        return jobq.current_worker().state.db.count("users")
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, TypeVar

from jobq.errors import ConfigError, JobqError

H = TypeVar("H", bound=Callable[..., Any])


@dataclass(eq=False)
class WorkerContext:
    """One worker process as its hooks and tasks see it; `state` is theirs to fill."""

    id: str
    queues: tuple[str, ...]
    state: SimpleNamespace = field(default_factory=SimpleNamespace)


_current_worker: ContextVar[WorkerContext | None] = ContextVar("jobq_current_worker", default=None)


def current_worker() -> WorkerContext:
    """The WorkerContext of the worker running this code; JobqError outside a worker."""
    ctx = _current_worker.get()
    if ctx is None:
        raise JobqError("current_worker() called outside a jobq worker")
    return ctx


def enter_worker(ctx: WorkerContext) -> None:
    """Make `ctx` current for this worker's event loop and everything it starts."""
    _current_worker.set(ctx)


def hook_name(fn: Callable[..., Any]) -> str:
    module = getattr(fn, "__module__", None) or "?"
    return f"{module}.{getattr(fn, '__qualname__', repr(fn))}"


def check_hook(fn: H, kind: str) -> H:
    """`fn` if it can be called with no arguments; ConfigError naming it if not."""
    if not callable(fn):
        raise ConfigError(f"@app.{kind} expects a function, got {type(fn).__name__} {fn!r}")
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return fn  # a builtin without a signature: trust it
    try:
        signature.bind()
    except TypeError:
        params = ", ".join(signature.parameters)
        raise ConfigError(
            f"@app.{kind} hook {hook_name(fn)}({params}) must take no arguments "
            "(read the worker's state with jobq.current_worker())"
        ) from None
    return fn
