"""App: configuration, the task registry, and the producer-side entry points."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime, timedelta
from typing import Any, ParamSpec, Protocol, TypeVar, overload

from jobq.broker import Broker, check_url
from jobq.config import Config, check_queue_name, resolve_namespace, resolve_redis_url, resolve_signing_key
from jobq.cron_entry import CronEntry, new_entry
from jobq.envelope import Envelope, encode
from jobq.errors import ConfigError, UnknownTask, WorkflowError
from jobq.flow import DEFAULT_PRIORITY, PAUSE_SETTLE_S, Expiry, check_priority, expires_at, expiry_seconds
from jobq.hooks import check_hook
from jobq.job import Job
from jobq.middleware import Chain, EnqueueInfo, LogHeaders, Middleware, as_middleware, headers_of
from jobq.protocol import NewJob
from jobq.task import AsyncTask, SyncTask, Task, TaskOptions, make_task, new_job_id, to_delay_ms
from jobq.workflow.cascade import cascade
from jobq.workflow.deps import enqueue_after
from jobq.workflow.steps import Step

P = ParamSpec("P")
R = TypeVar("R")
H = TypeVar("H", bound=Callable[..., Any])


class TaskDecorator(Protocol):
    """What ``@app.task(...)`` with options returns: typed like the bare decorator."""

    @overload
    def __call__(  # type: ignore[overload-overlap]  # async first: it is the narrower match
        self, fn: Callable[P, Coroutine[Any, Any, R]], /
    ) -> AsyncTask[P, R]: ...

    @overload
    def __call__(self, fn: Callable[P, R], /) -> SyncTask[P, R]: ...


class App:
    """One jobq application: where jobs go (Redis, namespace) and which tasks exist.

    `redis_url` and `namespace` left as None come from $JOBQ_REDIS_URL / $JOBQ_NAMESPACE,
    else the defaults: the same rule as the command line, so every process of a deployment
    configured only by its environment meets in the same place.
    """

    def __init__(
        self,
        redis_url: str | None = None,
        namespace: str | None = None,
        default_queue: str = "default",
        visibility_timeout: float = 30.0,
        *,
        max_payload_bytes: int = 1024 * 1024,
        signing_key: str | bytes | None = None,
        log_headers: Sequence[str] = (),
        priority_aging: float = 60.0,
    ) -> None:
        """`priority_aging`: seconds a job waits at its priority level before it moves up
        one (so no level starves); 0 turns aging off (strict priorities)."""
        self.config = Config(
            redis_url=resolve_redis_url(redis_url),
            namespace=resolve_namespace(namespace),
            default_queue=default_queue,
            visibility_timeout=float(visibility_timeout),
            max_payload_bytes=max_payload_bytes,
            signing_key=resolve_signing_key(signing_key),
            priority_aging=float(priority_aging),
        )
        check_url(self.config.redis_url)  # parsed now (no connection): a typo fails here
        self.tasks: dict[str, Task[Any, Any]] = {}
        self.cron_entries: list[CronEntry] = []
        self.start_hooks: list[Callable[[], Any]] = []
        self.stop_hooks: list[Callable[[], Any]] = []
        self.middleware = Chain()
        if log_headers:
            self.middleware.add(LogHeaders(log_headers))
        self._broker: Broker | None = None
        self._broker_pid = 0

    def __repr__(self) -> str:
        return f"<jobq.App namespace={self.config.namespace!r} tasks={len(self.tasks)}>"

    @property
    def broker(self) -> Broker:
        """This process's Broker, made on first use (never at import, and anew after fork)."""
        pid = os.getpid()
        if self._broker is None or self._broker_pid != pid:
            self._broker = Broker(self.config)
            self._broker_pid = pid
        return self._broker

    def reconfigure(self, *, redis_url: str | None = None, namespace: str | None = None) -> None:
        """Point this app elsewhere (the CLI's explicit --redis-url / --namespace)."""
        config = dataclasses.replace(
            self.config,
            redis_url=redis_url or self.config.redis_url,
            namespace=namespace or self.config.namespace,
        )
        check_url(config.redis_url)
        self.config = config
        self._broker = None

    # registration --------------------------------------------------------------------

    @overload
    def task(  # type: ignore[overload-overlap]  # async first: it is the narrower match
        self, fn: Callable[P, Coroutine[Any, Any, R]], /
    ) -> AsyncTask[P, R]: ...

    @overload
    def task(self, fn: Callable[P, R], /) -> SyncTask[P, R]: ...

    @overload
    def task(
        self,
        fn: None = None,
        /,
        *,
        name: str | None = None,
        queue: str | None = None,
        retries: int = 3,
        retry_on: type[BaseException] | Sequence[type[BaseException]] = Exception,
        backoff: float = 1.0,
        backoff_max: float = 3600.0,
        timeout: float | None = None,
        result_ttl: int = 86400,
        expires: float | timedelta | None = None,
        rate_limit: str | None = None,
        rate_limit_key: Callable[..., str] | None = None,
        concurrency: int | None = None,
        concurrency_key: Callable[..., str] | None = None,
        priority: int = 5,
    ) -> TaskDecorator: ...

    def task(
        self,
        fn: Callable[..., Any] | None = None,
        /,
        *,
        name: str | None = None,
        queue: str | None = None,
        retries: int = 3,
        retry_on: type[BaseException] | Sequence[type[BaseException]] = Exception,
        backoff: float = 1.0,
        backoff_max: float = 3600.0,
        timeout: float | None = None,
        result_ttl: int = 86400,
        expires: float | timedelta | None = None,
        rate_limit: str | None = None,
        rate_limit_key: Callable[..., str] | None = None,
        concurrency: int | None = None,
        concurrency_key: Callable[..., str] | None = None,
        priority: int = 5,
    ) -> Any:
        """Register a function as a task: ``@app.task`` or ``@app.task(name=..., ...)``."""

        def register(func: Callable[..., Any]) -> Task[Any, Any]:
            options = TaskOptions(
                name=name or f"{func.__module__}.{func.__qualname__}",
                queue=self.config.default_queue if queue is None else queue,
                retries=retries,
                retry_on=tuple(retry_on) if isinstance(retry_on, Sequence) else (retry_on,),
                backoff=backoff,
                backoff_max=backoff_max,
                timeout=timeout,
                result_ttl=int(result_ttl),
                expires=expiry_seconds(expires, f"task {name or func.__qualname__}"),
                rate_limit=rate_limit,
                rate_limit_key=rate_limit_key,
                concurrency=concurrency,
                concurrency_key=concurrency_key,
                priority=priority,
            )
            return self.register(make_task(self, func, options))

        return register if fn is None else register(fn)

    def register(self, task: Task[Any, Any]) -> Task[Any, Any]:
        existing = self.tasks.get(task.name)
        if existing is not None and existing.fn is not task.fn:
            raise ConfigError(f"two different functions are registered as task {task.name!r}")
        self.tasks[task.name] = task
        return task

    def on_worker_start(self, fn: H) -> H:
        """Run `fn` (sync or async, no arguments) once in each worker process, before its
        first job; if it raises, that process stops and its pool retries later (jobq.hooks)."""
        self.start_hooks.append(check_hook(fn, "on_worker_start"))
        return fn

    def on_worker_stop(self, fn: H) -> H:
        """Run `fn` (sync or async, no arguments) once in each worker process, after its last job."""
        self.stop_hooks.append(check_hook(fn, "on_worker_stop"))
        return fn

    def add_middleware(self, middleware: Middleware | type[Middleware]) -> None:
        """Install a jobq.Middleware (an instance, or a subclass made with no arguments)
        after those already installed; ConfigError if it is not one or a hook's signature
        is wrong."""
        self.middleware.add(as_middleware(middleware))

    def cron(
        self,
        expression: str,
        *,
        queue: str | None = None,
        tz: str = "UTC",
        name: str | None = None,
        **options: Any,
    ) -> Callable[[Callable[[], Any]], Task[[], Any]]:
        """Register a no-argument function as a task enqueued on a cron schedule."""

        def decorate(func: Callable[[], Any]) -> Task[[], Any]:
            entry, task_options = new_entry(
                func,
                expression,
                queue=queue or self.config.default_queue,
                tz=tz,
                name=name,
                options=options,
                taken=(e.name for e in self.cron_entries),
            )
            task: Task[[], Any] = self.task(name=entry.name, queue=entry.queue, **task_options)(func)
            self.cron_entries.append(entry)
            return task

        return decorate

    # producers -----------------------------------------------------------------------

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
    ) -> Job[Any]:
        """Enqueue a call of `task_name`; the one path every enqueue goes through.
        `after`: jobs (or ids) that must all succeed first (see jobq.workflow.deps);
        `priority`: 0..9 (None: the task's, else the default 5)."""
        delay_ms, at_ms = to_delay_ms(delay, at)
        now = time.time()
        task = self.tasks.get(task_name)
        if priority is None:
            level = task.options.priority if task else DEFAULT_PRIORITY
        else:
            level = check_priority(priority, task_name)
        expiry = expires_at(expires, task.options.expires if task else None, now, task_name)
        if queue is None:
            target = self.queue_of(task_name)
        else:  # a task's own queue (Task.enqueue passes it) was checked when it was made
            target = queue if task is not None and queue == task.options.queue else check_queue_name(queue)
        unique = job_id is not None
        jid = job_id if job_id is not None else new_job_id()
        keys = task.options.limit_keys(args, kwargs or {}) if task and task.options.limited else ("", "")
        if headers is None and not self.middleware.enqueues:
            env = Envelope(jid, task_name, tuple(args), kwargs or {}, now, 0, expiry, None, *keys, level)
            self._write(target, env, (delay_ms, at_ms), unique, after)
            return Job(self, jid, target)
        out = EnqueueInfo(jid, task_name, target, tuple(args), kwargs or {}, headers_of(headers))

        def write() -> None:
            env = Envelope(
                *(jid, task_name, out.args, out.kwargs, now, 0, expiry, out.headers or None, *keys), level
            )
            self._write(target, env, (delay_ms, at_ms), unique, after)

        self.middleware.enqueue([out], write)
        return Job(self, jid, target)

    def _write(
        self,
        target: str,
        env: Envelope,
        due: tuple[int, int],
        unique: bool,
        after: Sequence[Job[Any] | str] | None,
    ) -> None:
        """Encode and enqueue one job, or, with `after`, record it as waiting on its parents."""
        text = encode(env, self.config.max_payload_bytes, self.config.signing_key)
        if after is None:
            self.broker.enqueue(target, [NewJob(env.id, text, *due, unique, env.priority)])
            return
        if any(due):
            raise WorkflowError("after= cannot be combined with delay or at")
        task = self.tasks.get(env.task)
        ttl = task.options.result_ttl if task else self.result_ttl_for(target)
        enqueue_after(
            self, Step(env.id, env.task, target, env.args, env.kwargs, True, ttl, ready=text), after, unique
        )

    def enqueue(self, task_name: str, /, *args: Any, **kwargs: Any) -> Job[Any]:
        """Enqueue by task name, without importing the task's code."""
        return self.submit(task_name, args, kwargs)

    def pause(self, queue: str) -> bool:
        """Pause `queue` fleet-wide: it keeps accepting jobs, workers start none of them
        until `resume` (running jobs finish). False if it was paused already. Returns once
        every live worker has had time to learn of it (PAUSE_SETTLE_S, a third of a second)."""
        changed = self.broker.pause(check_queue_name(queue))
        if changed:
            time.sleep(PAUSE_SETTLE_S)
        return changed

    def resume(self, queue: str) -> bool:
        """Let workers start jobs from `queue` again; False if it was not paused."""
        return self.broker.resume(check_queue_name(queue))

    def job(self, job_id: str) -> Job[Any]:
        """A handle on an existing job by its id."""
        return Job(self, job_id)

    # lookups -------------------------------------------------------------------------

    def queue_of(self, task_name: str) -> str:
        task = self.tasks.get(task_name)
        return task.options.queue if task else self.config.default_queue

    def queues(self) -> list[str]:
        """Every queue this app's tasks use, the default queue first."""
        names = [self.config.default_queue] + [t.options.queue for t in self.tasks.values()]
        return list(dict.fromkeys(names))

    def get_task(self, name: str) -> Task[Any, Any]:
        try:
            return self.tasks[name]
        except KeyError:
            raise UnknownTask(f"no task named {name!r} is registered") from None

    def cascade(self, queue: str) -> None:
        """Tell the workflows of jobs just cancelled on `queue` (jobq.workflow.cascade)."""
        cascade(self, queue)

    def result_ttl_for(self, queue: str) -> int:
        ttls = [t.options.result_ttl for t in self.tasks.values() if t.options.queue == queue]
        return max(ttls, default=86400) or 86400
