"""chain, group and chord: the public spellings, and the handles `.delay()` returns."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from jobq.job import Job, JobOwner
from jobq.workflow.signature import Signature
from jobq.workflow.start import start_chain, start_group

R = TypeVar("R")


class WorkflowJob(Job[R]):
    """The job whose result is the workflow's (a chain's last step, a chord's callback),
    with the workflow's id and jobs; `cancel()` cancels every unfinished job of it."""

    __slots__ = ("jobs", "workflow_id")

    def __init__(
        self, app: JobOwner, job_id: str, queue: str, workflow_id: str, jobs: list[Job[Any]]
    ) -> None:
        super().__init__(app, job_id, queue)
        self.workflow_id = workflow_id
        self.jobs = jobs

    def cancel(self) -> bool:
        """Cancel every job of the workflow not finished yet; True if any was."""
        return any([job.cancel() for job in self.jobs])  # a list: cancel them all


@dataclass(frozen=True, slots=True)
class GroupCounts:
    """How far a group has got: members in all, finished (either way), failed."""

    total: int
    finished: int
    failed: int


class GroupResult(Generic[R]):
    """A running group: its member jobs, in the order given."""

    def __init__(self, app: JobOwner, workflow_id: str, jobs: list[Job[R]]) -> None:
        self.app = app
        self.workflow_id = workflow_id
        self.jobs = jobs

    def results(self, timeout: float | None = None) -> list[R]:
        """Every member's result, in order; JobFailed for the first that failed,
        TimeoutError if they are not all done within `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        out = []
        for job in self.jobs:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            out.append(job.result(left))
        return out

    def counts(self) -> GroupCounts:
        ok, failed = self.app.broker.wf_state(self.workflow_id, ["ok", "failed"])
        done_ok, done_failed = int(ok or 0), int(failed or 0)
        return GroupCounts(len(self.jobs), done_ok + done_failed, done_failed)

    def cancel(self) -> bool:
        """Cancel every member not finished yet; True if any was."""
        return any([job.cancel() for job in self.jobs])


class Chain(Generic[R]):
    """Steps run one after another; each result is the first argument of the next step
    (unless the step is immutable, `task.si(...)`)."""

    def __init__(self, steps: Sequence[Signature[Any]]) -> None:
        self.steps = list(steps)

    def delay(self) -> WorkflowJob[R]:
        """Enqueue the first step (the rest wait); the handle's result() is the last step's."""
        app = _app_of(self.steps)
        workflow, steps = start_chain(app, self.steps)
        jobs: list[Job[Any]] = [Job(app, s.id, s.queue) for s in steps]
        last = steps[-1]
        return WorkflowJob(app, last.id, last.queue, workflow, jobs)


class Group(Generic[R]):
    """Members that run in parallel."""

    def __init__(self, members: Iterable[Signature[R]]) -> None:
        self.members = list(members)

    def delay(self) -> GroupResult[R]:
        app = _app_of(self.members)
        workflow, members, _ = start_group(app, self.members)
        return GroupResult(app, workflow, [Job(app, job_id, queue) for job_id, queue in members])


class Chord(Generic[R]):
    """A group and a callback that gets the list of member results, enqueued exactly once
    when the last member has succeeded (or, with `include_failures`, finished)."""

    def __init__(
        self, members: Iterable[Signature[Any]], callback: Signature[R], include_failures: bool = False
    ) -> None:
        self.members = list(members)
        self.callback = callback
        self.include_failures = include_failures

    def delay(self) -> ChordJob[R]:
        app = _app_of([self.callback])
        workflow, members, after = start_group(app, self.members, self.callback, self.include_failures)
        assert after is not None
        jobs: list[Job[Any]] = [Job(app, job_id, queue) for job_id, queue in members]
        group: GroupResult[Any] = GroupResult(app, workflow, jobs)
        return ChordJob(
            app, after.id, after.queue, workflow, [*group.jobs, Job(app, after.id, after.queue)], group
        )


class ChordJob(WorkflowJob[R]):
    """The chord's callback job, with the group of its members."""

    __slots__ = ("group",)

    def __init__(
        self,
        app: JobOwner,
        job_id: str,
        queue: str,
        workflow_id: str,
        jobs: list[Job[Any]],
        group: GroupResult[Any],
    ) -> None:
        super().__init__(app, job_id, queue, workflow_id, jobs)
        self.group = group


def _app_of(sigs: Sequence[Signature[Any]]) -> JobOwner:
    return sigs[0].app if sigs else None  # type: ignore[return-value]  # start_* refuses []


@overload
def chain(s1: Signature[R], /) -> Chain[R]: ...
@overload
def chain(s1: Signature[Any], s2: Signature[R], /) -> Chain[R]: ...
@overload
def chain(s1: Signature[Any], s2: Signature[Any], s3: Signature[R], /) -> Chain[R]: ...
@overload
def chain(s1: Signature[Any], s2: Signature[Any], s3: Signature[Any], s4: Signature[R], /) -> Chain[R]: ...
@overload
def chain(*steps: Signature[Any]) -> Chain[Any]: ...
def chain(*steps: Signature[Any]) -> Chain[Any]:
    """Steps run in order, each given the previous result as its first argument."""
    return Chain(steps)


def group(members: Iterable[Signature[R]]) -> Group[R]:
    """Members that run in parallel; `.delay().results(timeout)` lists their results."""
    return Group(members)


def chord(
    members: Iterable[Signature[Any]], callback: Signature[R], *, include_failures: bool = False
) -> Chord[R]:
    """A group whose results, as a list, are the first argument of `callback`."""
    return Chord(members, callback, include_failures)
