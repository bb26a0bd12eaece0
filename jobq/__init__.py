"""jobq: a background job queue for Python on Redis Streams.

The public names are loaded on first use (PEP 562), so `import jobq.cli` or
`import jobq.errors` does not pay for redis, structlog and the rest until a command
or a program actually touches `jobq.App` and friends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobq.errors import (
    BadStep,
    BrokerError,
    ConfigError,
    DependencyCycle,
    EmptyWorkflow,
    JobCancelled,
    JobExpired,
    JobFailed,
    JobNotFound,
    JobqError,
    JobTimeout,
    Reject,
    Retry,
    SerializationError,
    UnknownParent,
    UnknownTask,
    WorkflowError,
)
from jobq.lazy import lazy_names

if TYPE_CHECKING:
    from jobq.app import App
    from jobq.hooks import WorkerContext, current_worker
    from jobq.job import Job, JobInfo, current_job
    from jobq.middleware import EnqueueInfo, Middleware, RunOutcome
    from jobq.progress import Progress, ProgressError
    from jobq.task import Task
    from jobq.workflow.canvas import GroupCounts, GroupResult, WorkflowJob, chain, chord, group
    from jobq.workflow.signature import Signature

__version__ = "0.1.0"

# public name -> the module that defines it (imported when the name is first read)
_LAZY = {
    "App": "jobq.app",
    "WorkerContext": "jobq.hooks",
    "current_worker": "jobq.hooks",
    "Job": "jobq.job",
    "JobInfo": "jobq.job",
    "current_job": "jobq.job",
    "EnqueueInfo": "jobq.middleware",
    "Middleware": "jobq.middleware",
    "RunOutcome": "jobq.middleware",
    "Progress": "jobq.progress",
    "ProgressError": "jobq.progress",
    "Task": "jobq.task",
    "GroupCounts": "jobq.workflow.canvas",
    "GroupResult": "jobq.workflow.canvas",
    "WorkflowJob": "jobq.workflow.canvas",
    "chain": "jobq.workflow.canvas",
    "chord": "jobq.workflow.canvas",
    "group": "jobq.workflow.canvas",
    "Signature": "jobq.workflow.signature",
}


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())

__all__ = [
    "App",
    "BadStep",
    "BrokerError",
    "ConfigError",
    "DependencyCycle",
    "EmptyWorkflow",
    "EnqueueInfo",
    "GroupCounts",
    "GroupResult",
    "Job",
    "JobCancelled",
    "JobExpired",
    "JobFailed",
    "JobInfo",
    "JobNotFound",
    "JobTimeout",
    "JobqError",
    "Middleware",
    "Progress",
    "ProgressError",
    "Reject",
    "Retry",
    "RunOutcome",
    "SerializationError",
    "Signature",
    "Task",
    "UnknownParent",
    "UnknownTask",
    "WorkerContext",
    "WorkflowError",
    "WorkflowJob",
    "__version__",
    "chain",
    "chord",
    "current_job",
    "current_worker",
    "group",
]
