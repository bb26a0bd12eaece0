"""Middleware: code that runs around every enqueue and every attempt, in order.

Subclass `jobq.Middleware`, override the hooks you need (all optional, all plain `def`),
and install an instance with `app.add_middleware(m)`. Hooks run in the order the
middleware was added on the way in (`before_*`) and in reverse on the way out.

Producer side, in the process that enqueues:

- ``before_enqueue(job)``: may add `job.headers`; raising refuses the enqueue: the
  exception reaches the caller and nothing is enqueued.
- ``after_enqueue(job, error)``: once the call is over; `error` is None when the job was
  written, else what the caller is about to get. Errors here are logged and ignored.

Worker side, in the context the task runs in (its thread, or its asyncio task):

- ``before_run(job)``: before each attempt. Raising `jobq.Retry` or `jobq.Reject` on
  purpose acts as if the task had raised it (the task is not called); any other error is
  a bug in the middleware: logged (`middleware.failed`) and the task runs anyway.
- ``on_error(job, error)``: the attempt raised (also a timeout, `Retry`, `Reject`).
- ``on_retry(job, error, delay)``: the job will run again in `delay` seconds.
- ``on_dead_letter(job, reason, error)``: the job goes to the dead-letter stream.
- ``after_run(job, outcome)``: after every attempt, last.
  Errors in these four are logged and ignored: the outcome is already decided, so a
  broken metrics middleware never loses or repeats a job.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from jobq.envelope import encode_value
from jobq.errors import ConfigError, SerializationError
from jobq.job import JobInfo


def __getattr__(name: str) -> Any:
    """`log`, made on first use: structlog (and rich under it) is not imported with jobq."""
    if name != "log":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import structlog

    globals()["log"] = logger = structlog.get_logger("jobq.middleware")
    return logger


MAX_HEADER_BYTES = 8192  # of the headers' JSON: they travel with every job


@dataclass(slots=True)
class EnqueueInfo:
    """A job about to be enqueued, as `before_enqueue` / `after_enqueue` see it."""

    id: str
    task: str
    queue: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    headers: dict[str, Any] = field(default_factory=dict)  # add to it in before_enqueue


@dataclass(slots=True)  # not frozen: made for every attempt, and a frozen __init__ costs more
class RunOutcome:
    """How one attempt ended, for `after_run`.

    status: "succeeded", "retrying", "dead" or "cancelled"; `error` is what the attempt
    raised (None on success), `reason` why it was dead-lettered, `retry_in` the seconds
    until the next attempt, `duration_s` how long the attempt ran.
    """

    status: str
    duration_s: float
    error: BaseException | None = None
    reason: str = ""
    retry_in: float | None = None


class Middleware:
    """Base class of middleware: every hook does nothing until overridden."""

    def before_enqueue(self, job: EnqueueInfo) -> None:
        """Before a job is written; may set `job.headers`; raise to refuse the enqueue."""

    def after_enqueue(self, job: EnqueueInfo, error: BaseException | None) -> None:
        """After the enqueue call; `error` is None when the job was written."""

    def before_run(self, job: JobInfo) -> None:
        """Before an attempt, in the task's context; raise Retry/Reject to refuse it."""

    def on_error(self, job: JobInfo, error: BaseException) -> None:
        """The attempt raised `error`."""

    def on_retry(self, job: JobInfo, error: BaseException | None, delay: float) -> None:
        """The job will run again in `delay` seconds."""

    def on_dead_letter(self, job: JobInfo, reason: str, error: BaseException | None) -> None:
        """The job is dead-lettered for `reason`."""

    def after_run(self, job: JobInfo, outcome: RunOutcome) -> None:
        """After every attempt, whatever its outcome."""


HOOK_ARITY = {
    "before_enqueue": 1,
    "after_enqueue": 2,
    "before_run": 1,
    "on_error": 2,
    "on_retry": 3,
    "on_dead_letter": 3,
    "after_run": 2,
}
ENQUEUE_HOOKS = ("before_enqueue", "after_enqueue")


def as_middleware(m: Any) -> Middleware:
    """An instance of a Middleware subclass (a subclass itself is instantiated), its
    overridden hooks checked: plain functions taking the documented arguments."""
    if isinstance(m, type) and issubclass(m, Middleware):
        try:
            m = m()
        except TypeError as exc:
            raise ConfigError(f"cannot make {m.__name__}() for add_middleware: {exc}") from None
    if not isinstance(m, Middleware):
        raise ConfigError(f"add_middleware expects a jobq.Middleware subclass, got {type(m).__name__} {m!r}")
    for name in overridden(m):
        _check_hook(m, name)
    return m


def overridden(m: Middleware) -> list[str]:
    return [name for name in HOOK_ARITY if getattr(type(m), name, None) is not getattr(Middleware, name)]


