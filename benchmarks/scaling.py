"""Horizontal scaling: ``python -m benchmarks.scaling [--quick] [--json FILE]``.

Runs 1, 2, 4 and 8 workers, each a separate ``jobq worker benchmarks.bench_app:app -p 1``
invocation (as separate hosts would run them), against a private redis-server on a free
port, for two workloads:

- ``noop``: jobs that do nothing, ``-c 8`` each: the cost of jobq itself;
- ``sleep 10 ms``: sync jobs that sleep 10 ms, ``-c 1`` each, so one worker's ideal is
  exactly 100 jobs/s and the table reads as speed-up per worker added.

Every worker is started and registered (its heartbeat seen) before the jobs are
enqueued; the rate is (jobs - 1) / (last completion - first completion). Each job appends
one record to a file of the process that ran it (benchmarks.records), so the script
checks that every job ran exactly once (no job runs twice while its owner is alive: the
visibility timeout is far longer than the run) and counts the jobs each worker ran.

On a machine with few cores the workers share them with Redis and this script; the
figures show where that limit is reached, not an upper bound of jobq.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks import records
from benchmarks.context import NAMESPACE, Bench
from benchmarks.procs import WorkerProcess
from benchmarks.server import BenchServer

WORKER_COUNTS = (1, 2, 4, 8)


@dataclass(frozen=True)
class Workload:
    label: str
    task: str
    concurrency: int
    jobs_per_worker: int  # scaled with the worker count (the noop one is a fixed total)
    fixed_total: int = 0

    def jobs(self, workers: int, quick: bool) -> int:
        total = self.fixed_total or self.jobs_per_worker * workers
        return max(200, total // 4) if quick else total


WORKLOADS = (
    Workload("noop", "bench.noop", 8, 0, fixed_total=20_000),
    Workload("sleep 10 ms", "bench.sleep_sync", 1, 600),
)


@dataclass
class Row:
    workload: str
    workers: int
    concurrency: int
    jobs: int
    rate: float
    ran_twice: int
    never_ran: int
    per_worker: list[int]
    load_before: float


def wait_until(condition: Callable[[], object], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"error: timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(0.05)


def finished(b: Bench, n: int, workers: list[WorkerProcess]) -> bool:
    """Every job recorded; fail at once if a worker died or a job was dead-lettered."""
    if records.count(b.rundir) >= n:
        return True
    if not all(w.alive() for w in workers):
        raise SystemExit(f"error: a worker exited early; see the logs in {b.logdir}")
    if b.server.redis.xlen(b.app.broker.queue_keys("default").dead):
        raise SystemExit(f"error: jobs were dead-lettered; see the logs in {b.logdir}")
    return False


def measure(b: Bench, workload: Workload, n_workers: int, quick: bool) -> Row:
    b.fresh()
    n = workload.jobs(n_workers, quick)
    load = os.getloadavg()[0]
    workers = [
        b.start_worker(1, workload.concurrency, f"scale-{workload.task}-{n_workers}w-{i}")
        for i in range(n_workers)
    ]
    try:
        workers_key = f"{NAMESPACE}:workers"
        wait_until(lambda: b.server.redis.zcard(workers_key) >= n_workers, 120, "every worker to register")
        b.prefill(workload.task, n)
        wait_until(lambda: finished(b, n, workers), 600, f"{n} jobs to run")
    finally:
        for w in workers:
            w.stop()
    return summarise(b, workload, n_workers, n, workers, load)


def summarise(
    b: Bench, workload: Workload, n_workers: int, n: int, workers: list[WorkerProcess], load: float
) -> Row:
    runs: Counter[int] = Counter()
    ends: list[float] = []
    per_pid: dict[int, int] = {}
    for path in sorted(b.rundir.glob("rec.*")):
        data = path.read_bytes()
        recs = list(records.RECORD.iter_unpack(data[: len(data) - len(data) % records.RECORD.size]))
        per_pid[int(path.name.split(".")[1])] = len(recs)
        runs.update(r[0] for r in recs)
        ends.extend(r[3] for r in recs)
    ends.sort()
    rate = (len(ends) - 1) / (ends[-1] - ends[0]) if len(ends) > 1 and ends[-1] > ends[0] else 0.0
    counts = sorted(per_pid.values(), reverse=True)
    counts += [0] * (n_workers - len(counts))  # a worker that ran nothing still counts
    return Row(
        workload=workload.label,
        workers=n_workers,
        concurrency=workload.concurrency,
        jobs=n,
        rate=rate,
        ran_twice=sum(1 for c in runs.values() if c > 1),
        never_ran=n - len(runs),
        per_worker=counts,
        load_before=load,
    )


def table(rows: list[Row]) -> str:
    lines = [
        "| workload | workers (each `-p 1`) | `-c` | jobs | jobs/s | speed-up | ran twice | never ran "
        "| jobs per worker |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    base: dict[str, float] = {}
    for r in rows:
        base.setdefault(r.workload, r.rate)
        speedup = r.rate / base[r.workload] if base[r.workload] else 0.0
        lines.append(
            f"| {r.workload} | {r.workers} | {r.concurrency} | {r.jobs} | {r.rate:,.0f} | "
            f"{speedup:.2f}x | {r.ran_twice} | {r.never_ran} | {' / '.join(map(str, r.per_worker))} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a quarter of the jobs (a smoke run)")
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    parser.add_argument("--workers", type=int, nargs="+", default=list(WORKER_COUNTS))
    args = parser.parse_args(argv)
    # SIGTERM (a timeout, Ctrl-C of a wrapper) still stops the workers and the server
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    logdir = Path(tempfile.mkdtemp(prefix="jobq-scaling-logs-"))
    server = BenchServer().start()
    b = Bench(server, logdir)
    rows: list[Row] = []
    try:
        print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.2f}", flush=True)
        for workload in WORKLOADS:
            for n_workers in args.workers:
                row = measure(b, workload, n_workers, args.quick)
                rows.append(row)
                print(f"{row.workload} x{row.workers}: {row.rate:,.0f} jobs/s {row.per_worker}", flush=True)
    finally:
        b.close()
        server.local.close()
    print()
    print(table(rows))
    print(f"\nworker logs: {logdir}")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2))
    broken = [r for r in rows if r.ran_twice or r.never_ran]
    if broken:
        print("error: some job ran twice or never ran", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
