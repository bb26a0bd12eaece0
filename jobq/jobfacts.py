"""What Redis holds about one job, gathered for `jobq explain` and `jobq job show`.

`gather` reads it (bounded reads, see `Broker.job_facts`); `facts_from` parses those
replies into a JobFacts (pure, so table-tested); jobq.explain turns it into sentences.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from jobq import flow_facts
from jobq.app import App
from jobq.broker.factrows import JobRow
from jobq.envelope import DecodeError, Envelope, decode, from_object
from jobq.errors import JobNotFound
from jobq.jobtext import when
from jobq.progress import Progress, parse_progress
from jobq.records import (
    CANCEL_ASKED,
    ENTRY_DEAD_DETAILS,
    ENTRY_ENVELOPE,
    OUTCOME_ATTEMPTS,
    OUTCOME_CUT,
    OUTCOME_ENDED_MS,
    OUTCOME_ENVELOPE,
    OUTCOME_TOOK_US,
    QUEUED,
    SCHEDULED,
    WAITING,
    job_record,
    level_of,
    outcome_state,
    parse_outcome,
)
from jobq.stats import snapshot
from jobq.workflow.view import WorkflowView, workflows_of

AHEAD_LIMIT = 1000


@dataclass(frozen=True)
class JobFacts:
    """What Redis holds about one job at `now` (Redis time, Unix s)."""

    id: str
    queue: str
    now: float
    state: str  # queued, running, cancelling, scheduled, succeeded, dead, cancelled
    envelope: Envelope | None = None
    stream_id: str = ""
    due_at: float = 0.0  # scheduled: when it may run
    ahead: int | None = None  # queued: undelivered jobs in front of it (capped, see AHEAD_LIMIT)
    worker: str = ""  # running: the consumer holding it
    worker_alive: bool = False
    worker_host: str = ""
    worker_pid: int = 0
    idle_s: float = 0.0  # running: since its lease was last renewed
    stalled: int = 0  # running: its worker holds this job without running it, with this many in all
    started_at: float = 0.0  # running: when the run began (from the worker's heartbeat);
    # finished: when its last attempt began (from the stored outcome)
    finished_at: float = 0.0  # finished: when its last attempt ended
    args_cut: int = 0  # finished: size of an envelope kept without its arguments (kept_text)
    deliveries: int = 0
    outcome: dict[str, Any] | None = None
    result_ttl_s: int = -1
    dead: dict[str, Any] | None = None  # the dead-letter details (d field)
    live_queues: tuple[str, ...] | None = None  # queued: what live workers consume (None: unknown)
    flow: tuple[str, ...] = ()  # what flow control says: queue paused, or a limit deferred it
    progress: Progress | None = None  # the job's last progress report
    workflow: str = ""  # waiting: the workflow whose jobs it waits for
    workflows: tuple[WorkflowView, ...] = ()  # those it waits on or is in (unfinished)
    level: int | None = None  # queued, running or scheduled: the priority level it is at now

    @property
    def priority(self) -> int | None:
        """Its priority level: where it waits now (aging may have raised it), else the one
        it was given."""
        if self.level is not None:
            return self.level
        return self.envelope.priority if self.envelope is not None else None

    @property
    def task(self) -> str:
        if self.envelope is not None:
            return self.envelope.task
        return str((self.dead or {}).get("task", ""))

    @property
    def attempts(self) -> int | None:
        """Attempts made so far (including a running one), when Redis can tell."""
        made = (self.outcome or {}).get(OUTCOME_ATTEMPTS)
        if isinstance(made, int):  # a finished job's outcome counts them
            return made
        if self.state == "dead":
            return int((self.outcome or {}).get(OUTCOME_ATTEMPTS) or (self.dead or {}).get("attempts") or 0)
        if self.envelope is None:
            return None
        running = self.deliveries if self.state in ("running", "cancelling") else 0
        return self.envelope.prior_attempts + running


def _envelope(raw: Any) -> Envelope | None:
    if not isinstance(raw, str):
        return None
    try:
        return decode(raw)
    except DecodeError:
        return None


def _kept_envelope(body: Any) -> Envelope | None:
    """The envelope a stored outcome keeps (member j), already parsed with the outcome."""
    try:
        return from_object(body) if body is not None else None
    except DecodeError:
        return None


def _cut(kept: Any) -> int:
    cut = kept.get(OUTCOME_CUT) if isinstance(kept, dict) else None
    return cut if isinstance(cut, int) else 0


def _ran(outcome: dict[str, Any]) -> tuple[float, float]:
    """(start, end) of a finished job's last attempt, Unix s, from its outcome's t1 (end,
    ms) and d (duration, µs); (0, 0) when the outcome does not say."""
    end, took = outcome.get(OUTCOME_ENDED_MS), outcome.get(OUTCOME_TOOK_US)
    if not isinstance(end, int | float) or not isinstance(took, int | float):
        return 0.0, 0.0
    return end / 1e3 - took / 1e6, end / 1e3


def _json(raw: Any) -> dict[str, Any]:
    try:
        data = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _stalled(raw: Any, job_id: str) -> int:
    """How many jobs the worker's heartbeat says it holds without running, if this is one."""
    try:
        ids = json.loads(raw) if isinstance(raw, str) else []
    except ValueError:
        return 0
    return len(ids) if isinstance(ids, list) and job_id in ids else 0