def _check_hook(m: Middleware, name: str) -> None:
    where = f"{type(m).__name__}.{name}"
    hook = getattr(m, name)
    if not callable(hook):
        raise ConfigError(f"middleware hook {where} is not callable")
    if inspect.iscoroutinefunction(hook):
        raise ConfigError(f"middleware hook {where} must be a plain def: hooks are called synchronously")
    try:
        inspect.signature(hook).bind(*range(HOOK_ARITY[name]))
    except TypeError:
        expected = ", ".join(inspect.signature(getattr(Middleware(), name)).parameters)
        raise ConfigError(f"middleware hook {where} must accept ({expected})") from None
    except ValueError:
        return  # no signature to check (a builtin)


def headers_of(headers: Any) -> dict[str, Any]:
    """A copy of the caller's headers for the middleware to add to (None: empty)."""
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise SerializationError(f"headers must be a dict, got {type(headers).__name__}")
    return dict(headers)


def checked_headers(headers: Any) -> dict[str, Any] | None:
    """The headers to put in the envelope (None if empty); SerializationError if they are
    not an object of JSON values with string names, or their JSON is over MAX_HEADER_BYTES."""
    if not headers:
        return None
    if not isinstance(headers, Mapping):
        raise SerializationError(f"headers must be a dict, got {type(headers).__name__}")
    for name in headers:
        if not isinstance(name, str):
            raise SerializationError(f"header names must be strings, got {name!r}")
    try:
        text = encode_value(dict(headers))
    except SerializationError as exc:
        raise SerializationError(
            f"headers are not JSON: {str(exc).removeprefix('cannot encode result: ')}"
        ) from None
    size = len(text.encode())
    if size > MAX_HEADER_BYTES:
        raise SerializationError(f"headers are {size} bytes of JSON, over the {MAX_HEADER_BYTES} byte limit")
    return dict(headers)


class Chain:
    """The middleware of one App, kept in order, with each hook's implementers listed once
    so that a hook nobody overrides costs nothing."""

    def __init__(self) -> None:
        self.items: list[Middleware] = []
        self.hooks: dict[str, list[Callable[..., Any]]] = {name: [] for name in HOOK_ARITY}
        self.enqueues = False  # some middleware has an enqueue hook
        self.runs = False  # some middleware has a worker-side hook

    def add(self, m: Middleware) -> None:
        self.items.append(m)
        for name in overridden(m):
            self.hooks[name].append(getattr(m, name))
        self.enqueues = any(self.hooks[n] for n in ENQUEUE_HOOKS)
        self.runs = any(hooks for n, hooks in self.hooks.items() if n not in ENQUEUE_HOOKS)

    def enqueue(self, jobs: Sequence[EnqueueInfo], write: Callable[[], None]) -> None:
        """Run the before hooks of every job, check their headers, `write()` them all, then
        the after hooks of every job (also when a before hook or the write raised)."""
        try:
            for job in jobs:
                for hook in self.hooks["before_enqueue"]:
                    hook(job)
                job.headers = checked_headers(job.headers) or {}
            write()
        except BaseException as exc:
            self._after_enqueue(jobs, exc)
            raise
        self._after_enqueue(jobs, None)

    def _after_enqueue(self, jobs: Sequence[EnqueueInfo], error: BaseException | None) -> None:
        for job in jobs:
            for hook in reversed(self.hooks["after_enqueue"]):
                guarded(hook, job.id, job, error)


def guarded(hook: Callable[..., Any], job_id: str, *args: Any) -> None:
    """Call a hook whose errors must not change what happens to the job: log them."""
    try:
        hook(*args)
    except Exception as exc:
        import structlog  # an error path: importing it here keeps it out of `import jobq`

        structlog.get_logger("jobq.middleware").error(
            "middleware.failed",
            hook=getattr(hook, "__qualname__", repr(hook)),
            job_id=job_id,
            error=f"{type(exc).__name__}: {exc}",
        )


class LogHeaders(Middleware):
    """Bind the named headers of each job into structlog's context while it runs
    (`App(log_headers=["request_id"])`): every line the task logs carries them."""

    def __init__(self, names: Sequence[str]) -> None:
        if isinstance(names, str) or not all(isinstance(n, str) and n for n in names):
            raise ConfigError(f"log_headers must be a list of header names, got {names!r}")
        self.names = tuple(names)
        from structlog import contextvars  # only apps that ask for log headers import it

        self._contextvars = contextvars
        self._bound: ContextVar[Mapping[str, Any] | None] = ContextVar("jobq_log_headers", default=None)

    def before_run(self, job: JobInfo) -> None:
        found = {n: job.headers[n] for n in self.names if n in job.headers}
        self._bound.set(self._contextvars.bind_contextvars(**found) if found else None)

    def after_run(self, job: JobInfo, outcome: RunOutcome) -> None:
        tokens = self._bound.get()
        if tokens:
            self._contextvars.reset_contextvars(**tokens)
            self._bound.set(None)
