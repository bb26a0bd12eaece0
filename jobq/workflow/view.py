"""What `jobq job show` and `jobq explain` say about a job's workflows: which it waits
on (and for which jobs), which it is a member of, and what runs after it."""

from __future__ import annotations

import json
from dataclasses import dataclass

from jobq.job import JobOwner
from jobq.records import unlink

PARENTS_SHOWN = 10


@dataclass(frozen=True, slots=True)
class WorkflowView:
    """One workflow as seen from one of its jobs."""

    id: str
    kind: str  # chain, group, chord, after
    members: int
    succeeded: int
    failed: int
    waiting: bool  # the job waits on this workflow (else it is a member, or a parent)
    parents: tuple[str, ...] = ()  # waiting: the jobs it waits for (the first few)
    next_job: str = ""  # member: the job that runs after it

    def describe(self) -> str:
        done = f"{self.succeeded} of {self.members} succeeded, {self.failed} failed"
        if self.waiting:
            more = self.members > len(self.parents) + (1 if self.kind == "chain" else 0)
            shown = ", ".join(self.parents) + (", ..." if more else "")
            parents = f"; parents: {shown}" if self.parents else ""
            return f"waits on {self.kind} workflow {self.id} ({done}){parents}"
        after = f"; then job {self.next_job}" if self.next_job else ""
        return f"in {self.kind} workflow {self.id} ({done}){after}"


def workflows_of(
    app: JobOwner, job_id: str, queue: str, waiting_on: str = "", member_of: str = ""
) -> list[WorkflowView]:
    """The workflows of a job: the one it waits on, the one it is a member of (`member_of`:
    its envelope's link), and those it is a parent in (while it is unfinished)."""
    links = [unlink(link) for link in [member_of, *app.broker.links(queue, job_id)] if link]
    found = [(waiting_on, "")] if waiting_on else []
    found += [(w, index) for w, index in links if w != waiting_on]
    views = (_view(app, w, job_id, w == waiting_on, index) for w, index in found)
    return [v for v in views if v is not None]


def _view(app: JobOwner, workflow_id: str, job_id: str, waiting: bool, linked: str) -> WorkflowView | None:
    kind, n, ok, failed, nxt, listed = app.broker.wf_state(
        workflow_id, ["kind", "n", "ok", "failed", "next", f"i.{job_id}"]
    )
    index = linked or listed
    if kind is None or n is None:
        return None  # expired
    next_job = ""
    if kind == "chain" and index is not None:
        (spec,) = app.broker.wf_state(workflow_id, [f"s.{int(index) + 1}"])
        next_job = str(json.loads(spec)["id"]) if spec else ""
    elif nxt and not waiting:
        next_job = str(json.loads(nxt)["id"])
    members = app.broker.wf_members(workflow_id, PARENTS_SHOWN + 1) if waiting else []
    parents = tuple(p for p in members if p != job_id)[:PARENTS_SHOWN]  # a chain step is a member
    return WorkflowView(workflow_id, kind, int(n), int(ok or 0), int(failed or 0), waiting, parents, next_job)
