"""`enqueue(..., after=[job_a, job_b])`: a job that waits until all its parents succeeded.

It is a workflow of kind "after": the parents are its members (each linked, in its own
queue's slot, so its settle writes the outbox record), the new job its waiting `next`.
A parent that has finished already is applied here and now, from its stored outcome.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from jobq.errors import DependencyCycle, EmptyWorkflow, JobNotFound, UnknownParent
from jobq.job import Job, JobOwner
from jobq.protocol import Admit, Member
from jobq.records import link_of, outcome_blob, parse_outcome
from jobq.states import JobStatus
from jobq.task import new_job_id
from jobq.workflow.start import CREATING_S, MIN_STATE_TTL
from jobq.workflow.steps import Admits, Step, follow, member_value

RECORD_EXPIRED = outcome_blob(JobStatus.CANCELLED, error="its record expired")  # a parent gone meanwhile

Parent = Job[Any] | str


def parent_queues(app: JobOwner, job_id: str, parents: Sequence[Parent]) -> dict[str, str]:
    """Parent id -> its queue; DependencyCycle or UnknownParent before anything is written."""
    if not parents:
        raise EmptyWorkflow("after= needs at least one job")
    found: dict[str, str] = {}
    for parent in parents:
        pid = parent.id if isinstance(parent, Job) else str(parent)
        if pid == job_id:
            raise DependencyCycle(f"job {job_id} cannot run after itself")
        try:
            found[pid] = parent.queue if isinstance(parent, Job) else Job(app, pid).queue
        except JobNotFound:
            raise UnknownParent(f"after=: no job {pid!r} (never enqueued, or its record expired)") from None
    return found


def enqueue_after(app: JobOwner, job: Step, parents: Sequence[Parent], unique: bool) -> bool:
    """Record `job` as waiting, link it to its parents, and apply those that finished.
    False if `unique` and a job with that id is not finished (nothing changes)."""
    queues = parent_queues(app, job.id, parents)
    workflow = new_job_id()
    fields = {"kind": "after", "n": str(len(queues)), "ttl": str(max(MIN_STATE_TTL, job.ttl)), "inc": "0"}
    fields["next"] = job.to_json()
    fields.update({f"i.{pid}": str(k) for k, pid in enumerate(queues, start=1)})
    app.broker.wf_create(workflow, fields, CREATING_S)
    if not app.broker.wf_admit(job.queue, [Admit("wait", job.id, workflow)], 0)[0]:
        app.broker.wf_delete(workflow)
        if unique:
            return False
        raise JobNotFound(f"job id {job.id} is in use")  # a fresh id is never in use
    finished = _link(app, workflow, queues)
    if finished:
        admits: Admits = defaultdict(list)
        follow(admits, app.broker.wf_apply(workflow, finished).actions, app.config)
        for (queue, ttl), items in admits.items():
            app.broker.wf_admit(queue, items, ttl)
    app.broker.wf_created(workflow)
    return True


def _link(app: JobOwner, workflow: str, queues: dict[str, str]) -> list[Member]:
    """Link each parent; the (id, state, value) of those that have finished already."""
    index = {pid: str(k) for k, pid in enumerate(queues, start=1)}
    by_queue: dict[str, list[str]] = defaultdict(list)
    for pid, queue in queues.items():
        by_queue[queue].append(pid)
    finished = []
    for queue, pids in by_queue.items():
        links = [Admit("link", pid, link_of(workflow, int(index[pid]))) for pid in pids]
        replies = app.broker.wf_admit(queue, links, 0)
        for pid, reply in zip(pids, replies, strict=True):
            if reply == 1:
                continue
            outcome = parse_outcome(str(reply) if reply else RECORD_EXPIRED)
            finished.append((pid, index[pid], *member_value(pid, outcome)))
    return finished
