"""Why has this job not run or finished yet? A pure explanation of the facts Redis holds.

`gather` (jobq.jobfacts) reads what Redis holds about one job; `explain` and `summary`
turn those facts into sentences and a record, without I/O.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from jobq.flow import DEFAULT_PRIORITY
from jobq.jobfacts import AHEAD_LIMIT, JobFacts, facts_from, gather
from jobq.jobtext import call_text, span, took, when
from jobq.progress import Progress
from jobq.records import OUTCOME_ERROR, OUTCOME_REASON, OUTCOME_RESULT, OUTCOME_TRACEBACK
from jobq.stats import stream_id_ms

__all__ = ["AHEAD_LIMIT", "JobFacts", "explain", "facts_from", "gather", "progress_text", "summary"]


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
        why = (f.outcome or {}).get(OUTCOME_REASON)
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
    if f.priority not in (None, DEFAULT_PRIORITY):  # the default level says nothing new
        where += f" at priority {f.priority} (0-9, higher first)"
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
    reason = str(d.get("reason") or o.get(OUTCOME_REASON) or "unknown reason")
    error = str(d.get("error") or o.get(OUTCOME_ERROR) or "")
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
    error = d.get("error") or o.get(OUTCOME_ERROR)
    out: dict[str, Any] = {
        "id": f.id,
        "queue": f.queue,
        "task": f.task or None,
        "state": status,
        "priority": f.priority,
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
    if status == "succeeded" and OUTCOME_RESULT in o:
        out["result"] = o[OUTCOME_RESULT]
    if status == "dead":
        out["reason"] = d.get("reason") or o.get(OUTCOME_REASON)
        out["traceback"] = d.get("traceback") or o.get(OUTCOME_TRACEBACK) or ""
    return out
