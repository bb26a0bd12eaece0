"""W3: enqueue-to-start latency at a steady rate into an idle worker.

`t_enqueue` is taken right before ``task.delay``; `t_start` is the job's first statement.
Jobs are sent on an absolute schedule (job k at t0 + k / rate), so a slow enqueue does
not shift the ones after it.
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks import records
from benchmarks.context import Bench, wait_records
from benchmarks.figures import percentile

WARMUP_JOBS = 20


def _sleep_until(t: float) -> None:
    left = t - time.perf_counter()
    if left > 0.002:
        time.sleep(left - 0.001)
    while time.perf_counter() < t:
        pass


def latency(
    b: Bench,
    task_name: str,
    n: int,
    rate: float,
    processes: int,
    concurrency: int,
    idle_s: float,
    timeout_s: float,
) -> dict[str, Any]:
    b.fresh()
    task = b.task(task_name)
    worker = b.start_worker(processes, concurrency, f"latency-p{processes}-c{concurrency}")
    try:
        deadline = time.monotonic() + timeout_s
        for k in range(WARMUP_JOBS):
            task.delay(-1 - k, time.time())
        if not wait_records(b, WARMUP_JOBS, deadline, worker):
            return {"n": n, "done": 0, "error": "worker did not start", "log_problems": worker.log_problems()}
        time.sleep(idle_s)  # the worker is idle, blocked in XREADGROUP, when the series starts
        t0 = time.perf_counter()
        for k in range(n):
            _sleep_until(t0 + k / rate)
            task.delay(k, time.time())
        wait_records(b, WARMUP_JOBS + n, deadline, worker)
    finally:
        worker.stop()
    recs = [r for r in records.read(b.rundir) if r[0] >= 0]
    lat = sorted((r[2] - r[1]) * 1000 for r in recs)
    return {
        "n": n,
        "done": len(recs),
        "unique": len({r[0] for r in recs}),
        "p50_ms": percentile(lat, 0.50),
        "p95_ms": percentile(lat, 0.95),
        "p99_ms": percentile(lat, 0.99),
        "max_ms": lat[-1] if lat else None,
        "log_problems": worker.log_problems(),
    }


def run_w3(
    b: Bench,
    variant: str,
    task_name: str,
    n: int,
    rate: float,
    processes: int,
    concurrency: int,
    run: int,
    idle_s: float,
    timeout_s: float,
) -> dict[str, Any]:
    row = latency(b, task_name, n, rate, processes, concurrency, idle_s, timeout_s)
    row.update(
        workload="W3",
        variant=f"{variant}, {rate:.0f} jobs/s",
        config=f"jobq worker -p {processes} -c {concurrency}",
        run=run,
    )
    return row
