"""jobq: a background job queue for Python on Redis Streams."""

from jobq.app import App
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
from jobq.hooks import WorkerContext, current_worker
from jobq.job import Job, JobInfo, current_job
from jobq.middleware import EnqueueInfo, Middleware, RunOutcome
from jobq.progress import Progress, ProgressError
from jobq.task import Task
from jobq.workflow.canvas import GroupCounts, GroupResult, WorkflowJob, chain, chord, group
from jobq.workflow.signature import Signature

__version__ = "0.1.0"

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
