"""Plain-text rendering for the inspection commands: aligned tables that pipe cleanly."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from jobq import startfail, stats
from jobq.jobtext import span, when


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[int] = ()) -> str:
    """Columns padded to their widest cell; columns listed in `numeric` right-aligned."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for r in cells:
        parts = [
            c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def one_line(text: str, width: int) -> str:
    """The first line of `text`, cut to `width` characters with an ellipsis."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= width else first[: max(0, width - 1)] + "…"


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)


def stats_text(snap: stats.Snapshot, namespace: str) -> str:
    """The human `jobq stats` view: one table of queues, one of workers."""
    out = [f"namespace {namespace} at {when(snap.taken_at)}", ""]
    if snap.queues:
        out.append(_queue_table(snap.queues))
    else:
        out.append("no queues yet (nothing has been enqueued in this namespace)")
    out.append("")
    if snap.workers:
        out.append(table(_WORKER_HEADERS, [_worker_row(w) for w in snap.workers], numeric=(2, 4, 5, 6)))
        out.extend(f"warning: {note}" for note in stats.stalled_notes(snap.workers))
    else:
        out.append("no live workers")
    out += [f"✖ {startfail.describe(f)}" for f in snap.start_failures]
    return "\n".join(out)


_QUEUE_HEADERS = ["QUEUE", "BACKLOG", "IN FLIGHT", "SCHEDULED", "DEAD", "PROCESSED", "FAILED", "OLDEST"]
_FLOW_HEADERS = ["THROTTLED", "CAPPED", "LEVELS"]


def _queue_table(queues: Sequence[stats.QueueStats]) -> str:
    """One row per queue; the flow-control columns (deferrals by a rate limit or a
    concurrency cap, backlog per priority level) only when some queue has something there."""
    flow = any(q.throttled or q.capped or len(q.priorities) > 1 for q in queues)
    rows = []
    for q in queues:
        name = f"{q.name} (paused)" if q.paused else q.name
        row = [name, q.backlog, q.in_flight, q.scheduled, q.dead, q.processed, q.failed, span(q.oldest_age_s)]
        if flow:
            row += [q.throttled, q.capped, stats.level_backlog(q.priorities)]
        rows.append(row)
    headers = _QUEUE_HEADERS + (_FLOW_HEADERS if flow else [])
    return table(headers, rows, numeric=range(1, 10))


_WORKER_HEADERS = ["WORKER", "HOST", "PID", "QUEUES", "BUSY", "DONE", "SEEN", "WAIT p50/p95"]


def _worker_row(w: stats.WorkerStats) -> list[Any]:
    latency = ", ".join(f"{q} {p50:.0f}/{p95:.0f}ms" for q, (p50, p95) in sorted(w.latency_ms.items()))
    return [
        w.id,
        w.host,
        w.pid,
        ",".join(w.queues),
        f"{w.busy}/{w.concurrency}",
        w.processed,
        f"{span(w.last_seen_s)} ago",
        latency or "-",
    ]
