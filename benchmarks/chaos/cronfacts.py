"""The cron part of the checker: ticks missed or doubled.

A tick must run if, inside its misfire grace, a scheduler demonstrably could fire it:
either a later tick ran before the grace was over (so some scheduler reached Redis and
fired a tick while this one was still due), or some scheduler process and Redis were
both usable for MIN_USABLE_S (a scheduler counts from SCHEDULER_START_S after it was
first seen alive until last seen; Redis from SCHEDULER_BACKOFF_S after an outage ended,
the scheduler's longest wait between tries). Other unfired ticks are *excused*, not
missed: the contract says ticks missed while no scheduler could run are not backfilled.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

from benchmarks.chaos.history import TERMINAL, History, Window

MISFIRE_GRACE_S = 5.0  # jobq.scheduler.MISFIRE_GRACE_S
SCHEDULER_START_S = 3.0
SCHEDULER_BACKOFF_S = 2.5
MIN_USABLE_S = 1.0


def subtract(spans: list[Window], holes: list[Window]) -> list[Window]:
    """`spans` minus every hole (both lists of closed intervals)."""
    out = list(spans)
    for hole in holes:
        nxt = []
        for s in out:
            if hole.end <= s.start or hole.start >= s.end:
                nxt.append(s)
                continue
            if s.start < hole.start:
                nxt.append(Window(s.start, hole.start))
            if hole.end < s.end:
                nxt.append(Window(hole.end, s.end))
        out = nxt
    return out


def measure_within(spans: list[Window], start: float, end: float) -> float:
    """Total length of the parts of possibly overlapping `spans` inside [start, end]."""
    cuts = sorted((max(s.start, start), min(s.end, end)) for s in spans if s.end > start and s.start < end)
    total, reach = 0.0, start
    for a, b in cuts:
        a = max(a, reach)
        if b > a:
            total += b - a
            reach = b
    return total


def usable(h: History) -> list[Window]:
    late = SCHEDULER_START_S
    up = [Window(w.start + late, w.end) for w in h.schedulers if w.end > w.start + late]
    holes = [Window(o.start, o.end + SCHEDULER_BACKOFF_S) for o in h.outages]
    return subtract(up, holes)


def tick_due(h: History, job_id: str) -> float | None:
    """The due time (this run's clock) of a cron job id `cron:<name>:<UTC stamp>`."""
    try:
        stamp = datetime.strptime(job_id.rsplit(":", 1)[1], "%Y%m%dT%H%M%SZ")
    except (IndexError, ValueError):
        return None
    return stamp.replace(tzinfo=timezone.utc).timestamp() - h.wall_offset


def later_tick_ran(h: History, due: float) -> bool:
    """Whether a tick due after `due` started running within `due`'s misfire grace."""
    for r in h.runs:
        if r.job.startswith("cron:") and due < r.start <= due + MISFIRE_GRACE_S:
            later = tick_due(h, r.job)
            if later is not None and later > due + 0.5:
                return True
    return False


def check_ticks(h: History, table: dict[str, int], problems: list[str]) -> None:
    spans = usable(h)
    firsts: Counter[str] = Counter(r.job for r in h.runs if r.job in h.ticks and r.attempt == 1)
    ran = {r.job for r in h.runs}
    missed, excused, stuck = [], 0, []
    for job, due in sorted(h.ticks.items(), key=lambda kv: kv[1]):
        fate = h.tick_fates.get(job)
        if fate is None and job not in ran:
            usable_s = measure_within(spans, due, due + MISFIRE_GRACE_S)
            if usable_s >= MIN_USABLE_S or later_tick_ran(h, due):
                missed.append(job)
            else:
                excused += 1
        elif fate not in TERMINAL:
            stuck.append(job)
    doubled = sorted(j for j, n in firsts.items() if n > 1)
    table["cron ticks due"] = len(h.ticks)
    table["cron ticks run"] = sum(1 for j in h.ticks if j in ran)
    table["cron ticks missed"] = len(missed)
    table["cron ticks excused (no scheduler or Redis)"] = excused
    table["cron ticks doubled"] = len(doubled)
    table["stuck"] = table.get("stuck", 0) + len(stuck)
    for job in missed[:5]:
        problems.append(f"cron tick missed: {job} (due {h.ticks[job] - h.t0:.2f}) never enqueued")
    for job in doubled[:5]:
        problems.append(f"cron tick doubled: {job} ran {firsts[job]} first attempts")
    for job in stuck[:5]:
        problems.append(f"stuck: cron tick {job} still {h.tick_fates.get(job)} at the deadline")
