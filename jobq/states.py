"""The states jobq names, as str-valued enums: job status, outcome kind, settlement
operation and cancel reply.

Each member is its plain value wherever it is shown: `str()`, f-strings, `format()`,
`repr()` (log renderers use it), `json.dumps` and comparison with the bare string all
give "queued", never "JobStatus.QUEUED", on every Python jobq supports (a `str` mix-in
formats differently across 3.10-3.12, so the base class pins it). Pure: no I/O.
"""

from __future__ import annotations

from enum import Enum


class Named(str, Enum):
    """A str enum shown as its value: the same text on the CLI, in JSON and in logs."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)

    def __repr__(self) -> str:
        return repr(str(self.value))  # log renderers repr their fields: keep the plain text


class JobStatus(Named):
    """What `Job.status()` returns (CONTRACT: one of these values)."""

    QUEUED = "queued"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    DEAD = "dead"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # never started: its `expires` passed first
    WAITING = "waiting"  # a workflow job waiting for the jobs before it (jobq.workflow)


class OutcomeKind(Named):
    """How one attempt ended, as the retry decision table sees it (jobq.retry.decide)."""

    OK = "ok"
    ERROR = "error"
    RETRY = "retry"
    REJECT = "reject"
    CANCELLED = "cancelled"
    BAD_CALL = "bad_call"


class SettleOp(Named):
    """What settle.lua does with one entry (see its header)."""

    OK = "ok"
    RETRY = "retry"
    CANCEL = "cancel"
    DEAD = "dead"
    EXPIRE = "expire"  # close unrun: its `expires` passed (stores the outcome, like cancel)


class CancelReply(Named):
    """What cancel.lua answered (it returns 0 to 3; see `CancelReply.of`)."""

    UNKNOWN = "unknown"  # 0: no unfinished job with that id (unknown or finished)
    CANCELLED = "cancelled"  # 1: removed before it ran; it never will
    STOPPING = "stopping"  # 2: running; its worker was asked to stop it
    ALREADY_STOPPING = "already_stopping"  # 3: running, and a stop was asked for before

    @classmethod
    def of(cls, reply: int) -> CancelReply:
        return _CANCEL_REPLIES[int(reply)]


_CANCEL_REPLIES = (
    CancelReply.UNKNOWN,
    CancelReply.CANCELLED,
    CancelReply.STOPPING,
    CancelReply.ALREADY_STOPPING,
)
