"""W2 / W4: drain a pre-filled queue with ``jobq worker -p P -c C``.

Steady rate = (N - 1) / (last completion - first completion), as in ../shared/bench:
worker start-up is reported apart. Worker CPU (its whole process group), Redis CPU and
Redis commands are taken over the same window, from the first completion to the last.
When the drain was over before the bench could take its first sample (a small N on a busy
machine), the window starts at the worker's spawn instead, start-up included, and the row
says so (cpu_window "spawn", not "steady"): the figures are then an upper bound, never
missing.
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
        spawned = _sample(b, worker)  # the window when there is no steady one (docstring)
        deadline = time.monotonic() + timeout_s
        if not wait_records(b, 1, deadline, worker):
            return _row(b, worker, n, t_spawn, None, None, timed_out=True)
        first = _sample(b, worker)
        complete = wait_records(b, n, deadline, worker)
        last = _sample(b, worker)
    finally:
        worker.stop()
    if last[0] <= first[0]:  # all done before the first sample: no steady window to read
        row = _row(b, worker, n, t_spawn, spawned, last, timed_out=not complete, bench_infos=2)
        return {**row, "cpu_window": "spawn"}
    return {**_row(b, worker, n, t_spawn, first, last, timed_out=not complete), "cpu_window": "steady"}


def _sample(b: Bench, worker: Any) -> tuple[int, float, Any]:
    """(jobs recorded, worker CPU seconds, Redis counters) now."""
    return (records.count(b.rundir), worker.cpu_s(), b.server.counters())


def _row(
    b: Bench,
    worker: Any,
    n: int,
    t_spawn: float,
    first: tuple[int, float, Any] | None,
    last: tuple[int, float, Any] | None,
    *,
    timed_out: bool,
    bench_infos: int = 1,
) -> dict[str, Any]:
    """`bench_infos`: the bench's own INFO calls counted between the two samples."""
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
        row["redis_cmds"] = (last[2].commands - first[2].commands - bench_infos) / jobs
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
