"""Why has this job not run or finished yet? Facts from Redis, then a pure explanation.

`gather` reads what Redis holds about one job (bounded reads, see `Broker.job_facts`);
`explain` and `summary` turn those facts into sentences and a record, without I/O.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from jobq import flow_facts
from jobq.app import App
from jobq.broker.rows import JobRow
from jobq.envelope import DecodeError, Envelope, decode, from_object
from jobq.errors import JobNotFound
from jobq.job import parse_outcome
from jobq.jobtext import call_text, span, took, when
from jobq.progress import Progress, parse_progress
from jobq.stats import snapshot, stream_id_ms
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

    @property
    def task(self) -> str:
        if self.envelope is not None:
            return self.envelope.task
        return str((self.dead or {}).get("task", ""))

    @property
    def attempts(self) -> int | None:
        """Attempts made so far (including a running one), when Redis can tell."""
        made = (self.outcome or {}).get("n")
        if isinstance(made, int):  # a finished job's outcome counts them
            return made
        if self.state == "dead":
            return int((self.outcome or {}).get("n") or (self.dead or {}).get("attempts") or 0)
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
    cut = kept.get("cut") if isinstance(kept, dict) else None
    return cut if isinstance(cut, int) else 0


def _ran(outcome: dict[str, Any]) -> tuple[float, float]:
    """(start, end) of a finished job's last attempt, Unix s, from its outcome's t1 (end,
    ms) and d (duration, µs); (0, 0) when the outcome does not say."""
    end, took = outcome.get("t1"), outcome.get("d")
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
    views = tuple(workflows_of(app, job_id, queue, facts.workflow))
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
    dead = _json(dead_fields.get("d")) if dead_fields else None
    base: dict[str, Any] = {"id": job_id, "queue": queue, "now": row.time, "dead": dead}
    base["progress"] = parse_progress(row.progress)
    kind, rest = record[:1], record[1:]
    if kind == "W":
        return JobFacts(state="waiting", workflow=rest, **base)
    if kind == "S":
        env = _envelope(row.delayed)
        return JobFacts(state="scheduled", envelope=env, due_at=int(rest) / 1000, **base)
    if kind in ("Q", "X"):
        return _stream_facts(kind, rest, row, base)
    if row.outcome is not None:
        outcome = parse_outcome(row.outcome)
        env = _kept_envelope(outcome.get("j"))
        if env is None and dead_fields:  # an outcome stored before outcomes kept the envelope
            env = _envelope(dead_fields.get("j"))
        return JobFacts(
            state=str(outcome.get("s", "succeeded")),
            envelope=env,
            outcome=outcome,
            started_at=_ran(outcome)[0],
            finished_at=_ran(outcome)[1],
            args_cut=_cut(outcome.get("j")),
            result_ttl_s=row.result_ttl,
            **base,
        )
    if dead_fields:  # the outcome expired but the dead letter is still there
        return JobFacts(state="dead", envelope=_envelope(dead_fields.get("j")), **base)
    raise JobNotFound(f"no record of job {job_id!r} (never enqueued, or expired)")


def _stream_facts(kind: str, stream_id: str, row: JobRow, base: dict[str, Any]) -> JobFacts:
    env = _envelope((row.entry or {}).get("j"))
    pending = row.pending
    if pending is None:
        return JobFacts(state="queued", envelope=env, stream_id=stream_id, ahead=row.ahead, **base)
    worker = row.worker
    return JobFacts(
        state="cancelling" if kind == "X" else "running",
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


# explaining (pure) --------------------------------------------------------------------


def _of(n: int, max_attempts: int | None) -> str:
    return f"{n} of {max_attempts}" if max_attempts else f"{n}"


def explain(
    f: JobFacts, max_attempts: int | None = None, visibility_timeout: float | None = None
) -> list[str]:
    """Sentences saying where the job is and what it waits for. `max_attempts` (retries + 1)
    and `visibility_timeout` come from the app when known."""
    head = f"job {f.id} ({f.task or 'task unknown'}) in queue {f.queue}:"
    call = call_text(f.envelope, f.args_cut)
    lines = [head, *_why(f, max_attempts, visibility_timeout)]
    if f.progress is not None:
        lines.append(f"progress: {progress_text(f.progress)}")
    lines += [view.describe() for view in f.workflows]
    return lines + ([f"called as {call}"] if call else [])


def progress_text(p: Progress) -> str:
    """`40% resized 4 of 10`: how `job show`, `explain` and the dashboard print progress."""
    percent = f"{p.fraction * 100:.0f}%"
    return f"{percent} {p.message}" if p.message else percent


def _last_run(f: JobFacts) -> list[str]:
    """When a finished job's last attempt ran, from its stored outcome."""
    if not f.finished_at:
        return []
    which = f"attempt {f.attempts}" if f.attempts else "the last attempt"
    ran = f"{which} ran from {when(f.started_at)} to {when(f.finished_at)}"
    return [f"{ran} (took {took(f.finished_at - f.started_at)})"]


def _why(f: JobFacts, max_attempts: int | None, vt: float | None) -> list[str]:
    prior = f.envelope.prior_attempts if f.envelope else 0
    if f.state == "queued":
        return _queued(f, prior, max_attempts)
    if f.state in ("running", "cancelling"):
        return _running(f, max_attempts, vt)
    if f.state == "scheduled":
        wait = f"in {span(f.due_at - f.now)}" if f.due_at > f.now else "due now, about to be queued"
        if prior:
            attempt = _of(prior + 1, max_attempts)
            return [*f.flow, f"waiting to retry: attempt {attempt} due at {when(f.due_at)} ({wait})"]
        return [*f.flow, f"scheduled: may run at {when(f.due_at)} ({wait})"]
    if f.state == "dead":
        return _dead(f)
    if f.state == "cancelled":
        why = (f.outcome or {}).get("why")
        said = f"cancelled ({why}): it will not run" if why else "cancelled: it will not run (again)"
        return [said, *_last_run(f)]
    if f.state == "waiting":
        return [f"waiting: it is enqueued once the jobs it waits for in workflow {f.workflow} succeed"]
    if f.state == "expired":
        return ["expired: it was not started before its `expires`, so it never ran (and never will)"]
    kept = f" (result kept {span(f.result_ttl_s)} more)" if f.result_ttl_s > 0 else ""
    return [f"{f.state}: finished{kept}", *_last_run(f)]


