"""A snapshot of every queue and worker: what `jobq stats`, the dashboard and metrics show.

Every number comes from bounded Redis reads (see `SnapshotReads.snapshot`) and from the
counters workers keep; nothing here scans. Parsing is pure, so it is table-tested.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jobq import records, startfail
from jobq.broker.rows import QueueRow
from jobq.broker.snapshot import SnapshotReads
from jobq.flow import DEFAULT_PRIORITY

DURATION_BOUNDS: tuple[float, ...] = (*records.DURATION_BOUNDS, math.inf)
"""Upper bounds (seconds) of the run-duration buckets workers count into; inf last."""


@dataclass(frozen=True)
class TaskStats:
    """Running totals of one task in one queue, with its run-duration histogram."""

    name: str
    processed: int = 0
    failed: int = 0
    duration_count: int = 0
    duration_sum_s: float = 0.0
    # (upper bound s, runs in this bucket alone: NOT cumulative), in DURATION_BOUNDS order
    duration_buckets: tuple[tuple[float, int], ...] = ()


@dataclass(frozen=True)
class QueueStats:
    name: str
    backlog: int
    in_flight: int
    scheduled: int
    dead: int
    processed: int
    failed: int
    oldest_age_s: float
    tasks: tuple[TaskStats, ...] = ()
    paused_since: float | None = None  # Unix s the queue was paused at; None: it runs
    expired: int = 0  # jobs not started before their `expires` (never run)
    throttled: int = 0  # starts deferred by a rate limit
    capped: int = 0  # starts deferred by a concurrency cap
    priorities: dict[int, int] = field(default_factory=dict)  # level -> backlog (levels used)

    @property
    def paused(self) -> bool:
        return self.paused_since is not None


@dataclass(frozen=True)
class WorkerStats:
    id: str
    host: str
    pid: int
    queues: list[str]
    busy: int
    concurrency: int
    last_seen_s: float
    processed: int
    latency_ms: dict[str, tuple[float, float]]  # queue -> (p50, p95) enqueue-to-start, last minute
    started_at: float = 0.0
    held: int = 0  # entries it holds: running, waiting for a slot, or waiting for their outcome to be written
    ready: int = 0  # held, waiting for a slot
    stalled: tuple[str, ...] = ()  # ids of held jobs it could have moved on and has not (see worker.watchdog)


@dataclass(frozen=True)
class Snapshot:
    queues: list[QueueStats]
    workers: list[WorkerStats]
    taken_at: float  # Redis time, Unix s
    start_failures: list[startfail.StartFailure] = field(default_factory=list)


def snapshot(broker: SnapshotReads, queues: Sequence[str] | None = None) -> Snapshot:
    """One consistent-enough look at `queues` (None: every queue in ns:queues) and workers."""
    rows = broker.snapshot(queues)
    now = rows.time
    failing = broker.start_failures(now)
    return Snapshot(
        queues=[queue_stats(row, now) for row in rows.queues],
        workers=sorted((worker_stats(w.fields, w.beat_ms, now) for w in rows.workers), key=lambda w: w.id),
        taken_at=now,
        start_failures=failing,
    )


# parsing (pure) ---------------------------------------------------------------------


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return default


def _float(value: Any, default: float = 0.0) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def stream_id_ms(stream_id: str) -> int:
    """The millisecond time part of a stream entry id ("1700000000000-3" -> 1700000000000)."""
    return _int(stream_id.partition("-")[0])


def queue_stats(row: QueueRow, now: float) -> QueueStats:
    """QueueStats from one row of `SnapshotReads.snapshot`: backlog, in flight and the oldest age
    count every priority level's stream."""
    streams = [(DEFAULT_PRIORITY, row.length, row.group, row.oldest_id)]
    streams += [(lv.level, lv.length, lv.group, lv.oldest_id) for lv in row.levels]
    priorities: dict[int, int] = {}
    pending = 0
    for level, length, group, _ in streams:
        held = group.pending if group else 0
        pending += held
        priorities[level] = max(0, length - held)
    oldest = [stream_id_ms(first) for *_, first in streams if first]
    age = max(0.0, now - min(oldest) / 1000.0) if oldest else 0.0
    return QueueStats(
        name=row.name,
        backlog=sum(priorities.values()),
        in_flight=pending,
        scheduled=row.scheduled,
        dead=row.dead,
        processed=_int(row.counters.get(records.PROCESSED)),
        failed=_int(row.counters.get(records.FAILED)),
        oldest_age_s=round(age, 3),
        tasks=task_stats(row.counters),
        paused_since=row.paused_since,
        expired=_int(row.counters.get(records.EXPIRED)),
        throttled=_int(row.counters.get(records.THROTTLED)),
        capped=_int(row.counters.get(records.CAPPED)),
        priorities=dict(sorted(priorities.items(), reverse=True)),
    )


