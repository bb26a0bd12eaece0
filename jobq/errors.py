"""Every error jobq raises derives from JobqError, so callers can catch one base."""

from __future__ import annotations


class JobqError(Exception):
    """Base of every jobq error."""


class ConfigError(JobqError):
    """A setting is missing or malformed."""


class SerializationError(JobqError):
    """Arguments or a result cannot be encoded, or the payload is too large."""


class BrokerError(JobqError):
    """Redis could not be reached or refused the command."""


class BrokerUnavailable(BrokerError):
    """Redis cannot be reached now (refused, reset or timed-out connection, lost Cluster):
    wait and try again."""


class BrokerRefused(BrokerError):
    """Redis answered the command with an error."""


class BrokerOutOfMemory(BrokerRefused):
    """Redis refused a write because maxmemory is reached (OOM)."""


class BrokerGroupMissing(BrokerRefused):
    """A queue's consumer group is gone (NOGROUP): Redis restarted empty or was flushed."""


class JobNotFound(JobqError):
    """No job with that id is known (never enqueued, or its record expired)."""


class UnknownTask(JobqError):
    """No task is registered under that name."""


class JobFailed(JobqError):
    """The job was dead-lettered; carries the last error and its remote traceback."""

    def __init__(self, job_id: str, error: str, traceback: str = "", reason: str = "") -> None:
        super().__init__(f"job {job_id} failed: {error}")
        self.job_id = job_id
        self.error = error
        self.traceback = traceback
        self.reason = reason

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text}\n{self.traceback}" if self.traceback else text


class JobCancelled(JobFailed):
    """The job was cancelled: `result()` raises it (a JobFailed, so one `except JobFailed`
    covers every job that will not succeed), and a cancelled sync run is interrupted with it."""

    def __init__(self, message: str = "", job_id: str = "") -> None:
        text = f"job {job_id} was cancelled" if job_id else "cancelled while running"
        JobqError.__init__(self, message or text)
        self.job_id = job_id
        self.error = "job was cancelled"
        self.traceback = ""
        self.reason = "cancelled"


class JobExpired(JobFailed):
    """The job was not started before its `expires`: it never ran, and never will."""

    def __init__(self, job_id: str) -> None:
        JobqError.__init__(self, f"job {job_id} expired before it started")
        self.job_id = job_id
        self.error = "expired before it started"
        self.traceback = ""
        self.reason = "expired"


class JobTimeout(JobqError):
    """A run exceeded its task's timeout and was stopped."""


class Retry(JobqError):
    """Raised by a task to be run again after `delay` seconds (counts against retries)."""

    def __init__(self, delay: float | None = None, reason: str = "") -> None:
        super().__init__(reason or (f"retry requested in {delay}s" if delay else "retry requested"))
        self.delay = delay


class Reject(JobqError):
    """Raised by a task to dead-letter the job at once, without retries."""

    def __init__(self, reason: str = "rejected") -> None:
        super().__init__(reason)
        self.reason = reason


class WorkflowError(JobqError):
    """A chain, group, chord or `after=` that cannot be enqueued; nothing of it was."""


class BadStep(WorkflowError, TypeError):
    """A workflow step whose task cannot take the arguments it would get."""


class EmptyWorkflow(WorkflowError, ValueError):
    """A chain or group with no steps."""


class DependencyCycle(WorkflowError, ValueError):
    """`after=` would make a job wait for itself."""


class UnknownParent(WorkflowError, JobNotFound):
    """`after=` names a job that does not exist (or whose record expired)."""