def _queued(f: JobFacts, prior: int, max_attempts: int | None) -> list[str]:
    if f.ahead is None:
        where = "waiting in the queue"
    elif f.ahead > AHEAD_LIMIT:
        where = f"queued behind more than {AHEAD_LIMIT} other jobs"
    elif f.ahead == 0:
        where = "next in line: queued behind no other job"
    else:
        where = f"queued behind {f.ahead} other job{'s' if f.ahead != 1 else ''}"
    lines = [*f.flow, f"{where}; {_waiting_for(f)}"]
    if f.stream_id:
        entered = stream_id_ms(f.stream_id) / 1000
        lines.append(f"in the queue since {when(entered)} ({span(f.now - entered)} ago)")
    if prior:
        lines.append(f"it will be attempt {_of(prior + 1, max_attempts)}")
    return lines


def _waiting_for(f: JobFacts) -> str:
    """A free worker, or, when no live worker consumes the queue, that cause and the queues
    the live ones do consume (a typo in `-q` or a forgotten worker must not look like a wait)."""
    if f.live_queues is None or f.queue in f.live_queues:
        return f"waiting for a free worker on queue {f.queue}"
    if not f.live_queues:
        return f"no worker is live, so nothing consumes queue {f.queue}"
    return (
        f"no live worker consumes queue {f.queue}; the live workers consume: {', '.join(f.live_queues)}"
        f" (start one with: jobq worker APP -q {f.queue})"
    )


def _running(f: JobFacts, max_attempts: int | None, vt: float | None) -> list[str]:
    attempt = _of(f.attempts or 1, max_attempts)
    where = f"worker {f.worker}" + (f" (host {f.worker_host}, pid {f.worker_pid})" if f.worker_host else "")
    since = f" since {when(f.started_at)} ({span(f.now - f.started_at)})" if f.started_at else ""
    if f.stalled and f.worker_alive:
        return [
            f"held by {where} but not running, attempt {attempt}; lease renewed {span(f.idle_s)} ago",
            f"that worker holds {f.stalled} job(s) it is not running: it exits once they have stalled"
            " for the visibility timeout, and another worker takes them over",
        ]
    lines = [f"running on {where}{since}, attempt {attempt}; lease renewed {span(f.idle_s)} ago"]
    if f.state == "cancelling":
        lines.append("cancel requested: the worker stops it at its next lease renewal")
    if not f.worker_alive:
        limit = f" {span(vt)}" if vt else ""
        lines.append(
            f"that worker has no live heartbeat: another worker takes the job over once its lease"
            f" has been idle for the visibility timeout{limit} (idle {span(f.idle_s)} now)"
        )
    return lines


def _dead(f: JobFacts) -> list[str]:
    d = f.dead or {}
    o = f.outcome or {}
    reason = str(d.get("reason") or o.get("why") or "unknown reason")
    error = str(d.get("error") or o.get("e") or "")
    lines = [f"dead because {reason}"]
    if f.attempts:
        lines.append(f"attempts made: {f.attempts}")
    lines += _last_run(f)
    if error.strip() and error.strip() not in reason:
        lines.append(f"last error: {error.strip().splitlines()[0]}")
    if d.get("time"):
        lines.append(f"dead-lettered at {when(float(d['time']))} by {d.get('worker', '?')}")
    if f.dead is not None:
        lines.append(f"replay it with: jobq dlq requeue {f.queue} {f.id}")
    else:
        lines.append("its dead-letter entry is gone (requeued, purged or replaced)")
    return lines


def summary(f: JobFacts, status: str) -> dict[str, Any]:
    """The `jobq job show` record: state, attempts, last error and what else is known."""
    d = f.dead or {}
    o = f.outcome or {}
    error = d.get("error") or o.get("e")
    out: dict[str, Any] = {
        "id": f.id,
        "queue": f.queue,
        "task": f.task or None,
        "state": status,
        "attempts": f.attempts,
        "last_error": str(error) if error else None,
        "enqueued_at": f.envelope.enqueued_at if f.envelope else None,
        "started_at": f.started_at or None,
        "finished_at": f.finished_at or None,
        "duration_s": round(f.finished_at - f.started_at, 6) if f.finished_at and f.started_at else None,
    }
    if f.envelope is not None:
        out["args"] = None if f.args_cut else list(f.envelope.args)
        out["kwargs"] = None if f.args_cut else dict(f.envelope.kwargs)
    if f.args_cut:
        out["args_not_kept"] = f"a {f.args_cut}-character payload is not kept once the job finished"
    if status == "scheduled":
        out["due_at"] = f.due_at
    if f.workflows:
        out["workflows"] = [dataclasses.asdict(view) for view in f.workflows]
    if status in ("running", "cancelling"):
        out["worker"] = f.worker
    if f.progress is not None:
        out["progress"] = {"fraction": f.progress.fraction, "message": f.progress.message}
    if status == "succeeded" and "r" in o:
        out["result"] = o["r"]
    if status == "dead":
        out["reason"] = d.get("reason") or o.get("why")
        out["traceback"] = d.get("traceback") or o.get("tb") or ""
    return out
