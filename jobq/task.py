"""Task: a registered function. Calling it runs it here; delay/enqueue send it to a worker."""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar, overload

from jobq.config import check_queue_name
from jobq.envelope import Envelope, batch_encoder, encode
from jobq.errors import ConfigError
from jobq.flow import (
    DEFAULT_PRIORITY,
    Expiry,
    Rate,
    check_concurrency,
    check_key_function,
    check_priority,
    expires_at,
    expiry_seconds,
    limit_key,
    parse_rate,
)
from jobq.job import Job, JobOwner
from jobq.middleware import Chain, EnqueueInfo
from jobq.protocol import NewJob
from jobq.retry import Policy
from jobq.workflow.signature import Signature

P = ParamSpec("P")
P2 = ParamSpec("P2")
R = TypeVar("R")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TaskOptions:
    """A task's settings (the README's "Writing tasks" table gives the defaults)."""

    name: str
    queue: str
    retries: int = 3
    retry_on: tuple[type[BaseException], ...] = (Exception,)
    backoff: float = 1.0
    backoff_max: float = 3600.0
    timeout: float | None = None
    result_ttl: int = 86400
    expires: float | None = None  # seconds after enqueue a job may still start (checked)
    rate_limit: str | None = None  # "N/s", "N/m" or "N/h", fleet-wide
    rate_limit_key: Callable[..., str] | None = None
    concurrency: int | None = None  # runs at once, fleet-wide
    concurrency_key: Callable[..., str] | None = None
    priority: int = DEFAULT_PRIORITY  # 0..9, higher starts first within the queue
    rate: Rate | None = field(default=None, init=False)  # rate_limit, parsed
    # a rate limit or a concurrency cap: a worker asks Redis before starting a job (read for
    # every job a worker takes, so computed once)
    limited: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        check_queue_name(self.queue)
        where = f"task {self.name}"
        expiry_seconds(self.expires, where)
        check_priority(self.priority, where)
        object.__setattr__(self, "rate", parse_rate(self.rate_limit, where))
        check_concurrency(self.concurrency, where)
        check_key_function(self.rate_limit_key, "rate_limit_key", where)
        check_key_function(self.concurrency_key, "concurrency_key", where)
        if self.rate_limit_key is not None and self.rate is None:
            raise ConfigError(f"{where}: rate_limit_key needs a rate_limit")
        if self.concurrency_key is not None and self.concurrency is None:
            raise ConfigError(f"{where}: concurrency_key needs a concurrency")
        object.__setattr__(self, "limited", self.rate is not None or self.concurrency is not None)
        if self.retries < 0:
            raise ConfigError(f"{where}: retries must be >= 0")
        if self.timeout is not None and self.timeout <= 0:
            raise ConfigError(f"{where}: timeout must be positive")
        if self.backoff < 0 or self.backoff_max < 0:
            raise ConfigError(f"{where}: backoff must be >= 0")
        if self.result_ttl < 0:
            raise ConfigError(f"{where}: result_ttl must be >= 0")

    def limit_keys(self, args: Sequence[Any], kwargs: dict[str, Any]) -> tuple[str, str]:
        """(rate key, cap key) of one call, from the key functions (ConfigError if one raises)."""
        where = f"task {self.name}"
        rate_key = limit_key(self.rate_limit_key, "rate_limit_key", where, args, kwargs)
        return rate_key, limit_key(self.concurrency_key, "concurrency_key", where, args, kwargs)

    @property
    def policy(self) -> Policy:
        return Policy(self.retries, self.backoff, self.backoff_max)


def new_job_id() -> str:
    """128 random bits as 32 hex digits, like uuid4().hex without building a UUID."""
    return os.urandom(16).hex()


def new_job_ids(n: int) -> list[str]:
    """n ids as new_job_id makes them, from one read of the system's random source."""
    digits = os.urandom(16 * n).hex()
    return [digits[i : i + 32] for i in range(0, 32 * n, 32)]


def to_delay_ms(delay: float | timedelta | None, at: datetime | None) -> tuple[int, int]:
    """(delay ms, at ms) for the enqueue script; the due time itself is set on Redis time."""
    if delay is not None and at is not None:
        raise ValueError("pass either delay or at, not both")
    if at is not None:
        if at.tzinfo is None:
            raise ValueError("at must be an aware datetime (with a timezone)")
        return 0, max(1, int(at.timestamp() * 1000))
    if delay is None:
        return 0, 0
    seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
    if seconds < 0:
        raise ValueError("delay must be >= 0")
    return int(seconds * 1000), 0