def gather(app: App, job_id: str) -> JobFacts:
    """The facts about `job_id`; JobNotFound if no queue of the namespace knows it."""
    queue = app.broker.find_queue(job_id, app.queues())
    if queue is None:
        raise JobNotFound(f"no job {job_id!r} in namespace {app.config.namespace!r}")
    facts = facts_from(job_id, queue, app.broker.job_facts(queue, job_id, AHEAD_LIMIT))
    member_of = facts.envelope.workflow if facts.envelope is not None else ""
    views = tuple(workflows_of(app, job_id, queue, facts.workflow, member_of))
    facts = dataclasses.replace(facts, workflows=views) if views else facts
    if facts.state == "queued":  # is anyone there to take it?
        workers = snapshot(app.broker, [queue]).workers
        consumed = dict.fromkeys(q for w in workers for q in w.queues)
        paused = flow_facts.paused(queue, app.broker.paused([queue])[queue], when)
        facts = dataclasses.replace(facts, live_queues=tuple(consumed), flow=paused)
    if facts.state == "scheduled" and facts.envelope is not None:
        held = flow_facts.held_back(app, facts.queue, facts.id, facts.envelope, when)
        facts = dataclasses.replace(facts, flow=held)
    return facts


def facts_from(job_id: str, queue: str, row: JobRow) -> JobFacts:
    """JobFacts from what `Broker.job_facts` read (pure)."""
    record = row.record or ""
    dead_fields = row.dead.fields if row.dead else None
    dead = _json(dead_fields.get(ENTRY_DEAD_DETAILS)) if dead_fields else None
    base: dict[str, Any] = {"id": job_id, "queue": queue, "now": row.time, "dead": dead}
    base["progress"] = parse_progress(row.progress)
    kind, rest = job_record(record)
    if kind == WAITING:
        return JobFacts(state="waiting", workflow=rest, **base)
    level, rest = level_of(rest)
    if kind == SCHEDULED:
        env = _envelope(row.delayed)
        return JobFacts(state="scheduled", envelope=env, due_at=int(rest) / 1000, level=level, **base)
    if kind in (QUEUED, CANCEL_ASKED):
        return _stream_facts(kind, rest, row, {**base, "level": level})
    if row.outcome is not None:
        outcome = parse_outcome(row.outcome)
        env = _kept_envelope(outcome.get(OUTCOME_ENVELOPE))
        if env is None and dead_fields:  # an outcome stored before outcomes kept the envelope
            env = _envelope(dead_fields.get(ENTRY_ENVELOPE))
        return JobFacts(
            state=outcome_state(outcome),
            envelope=env,
            outcome=outcome,
            started_at=_ran(outcome)[0],
            finished_at=_ran(outcome)[1],
            args_cut=_cut(outcome.get(OUTCOME_ENVELOPE)),
            result_ttl_s=row.result_ttl,
            **base,
        )
    if dead_fields:  # the outcome expired but the dead letter is still there
        return JobFacts(state="dead", envelope=_envelope(dead_fields.get(ENTRY_ENVELOPE)), **base)
    raise JobNotFound(f"no record of job {job_id!r} (never enqueued, or expired)")


def _stream_facts(kind: str, stream_id: str, row: JobRow, base: dict[str, Any]) -> JobFacts:
    env = _envelope((row.entry or {}).get(ENTRY_ENVELOPE))
    pending = row.pending
    if pending is None:
        return JobFacts(state="queued", envelope=env, stream_id=stream_id, ahead=row.ahead, **base)
    worker = row.worker
    return JobFacts(
        state="cancelling" if kind == CANCEL_ASKED else "running",
        envelope=env,
        stream_id=stream_id,
        worker=pending.consumer,
        worker_alive=bool(worker),
        worker_host=str(worker.get("host", "")),
        worker_pid=int(worker.get("pid") or 0),
        idle_s=pending.idle_ms / 1000,
        started_at=float(_json(worker.get("running")).get(str(base["id"]), 0.0)),
        stalled=_stalled(worker.get("stalled"), str(base["id"])),
        deliveries=pending.deliveries,
        **base,
    )
