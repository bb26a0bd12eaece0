"""W2 / W4: drain a pre-filled queue with ``jobq worker -p P -c C``.

Steady rate = (N - 1) / (last completion - first completion), as in ../shared/bench:
worker start-up is reported apart. Worker CPU (its whole process group), Redis CPU and
Redis commands are taken over the same window, from the first completion to the last.
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks import records
from benchmarks.context import Bench, wait_records


def drain(
    b: Bench,
    task_name: str,
    n: int,
    processes: int,
    concurrency: int,
    timeout_s: float,
) -> dict[str, Any]:
    b.fresh()
    b.prefill(task_name, n)
    worker = b.start_worker(processes, concurrency, f"{task_name}-p{processes}-c{concurrency}")
    t_spawn = worker.started
    try:
        deadline = time.monotonic() + timeout_s
        if not wait_records(b, 1, deadline, worker):
            return _row(b, worker, n, t_spawn, None, None, timed_out=True)
        first = (records.count(b.rundir), worker.cpu_s(), b.server.counters())
        complete = wait_records(b, n, deadline, worker)
        last = (records.count(b.rundir), worker.cpu_s(), b.server.counters())
    finally:
        worker.stop()
    return _row(b, worker, n, t_spawn, first, last, timed_out=not complete)


def _row(
    b: Bench,
    worker: Any,
    n: int,
    t_spawn: float,
    first: tuple[int, float, Any] | None,
    last: tuple[int, float, Any] | None,
    *,
    timed_out: bool,
) -> dict[str, Any]:
    recs = records.read(b.rundir)
    unique = len({r[0] for r in recs})
    ends = sorted(r[3] for r in recs)
    row: dict[str, Any] = {
        "n": n,
        "done": len(recs),
        "unique": unique,
        "duplicates": len(recs) - unique,
        "lost": n - unique,
        "timed_out": timed_out,
        "log_problems": worker.log_problems(),
    }
    if len(ends) >= 2:
        row["rate"] = (len(ends) - 1) / (ends[-1] - ends[0])
        row["rate_incl_startup"] = len(ends) / (ends[-1] - t_spawn)
        row["startup_s"] = ends[0] - t_spawn
    if first is not None and last is not None and last[0] > first[0]:
        jobs = last[0] - first[0]
        row["worker_cpu_us"] = (last[1] - first[1]) * 1e6 / jobs
        row["redis_cpu_us"] = (last[2].cpu_s - first[2].cpu_s) * 1e6 / jobs
        row["redis_cmds"] = (last[2].commands - first[2].commands - 1) / jobs
    return row


def run_drain(
    b: Bench,
    workload: str,
    variant: str,
    task_name: str,
    n: int,
    processes: int,
    concurrency: int,
    run: int,
    timeout_s: float,
) -> dict[str, Any]:
    row = drain(b, task_name, n, processes, concurrency, timeout_s)
    row.update(
        workload=workload,
        variant=variant,
        config=f"jobq worker -p {processes} -c {concurrency}",
        concurrency=concurrency,
        run=run,
    )
    return row