def level_backlog(priorities: Mapping[int, int]) -> str:
    """The backlog of each priority level that has one, highest first ("9:3 5:120"); "-"
    when the queue uses one level only."""
    if len(priorities) <= 1:
        return "-"
    return " ".join(f"{level}:{n}" for level, n in sorted(priorities.items(), reverse=True) if n) or "0"


def task_stats(counters: Mapping[str, str]) -> tuple[TaskStats, ...]:
    """Per-task totals and histograms from a queue's counters hash (its fields: see
    jobq.records), sorted by task name."""
    per: dict[str, dict[str, Any]] = {}
    for name, value in counters.items():
        parsed = records.task_counter(name)
        if parsed is None:
            continue
        kind, task, bound = parsed
        slot = per.setdefault(task, {"buckets": {}})
        if bound is None:
            slot[kind] = _int(value)
        else:
            slot["buckets"][bound] = _int(value)
    out = []
    for task in sorted(per):
        d = per[task]
        buckets = d["buckets"]
        bounds = sorted(set(DURATION_BOUNDS) | set(buckets))
        out.append(
            TaskStats(
                name=task,
                processed=d.get(records.PROCESSED, 0),
                failed=d.get(records.FAILED, 0),
                duration_count=d.get(records.DURATION_COUNT, 0),
                duration_sum_s=d.get(records.DURATION_SUM_US, 0) / 1e6,
                duration_buckets=tuple((b, buckets.get(b, 0)) for b in bounds) if buckets else (),
            )
        )
    return tuple(out)


def _json_field(text: Any, default: Any) -> Any:
    if not isinstance(text, str):
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def _latency(text: Any) -> dict[str, tuple[float, float]]:
    data = _json_field(text, {})
    out: dict[str, tuple[float, float]] = {}
    if isinstance(data, dict):
        for queue, pair in data.items():
            if isinstance(pair, list | tuple) and len(pair) == 2:
                out[str(queue)] = (_float(pair[0]), _float(pair[1]))
    return out


def worker_stats(h: Mapping[str, str], beat_ms: float, now: float) -> WorkerStats:
    """WorkerStats from a worker's heartbeat hash and its score in ns:workers."""
    queues = _json_field(h.get("queues"), [])
    return WorkerStats(
        id=str(h.get("id", "")),
        host=str(h.get("host", "")),
        pid=_int(h.get("pid")),
        queues=[str(q) for q in queues] if isinstance(queues, list) else [],
        busy=_int(h.get("busy")),
        concurrency=_int(h.get("concurrency"), 1),
        last_seen_s=round(max(0.0, now - beat_ms / 1000.0), 3),
        processed=_int(h.get("processed")),
        latency_ms=_latency(h.get("latency")),
        started_at=_float(h.get("started_at")),
        held=_int(h.get("held")),
        ready=_int(h.get("ready")),
        stalled=_ids(h.get("stalled")),
    )


def _ids(text: Any) -> tuple[str, ...]:
    data = _json_field(text, [])
    return tuple(str(i) for i in data) if isinstance(data, list) else ()


def stalled_notes(workers: Sequence[WorkerStats]) -> list[str]:
    """One line per worker that holds jobs it is not running (the watchdog replaces it once
    they have stalled for the visibility timeout)."""
    return [
        f"worker {w.id} holds {len(w.stalled)} job(s) it is not running"
        f" (held {w.held}, waiting {w.ready}, busy {w.busy}/{w.concurrency})"
        for w in workers
        if w.stalled
    ]


# output ------------------------------------------------------------------------------


def queue_json(q: QueueStats) -> dict[str, Any]:
    return {
        "name": q.name,
        "backlog": q.backlog,
        "in_flight": q.in_flight,
        "scheduled": q.scheduled,
        "dead": q.dead,
        "processed": q.processed,
        "failed": q.failed,
        "oldest_age_s": q.oldest_age_s,
        "paused": q.paused,
        "paused_since": q.paused_since,
        "expired": q.expired,
        "throttled": q.throttled,
        "capped": q.capped,
        "priorities": {str(level): n for level, n in q.priorities.items()},
    }


def worker_json(w: WorkerStats) -> dict[str, Any]:
    return {
        "id": w.id,
        "host": w.host,
        "pid": w.pid,
        "queues": list(w.queues),
        "busy": w.busy,
        "concurrency": w.concurrency,
        "last_seen_s": w.last_seen_s,
        "processed": w.processed,
        "latency_ms": {q: [p50, p95] for q, (p50, p95) in w.latency_ms.items()},
        "held": w.held,
        "ready": w.ready,
        "stalled": len(w.stalled),
    }


def to_json(snap: Snapshot) -> dict[str, Any]:
    """The `jobq stats --json` object the README's CLI reference shows (plus `taken_at` and
    worker extras)."""
    return {
        "queues": [queue_json(q) for q in snap.queues],
        "workers": [worker_json(w) for w in snap.workers],
        "start_failures": [startfail.to_json(f) for f in snap.start_failures],
        "taken_at": snap.taken_at,
    }
