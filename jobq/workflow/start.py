"""Check and enqueue a workflow: everything is checked (each envelope proven encodable)
before the first write, so bad input enqueues nothing; then the state is written first,
the waiting jobs next and the jobs that run now last (a member cannot finish before what
it releases is waiting)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from jobq.config import Config
from jobq.envelope import batch_encoder
from jobq.errors import BadStep, EmptyWorkflow
from jobq.job import JobOwner
from jobq.protocol import Admit, NewJob
from jobq.records import link_of
from jobq.task import new_job_id, new_job_ids
from jobq.workflow.signature import Signature
from jobq.workflow.steps import Step, check_encodable

MIN_STATE_TTL = 1  # s: a workflow whose jobs keep no result keeps its state this long
CREATING_S = 3600  # a state whose producer died before writing every job expires after this
FIRST_CHUNK = 500  # members enqueued in the first round (see enqueue_members)
LAST_CHUNK = 8000  # rounds double up to this many members (envelopes held at once)
Member = tuple[str, str]  # a group member's job id and queue


class MemberEnvelopes:
    """Members' envelopes, made as delay_many makes a batch's: what members of one task at
    one level share is encoded once (the text Step.envelope gives, enqueued at one time)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.enqueued_at = time.time()
        self.encoders: dict[tuple[str, int], Callable[..., str]] = {}

    def __call__(self, sig: Signature[Any], job_id: str, link: str) -> str:
        if sig.kwargs:
            return Step.of(sig, job_id, link).envelope(self.config)
        task, priority = sig.task.name, sig.task.options.priority
        one = self.encoders.get((task, priority))
        if one is None:
            c = self.config
            one = batch_encoder(
                task, self.enqueued_at, None, priority, c.max_payload_bytes, c.signing_key, linked=True
            )
            self.encoders[(task, priority)] = one
        return one(job_id, sig.args, link)


def checked(sig: Signature[Any], gets_result: bool) -> None:
    """BadStep (a TypeError) if the step's task cannot take what it would be given."""
    try:
        sig.check(gets_result)
    except TypeError as exc:
        role = "a step given the previous result" if gets_result and not sig.immutable else "a step"
        raise BadStep(f"{sig!r} does not fit as {role}: {exc}") from None


def state_ttl(steps: Sequence[Step]) -> int:
    return max([MIN_STATE_TTL, *(s.ttl for s in steps)])


def admit_by_queue(app: JobOwner, items: Sequence[tuple[Step, Admit]]) -> None:
    by_queue: dict[str, list[Admit]] = defaultdict(list)
    for step, admit in items:
        by_queue[step.queue].append(admit)
    for queue, admits in by_queue.items():
        app.broker.wf_admit(queue, admits, 0)


def start_chain(app: JobOwner, sigs: Sequence[Signature[Any]]) -> tuple[str, list[Step]]:
    """Enqueue a chain's first step; the others wait (status "waiting") for the drainer."""
    if not sigs:
        raise EmptyWorkflow("a chain needs at least one step")
    for i, sig in enumerate(sigs):
        checked(sig, gets_result=i > 0)
    workflow = new_job_id()
    steps = [Step.of(sig, new_job_id(), link_of(workflow, k)) for k, sig in enumerate(sigs, start=1)]
    first = steps[0].envelope(app.config)
    for step in steps[1:]:
        step.envelope(app.config, (None,))  # SerializationError now, not when it is due
    fields = {"kind": "chain", "n": str(len(steps)), "ttl": str(state_ttl(steps))}
    for k, step in enumerate(steps, start=1):
        fields[f"i.{step.id}"] = str(k)
        fields[f"s.{k}"] = step.to_json()
    app.broker.wf_create(workflow, fields, CREATING_S)
    admit_by_queue(app, [(s, Admit("wait", s.id, workflow)) for s in steps[1:]])
    app.broker.enqueue(steps[0].queue, [NewJob(steps[0].id, first, level=steps[0].priority)])
    app.broker.wf_created(workflow)
    return workflow, steps


def start_group(
    app: JobOwner,
    sigs: Sequence[Signature[Any]],
    callback: Signature[Any] | None = None,
    include_failures: bool = False,
) -> tuple[str, list[Member], Step | None]:
    """Enqueue a group's members (a chord's callback waits for them all)."""
    if not sigs:
        raise EmptyWorkflow("a group needs at least one member")
    for sig in sigs:
        checked(sig, gets_result=False)
    if callback is not None:
        checked(callback, gets_result=True)
    workflow = new_job_id()
    check_encodable(sigs, app.config, link_of(workflow, len(sigs)))
    after = Step.of(callback, new_job_id()) if callback is not None else None
    if after is not None:
        after.envelope(app.config, ([],))
    fields = {"kind": "chord" if after else "group", "n": str(len(sigs))}
    ttls = [int(sig.task.options.result_ttl) for sig in sigs] + ([after.ttl] if after else [])
    fields["ttl"] = str(max(MIN_STATE_TTL, *ttls))
    fields["inc"] = "1" if include_failures else "0"
    if after is not None:
        fields["next"] = after.to_json()
    app.broker.wf_create(workflow, fields, CREATING_S)
    if after is not None:
        admit_by_queue(app, [(after, Admit("wait", after.id, workflow))])
    members = enqueue_members(app, workflow, sigs)
    app.broker.wf_created(workflow)
    return workflow, members, after


def enqueue_members(app: JobOwner, workflow: str, sigs: Sequence[Signature[Any]]) -> list[Member]:
    """Enqueue a group's members as delay_many enqueues jobs (one script call a queue and
    chunk of ENQUEUE_CHUNK), in rounds that double from FIRST_CHUNK up to LAST_CHUNK. The
    first members run while the next round is made, which takes less time than they take
    to run, and a 10,000-member chord is sent in 5 round trips, not 20 (Redis, busy with
    the first members' runs, answers each round trip late)."""
    envelope = MemberEnvelopes(app.config)
    members: list[Member] = []
    start, size = 0, FIRST_CHUNK
    while start < len(sigs):
        by_queue: dict[str, list[NewJob]] = defaultdict(list)
        chunk = sigs[start : start + size]
        for k, (job_id, sig) in enumerate(zip(new_job_ids(len(chunk)), chunk, strict=True), start=start + 1):
            queue = sig.queue
            by_queue[queue].append(
                NewJob(job_id, envelope(sig, job_id, link_of(workflow, k)), level=sig.task.options.priority)
            )
            members.append((job_id, queue))
        for queue, jobs in by_queue.items():
            app.broker.enqueue(queue, jobs)
        start, size = start + size, min(LAST_CHUNK, size * 2)
    return members
