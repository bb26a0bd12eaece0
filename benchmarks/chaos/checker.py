"""The checker: every acknowledged job's fate and every run, judged against the contract.

In the spirit of Jepsen's queue checker, it trusts nothing the system under test says
about itself except its final state: runs come from the task bodies' own records,
process lives from the runner's monitor, outages from the fault log.

- lost: acknowledged by enqueue, and Redis has no trace of it at the deadline;
- stuck: acknowledged, Redis still holds it, not terminal at the deadline (10 s after
  the last fault healed, plus the lease);
- a second run of a job is *expected* after a run that failed (retry) or outlived its
  timeout; otherwise it is a duplicate, *allowed* by at-least-once only if the first
  run's process was dead when the second started, or a Redis outage was long enough for
  its lease to lapse (see `lease_may_lapse`); any other duplicate is *illegal*;
- cron: a tick is *doubled* if two runs of it are first attempts (two enqueues), and
  *missed* if it never ran although a scheduler and Redis were both usable for long
  enough inside its misfire grace.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass, field

from benchmarks.chaos import cronfacts
from benchmarks.chaos.history import TERMINAL, History, Run, Window

WORKER_BACKOFF_MAX_S = 5.0  # jobq.worker.outage.BACKOFF_MAX: a worker's longest wait between tries
RENEW_SLACK_S = 2.0  # the renewal period (<= 1 s) plus a second of scheduling on a loaded host
SHOWN = 5  # examples of each problem in the report


@dataclass
class Verdict:
    table: dict[str, int] = field(default_factory=dict)
    dead_reasons: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        bad = ("lost", "stuck", "duplicates illegal", "cron ticks missed", "cron ticks doubled")
        return any(self.table.get(k, 0) for k in bad)


def lease_may_lapse(outage: Window, vt: float) -> bool:
    """Whether a worker cut off by this outage may have gone a whole lease without renewing:
    the outage, then up to its backoff before the next try, then one renewal period."""
    length = outage.end - outage.start
    return length + min(WORKER_BACKOFF_MAX_S, length) + RENEW_SLACK_S >= vt


def reason_class(reason: str) -> str:
    """A dead-letter reason without its particulars: 'retries exhausted after N attempts'."""
    head = reason.split(":", 1)[0].split("(", 1)[0].strip()
    return re.sub(r"\d+", "N", head)


def check(h: History) -> Verdict:
    v = Verdict()
    _fates(h, v)
    _duplicates(h, v)
    cronfacts.check_ticks(h, v.table, v.problems)
    v.table.update({f"faults: {k}": n for k, n in sorted(h.faults.items())})
    v.table["faults: total"] = sum(h.faults.values())
    return v


def _fates(h: History, v: Verdict) -> None:
    t = v.table
    t["enqueued"] = h.enqueued
    t["acknowledged by enqueue"] = len(h.acked)
    t["enqueue raised"] = h.enqueued - len(h.acked)
    ran = {r.job for r in h.runs}
    t["enqueue raised, ran anyway"] = sum(1 for j in h.raised if j in ran or h.fates.get(j))
    states = Counter(h.fates.get(j) for j in h.acked)
    for state in TERMINAL:
        t[state if state != "dead" else "dead-lettered"] = states[state]
    for job in h.acked:
        if h.fates.get(job) == "dead":
            v.dead_reasons[reason_class(h.dead_reasons.get(job, "?"))] += 1
    lost = [j for j in h.acked if h.fates.get(j) is None]
    stuck = [j for j in h.acked if h.fates.get(j) not in (None, *TERMINAL)]
    t["lost"], t["stuck"] = len(lost), len(stuck)
    for j in lost[:SHOWN]:
        v.problems.append(f"lost: {j} ({h.acked[j]}) acknowledged, no trace in Redis, {_runs_of(h, j)}")
    for j in stuck[:SHOWN]:
        v.problems.append(f"stuck: {j} ({h.acked[j]}) still {h.fates[j]} at the deadline, {_runs_of(h, j)}")


def _runs_of(h: History, job: str) -> str:
    runs = [r for r in h.runs if r.job == job]
    if not runs:
        return "never ran"
    return "runs: " + ", ".join(_describe(h, r) for r in runs)


def _describe(h: History, r: Run) -> str:
    end = f"ended {r.outcome} at {r.end - h.t0:.2f}" if r.end is not None else "never ended"
    return f"pid {r.pid} attempt {r.attempt} at {r.start - h.t0:.2f} {end}"


def _duplicates(h: History, v: Verdict) -> None:
    by_job: dict[str, list[Run]] = {}
    for r in h.runs:
        by_job.setdefault(r.job, []).append(r)
    tally: Counter[str] = Counter()
    for job, runs in by_job.items():
        task = h.acked.get(job) or h.raised.get(job, "")
        for prev, cur in itertools.pairwise(runs):
            verdict = _second_run(h, task, prev, cur)
            tally[verdict] += 1
            if verdict == "illegal" and tally[verdict] <= SHOWN:
                life = h.lives.get(prev.pid)
                seen = f"seen alive until {life.end - h.t0:.2f}" if life else "never seen"
                v.problems.append(
                    f"illegal duplicate: {job}: {_describe(h, prev)}; then {_describe(h, cur)}, "
                    f"while pid {prev.pid} lived ({seen}) and no outage could lapse its lease"
                )
    t = v.table
    t["runs"] = len(h.runs)
    t["re-runs expected (retry, timeout)"] = tally["expected"]
    t["duplicates allowed: owner dead"] = tally["owner dead"]
    t["duplicates allowed: lease lapsed"] = tally["lease lapsed"]
    t["duplicates allowed: owner unobserved"] = tally["owner unobserved"]
    t["duplicates illegal"] = tally["illegal"]


def _second_run(h: History, task: str, prev: Run, cur: Run) -> str:
    """Why `cur` ran after `prev`: expected, owner dead, lease lapsed, or illegal."""
    if prev.outcome == "fail" and prev.end is not None and prev.end <= cur.start:
        return "expected"
    timeout = h.timeouts.get(task)
    if timeout is not None and cur.start >= prev.start + timeout:
        return "expected"
    life = h.lives.get(prev.pid)
    if life is None:
        return "owner unobserved"
    if prev.pid not in h.alive_at_end and life.end < cur.start:
        return "owner dead"
    for w in h.outages:
        if w.start <= cur.start and w.end >= prev.start - h.vt and lease_may_lapse(w, h.vt):
            return "lease lapsed"
    return "illegal"