class TaskOwner(JobOwner, Protocol):
    """What a Task needs of its App (which imports this module, so not `App` itself)."""

    def submit(
        self,
        task_name: str,
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
        *,
        delay: float | timedelta | None = None,
        at: datetime | None = None,
        job_id: str | None = None,
        queue: str | None = None,
        expires: Expiry | None = None,
        headers: dict[str, Any] | None = None,
        after: Sequence[Job[Any] | str] | None = None,
        priority: int | None = None,
    ) -> Job[Any]: ...

    @property
    def middleware(self) -> Chain: ...


class Task(Generic[P, R]):
    """A function registered with an App.

    ``P`` is the function's parameters and ``R`` the value a job of it returns: for
    ``async def f(x: int) -> str`` that is ``Task[[int], str]`` and ``f.delay(1)`` is a
    ``Job[str]``. ``App.task`` makes a SyncTask or an AsyncTask, which also type the
    plain call.
    """

    def __init__(
        self, app: TaskOwner, fn: Callable[P, R] | Callable[P, Awaitable[R]], options: TaskOptions
    ) -> None:
        self.app = app
        self.fn = fn
        self.options = options
        self.policy = options.policy  # read for every finished run: built once
        self.name = options.name
        self.is_async = inspect.iscoroutinefunction(fn)
        self._signature: inspect.Signature | None = None
        self._positional_range: tuple[int, int] | None = None
        self._range_known = False
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn

    def __repr__(self) -> str:
        return f"<jobq.Task {self.name} queue={self.options.queue}>"

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Any:
        """Run the function here and now, as if it were not a task (a coroutine if async)."""
        return self.fn(*args, **kwargs)

    @property
    def signature(self) -> inspect.Signature:
        if self._signature is None:
            self._signature = inspect.signature(self.fn)
        return self._signature

    @property
    def positional_range(self) -> tuple[int, int] | None:
        """(required, accepted) positional counts when positional-only calls can be checked by
        counting alone (no *args, **kwargs or keyword-only parameters); else None."""
        if not self._range_known:
            self._range_known = True
            params = list(self.signature.parameters.values())
            plain = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
            if all(p.kind in plain for p in params):
                required = sum(p.default is inspect.Parameter.empty for p in params)
                self._positional_range = (required, len(params))
            else:
                self._positional_range = None
        return self._positional_range

    def check_arguments(self, args: Sequence[Any], kwargs: dict[str, Any]) -> None:
        """TypeError now, in the caller, rather than a dead letter later."""
        counts = None if kwargs else self.positional_range
        if counts is not None and counts[0] <= len(args) <= counts[1]:
            return  # the common call, checked without binding
        try:
            self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self.name}: {self._unexpected(kwargs) or exc}") from None

    def _unexpected(self, kwargs: dict[str, Any]) -> str:
        """The first keyword the function does not take, which `bind` reports only after any
        missing argument, though it is the likelier mistake: `delay(1, z=2)` for f(x, y)."""
        params = self.signature.parameters
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            return ""
        for name in kwargs:
            if name not in params or params[name].kind is inspect.Parameter.POSITIONAL_ONLY:
                return f"got an unexpected keyword argument {name!r}"
        return ""

    def delay(self, *args: P.args, **kwargs: P.kwargs) -> Job[R]:
        """Enqueue a call with these arguments; returns at once."""
        return self.enqueue(args=args, kwargs=kwargs)

    def enqueue(
        self,
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
        delay: float | timedelta | None = None,
        at: datetime | None = None,
        job_id: str | None = None,
        queue: str | None = None,
        expires: Expiry | None = None,
        headers: dict[str, Any] | None = None,
        after: Sequence[Job[Any] | str] | None = None,
        priority: int | None = None,
    ) -> Job[R]:
        """Enqueue with full control; a second enqueue of an unfinished job_id is a no-op.
        `expires`: seconds, timedelta or aware datetime after which it must not start;
        `headers` (JSON values) travel with the job: `jobq.current_job().headers`;
        `after`: jobs or job ids that must all succeed before it runs (status "waiting");
        `priority`: 0..9, higher starts first (default: the task's, else 5)."""
        kwargs = kwargs or {}
        self.check_arguments(args, kwargs)
        return self.app.submit(
            self.name,
            args,
            kwargs,
            delay=delay,
            at=at,
            job_id=job_id,
            queue=self.options.queue if queue is None else queue,
            expires=expires,
            headers=headers,
            after=after,
            priority=priority,
        )

    @overload
    def s(self, *args: P.args, **kwargs: P.kwargs) -> Signature[R]: ...
    @overload
    def s(self: Task[Concatenate[T, P2], R], *args: P2.args, **kwargs: P2.kwargs) -> Signature[R]: ...
    def s(self, *args: Any, **kwargs: Any) -> Signature[R]:
        """A call not yet enqueued: all arguments, or all but the first when it is a step that
        gets the previous result (a chain's next step, a chord's callback)."""
        return Signature(self, args, kwargs)

    def si(self, *args: P.args, **kwargs: P.kwargs) -> Signature[R]:
        """An immutable call: as a step it ignores the previous result; these are all its
        arguments."""
        return Signature(self, args, kwargs, immutable=True)

    def delay_many(self, calls: Iterable[Sequence[Any]], *, priority: int | None = None) -> list[Job[R]]:
        """Enqueue many calls (each a tuple of positional args) in pipelined batches, at
        `priority` (0..9; None: the task's)."""
        level = self.options.priority if priority is None else check_priority(priority, self.name)
        if self.app.middleware.enqueues:
            return self._delay_many_through_middleware(calls, level)
        now = time.time()
        expires = expires_at(None, self.options.expires, now, self.name)
        config, queue, counts = self.app.config, self.options.queue, self.positional_range
        todo = [tuple(args) for args in calls]
        for args in todo:  # all checked before any is sent
            if counts is None or not counts[0] <= len(args) <= counts[1]:
                self.check_arguments(args, {})
        ids = new_job_ids(len(todo))
        if self.options.limited:  # the limit keys of each call
            limit, key = config.max_payload_bytes, config.signing_key
            keys = [self.options.limit_keys(args, {}) for args in todo]
            texts = [
                encode(Envelope(i, self.name, a, {}, now, 0, expires, None, *k, level), limit, key)
                for i, a, k in zip(ids, todo, keys, strict=True)
            ]
        else:
            one = batch_encoder(self.name, now, expires, level, config.max_payload_bytes, config.signing_key)
            texts = [one(jid, args) for jid, args in zip(ids, todo, strict=True)]
        if ids:
            self.app.broker.enqueue(
                queue, [NewJob(j, t, level=level) for j, t in zip(ids, texts, strict=True)]
            )
        return [Job(self.app, jid, queue) for jid in ids]

    def _delay_many_through_middleware(self, calls: Iterable[Sequence[Any]], level: int) -> list[Job[R]]:
        """delay_many with the app's enqueue hooks run for each job, still one write."""
        queue, config = self.options.queue, self.app.config
        now = time.time()
        expires = expires_at(None, self.options.expires, now, self.name)
        out: list[EnqueueInfo] = []
        for args in calls:
            self.check_arguments(args, {})
            out.append(EnqueueInfo(new_job_id(), self.name, queue, tuple(args), {}))

        def write() -> None:
            new = [
                NewJob(
                    o.id,
                    encode(
                        Envelope(
                            *(o.id, o.task, o.args, o.kwargs, now, 0, expires, o.headers or None),
                            *(
                                self.options.limit_keys(o.args, o.kwargs)
                                if self.options.limited
                                else ("", "")
                            ),
                            level,
                        ),
                        config.max_payload_bytes,
                        config.signing_key,
                    ),
                    level=level,
                )
                for o in out
            ]
            if new:
                self.app.broker.enqueue(queue, new)

        self.app.middleware.enqueue(out, write)
        return [Job(self.app, o.id, queue) for o in out]


class SyncTask(Task[P, R]):
    """A task of a plain function: calling it returns ``R``."""

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return super().__call__(*args, **kwargs)  # type: ignore[no-any-return]


class AsyncTask(Task[P, R]):
    """A task of an ``async def`` function: calling it returns a coroutine of ``R``."""

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, R]:
        return super().__call__(*args, **kwargs)  # type: ignore[no-any-return]


def make_task(app: TaskOwner, fn: Callable[..., Any], options: TaskOptions) -> Task[Any, Any]:
    """The Task subclass that types the plain call of `fn` (typing only: both behave alike)."""
    cls = AsyncTask if inspect.iscoroutinefunction(fn) else SyncTask
    return cls(app, fn, options)
