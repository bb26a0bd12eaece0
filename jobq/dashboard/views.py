"""The dashboard's text: table layouts, cells and the whole frame as lines (pure).

The live screen and the plain (non-terminal) output both draw from these functions, so
what tests read here is what people see.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from jobq.dashboard import format as fmt
from jobq.dashboard.cron_view import CronRow
from jobq.dashboard.model import TREND_BUCKETS, QueueRow
from jobq.dashboard.table import Column, fit, render
from jobq.dlq import DeadJob
from jobq.startfail import StartFailure
from jobq.startfail import describe as describe_start_failure
from jobq.stats import WorkerStats, level_backlog, stalled_notes

QUEUE_COLUMNS = (
    Column("name", "QUEUE", 10, grow=22, left=True),
    Column("backlog", "BACKLOG", 7),
    Column("in_flight", "RUN", 5, drop=2),
    Column("scheduled", "SCHED", 5, drop=7),
    Column("dead", "DEAD", 5, drop=3),
    Column("ok_rate", "OK/s", 6, drop=4),
    Column("fail_rate", "FAIL/s", 6, drop=5),
    Column("trend", "TREND", 10, drop=9, grow=TREND_BUCKETS - 10, left=True),
    Column("oldest", "OLDEST", 6, drop=6),
    Column("latency", "P50/P95", 10, drop=8),
    Column("priorities", "LEVELS", 9, drop=10, grow=12, left=True),
    Column("rate_deferred", "THROT", 5, drop=11),
    Column("cap_deferred", "CAP", 5, drop=12),
    Column("expiries", "EXP", 5, drop=13),
)
WORKER_COLUMNS = (
    Column("host", "WORKER", 8, grow=16, left=True),
    Column("pid", "PID", 7, drop=3),
    Column("queues", "QUEUES", 8, grow=30, drop=5, left=True),
    Column("busy", "BUSY", 7),
    Column("done", "DONE", 8, drop=4),
    Column("seen", "SEEN", 6, drop=2),
)
CRON_COLUMNS = (
    Column("name", "CRON", 10, grow=30, left=True),
    Column("schedule", "SCHEDULE", 14, grow=10, drop=3, left=True),
    Column("next", "NEXT", 8),
    Column("in", "IN", 6, drop=2),
)
DEAD_COLUMNS = (
    Column("time", "DEAD AT", 8, grow=3, left=True),
    Column("job", "JOB", 12, grow=20, drop=4, left=True),
    Column("task", "TASK", 10, grow=20, left=True),
    Column("reason", "REASON", 10, grow=10, drop=3, left=True),
    Column("attempts", "TRIES", 5, drop=5),
    Column("error", "ERROR", 10, grow=200, drop=2, left=True),
)


def queue_cells(row: QueueRow, trend_width: int = 10) -> dict[str, str]:
    q = row.stats
    return {
        "name": f"{q.name} (paused)" if q.paused else q.name,
        "backlog": fmt.count(q.backlog),
        "in_flight": fmt.count(q.in_flight, 5),
        "scheduled": fmt.count(q.scheduled, 5),
        "dead": fmt.count(q.dead, 5),
        "ok_rate": fmt.rate(row.rates.processed),
        "fail_rate": fmt.rate(row.rates.failed),
        "trend": fmt.sparkline(row.rates.trend, trend_width),
        "oldest": fmt.age(q.oldest_age_s) if q.backlog else "-",
        "latency": fmt.latency(row.latency),
        "priorities": level_backlog(q.priorities),
        "rate_deferred": fmt.count(q.throttled, 5),
        "cap_deferred": fmt.count(q.capped, 5),
        "expiries": fmt.count(q.expired, 5),
    }


def worker_cells(w: WorkerStats) -> dict[str, str]:
    return {
        "host": w.host or w.id,
        "pid": str(w.pid),
        "queues": ",".join(w.queues),
        "busy": f"{w.busy}/{w.concurrency}",
        "done": fmt.count(w.processed, 8),
        "seen": fmt.age(w.last_seen_s),
    }


def cron_cells(row: CronRow, now: float) -> dict[str, str]:
    return {
        "name": row.name,
        "schedule": row.schedule,
        "next": fmt.clock(row.next_at) if row.next_at is not None else "?",
        "in": fmt.age(row.next_at - now) if row.next_at is not None else "-",
    }


def dead_cells(letter: DeadJob, now: float) -> dict[str, str]:
    lines = letter.error.strip().splitlines()
    return {
        "time": fmt.stamp(letter.time, now),
        "job": letter.id or f"({letter.entry_id})",
        "task": letter.task or "?",
        "reason": letter.reason,
        "attempts": str(letter.attempts),
        "error": lines[-1] if lines else "",
    }


def status_line(state: str, detail: str, taken_at: float | None, where: str, width: int) -> str:
    """The top line: connection state first (it matters most), then when and where."""
    if state == "live":
        head = f"● live {fmt.clock(taken_at)}" if taken_at else "● live"
        text = f"jobq  {head}  {where}"
    elif state == "connecting":
        text = f"jobq  … {detail}  {where}"
    else:
        text = f"jobq  ✖ disconnected  {detail}"
    return fmt.clip(text, width)


@dataclass(frozen=True)
class Frame:
    """Everything one redraw shows."""

    state: str
    detail: str
    where: str  # "ns jobq @ redis://…"
    taken_at: float | None
    queues: Sequence[QueueRow]
    workers: Sequence[WorkerStats]
    cron: Sequence[CronRow] | None = None  # None: no APP given, no cron section
    notes: Sequence[str] = field(default_factory=tuple)
    start_failures: Sequence[StartFailure] = field(default_factory=tuple)


def queue_lines(rows: Sequence[QueueRow], width: int) -> list[str]:
    fitted = fit(QUEUE_COLUMNS, width)
    trend_width = fitted.width_of("trend")
    lines = render(fitted, [queue_cells(r, trend_width) for r in rows], width)
    return lines if rows else [*lines, "  no queues yet"]


def worker_lines(
    workers: Sequence[WorkerStats], width: int, failing: Sequence[StartFailure] = ()
) -> list[str]:
    lines = render(WORKER_COLUMNS, [worker_cells(w) for w in workers], width)
    if not workers:
        lines.append("  no workers running")
    lines += [fmt.clip(f"  ⚠ {note}", width) for note in stalled_notes(workers)]
    return lines + [fmt.clip(f"  ✖ {describe_start_failure(f)}", width) for f in failing]


def cron_lines(rows: Sequence[CronRow], now: float, width: int) -> list[str]:
    lines = render(CRON_COLUMNS, [cron_cells(r, now) for r in rows], width)
    return lines if rows else [*lines, "  no cron entries"]


def render_frame(frame: Frame, width: int, now: float) -> list[str]:
    """The whole dashboard as plain lines of at most `width` cells."""
    lines = [status_line(frame.state, frame.detail, frame.taken_at, frame.where, width), ""]
    lines += queue_lines(frame.queues, width)
    lines += ["", *worker_lines(frame.workers, width, frame.start_failures)]
    if frame.cron is not None:
        lines += ["", *cron_lines(frame.cron, now, width)]
    return lines + [fmt.clip(n, width) for n in frame.notes]


def dead_lines(letters: Sequence[DeadJob], now: float, width: int) -> list[str]:
    lines = render(DEAD_COLUMNS, [dead_cells(d, now) for d in letters], width)
    return lines if letters else [*lines, "  no dead letters"]


def _block(title: str, text: str) -> list[str]:
    body = text.rstrip().splitlines() or ["(none)"]
    return [title, *(f"  {line}" for line in body)]


def detail_lines(letter: DeadJob, queue: str) -> list[str]:
    """Everything known about one dead job: who, why, its arguments, error and traceback."""
    env = letter.envelope
    lines = [
        f"job       {letter.id or '?'}",
        f"task      {letter.task or '?'}",
        f"queue     {queue}",
        f"reason    {letter.reason}",
        f"attempts  {letter.attempts}",
        f"dead at   {fmt.moment(letter.time)} on {letter.worker or '?'} ({letter.host or '?'})",
        "",
    ]
    if env is None:
        lines += ["payload   cannot be decoded, so this job cannot be requeued"]
    else:
        lines += _block("args", json.dumps(list(env.args), ensure_ascii=False, indent=2))
        lines += _block("kwargs", json.dumps(env.kwargs, ensure_ascii=False, indent=2))
    lines += ["", *_block("error", letter.error), "", *_block("traceback", letter.traceback)]
    return lines
