"""Job handles for callers, and the running job's identity for task code."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from jobq import records
from jobq.errors import JobCancelled, JobExpired, JobFailed, JobNotFound, JobqError
from jobq.progress import Progress, encode_progress, parse_progress
from jobq.states import CancelReply, JobStatus

if TYPE_CHECKING:
    from jobq.broker import Broker
    from jobq.config import Config

R = TypeVar("R")


class _NoHeaders(Mapping[str, Any]):
    """The headers of a job enqueued without any: empty, read-only, shared."""

    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "{}"


NO_HEADERS: Mapping[str, Any] = _NoHeaders()

STATES = tuple(JobStatus)


@dataclass(slots=True)  # not frozen: made for every attempt, and a frozen __init__ costs 4x more
class JobInfo:
    """What a running task can learn about its own job."""

    id: str
    task: str
    queue: str
    attempt: int
    enqueued_at: float
    report: Callable[[str], None] | None = field(default=None, repr=False, compare=False)
    headers: Mapping[str, Any] = NO_HEADERS  # read-only; see enqueue(headers=...)

    def set_progress(self, fraction: float, message: str = "") -> None:
        """Report how far this job has got (0..1); never blocks: the worker writes it to
        Redis in its next flush, and readers see it through `Job.progress()`."""
        blob = encode_progress(fraction, message)
        if self.report is not None:
            self.report(blob)


_current: ContextVar[JobInfo | None] = ContextVar("jobq_current_job", default=None)


def current_job() -> JobInfo:
    """The JobInfo of the job running in this context; JobqError outside a task run."""
    info = _current.get()
    if info is None:
        raise JobqError("current_job() called outside a running job")
    return info


def current_job_or_none() -> JobInfo | None:
    return _current.get()


class JobOwner(Protocol):
    """What a Job handle needs of its App (which imports this module, so not `App` itself)."""

    @property
    def config(self) -> Config: ...

    @property
    def broker(self) -> Broker: ...

    def queues(self) -> list[str]: ...

    def result_ttl_for(self, queue: str) -> int: ...

    def cascade(self, queue: str) -> None: ...


class Job(Generic[R]):
    """A handle on one enqueued job: ask its status, wait for its result, cancel it."""

    __slots__ = ("_queue", "app", "id")

    def __init__(self, app: JobOwner, job_id: str, queue: str | None = None) -> None:
        self.app = app
        self.id = job_id
        self._queue = queue

    def __repr__(self) -> str:
        return f"Job({self.id!r}, queue={self._queue!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Job) and other.id == self.id and other.app is self.app

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def queue(self) -> str:
        if self._queue is None:
            found = self.app.broker.find_queue(self.id, self.app.queues())
            if found is None:
                raise JobNotFound(f"no job {self.id!r} in namespace {self.app.config.namespace!r}")
            self._queue = found
        return self._queue

    def status(self) -> JobStatus:
        """One of queued, scheduled, running, succeeded, dead, cancelled, expired (a str enum)."""
        found = self.app.broker.status(self.queue, self.id)
        if found is None:
            raise JobNotFound(f"no record of job {self.id!r} (never enqueued, or expired)")
        state, detail = found
        if state == "final":
            return JobStatus(records.outcome_state(records.parse_outcome(detail)))
        return JobStatus(state)

    def result(self, timeout: float | None = None) -> R:
        """The return value; JobFailed if dead-lettered (JobCancelled, a JobFailed, if
        cancelled), TimeoutError if not done in time."""
        if timeout is not None and timeout < 0:
            raise ValueError(
                f"timeout must be >= 0 seconds, or None to wait as long as it takes (got {timeout})"
            )
        start = time.monotonic()
        blob = self.app.broker.wait_result(self.queue, self.id, timeout)
        if blob is None:
            if timeout is not None and time.monotonic() - start >= timeout:
                raise TimeoutError(f"job {self.id} did not finish within {timeout}s")
            raise JobNotFound(f"no record of job {self.id!r} (never enqueued, or expired)")
        outcome = records.parse_outcome(blob)
        state = outcome.get(records.OUTCOME_STATE)
        if state == JobStatus.SUCCEEDED:
            return outcome.get(records.OUTCOME_RESULT)  # type: ignore[return-value]
        if state == JobStatus.CANCELLED:
            why = outcome.get(records.OUTCOME_REASON)
            raise JobCancelled(f"job {self.id} was cancelled: {why}" if why else "", job_id=self.id)
        if state == JobStatus.EXPIRED:
            raise JobExpired(self.id)
        raise JobFailed(
            self.id,
            str(outcome.get(records.OUTCOME_ERROR, "job failed")),
            str(outcome.get(records.OUTCOME_TRACEBACK, "")),
            str(outcome.get(records.OUTCOME_REASON, "")),
        )

    def progress(self) -> Progress | None:
        """The job's last progress report, or None if it has reported none (or it expired)."""
        return parse_progress(self.app.broker.progress(self.queue, self.id))

    def cancel(self) -> bool:
        """Cancel: a queued or scheduled job never runs; a running one is asked to stop."""
        ttl = self.app.result_ttl_for(self.queue)
        reply = self.app.broker.cancel(self.queue, self.id, ttl, records.CANCELLED_BLOB)
        if reply == CancelReply.CANCELLED:
            self.app.cascade(self.queue)  # its dependents (workflows) hear of it now
        return reply in (CancelReply.CANCELLED, CancelReply.STOPPING)  # not when a stop was asked already
