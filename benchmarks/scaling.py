"""Horizontal scaling: ``python -m benchmarks.scaling [--quick] [--runs 2] [--json FILE]``.

Every worker is a separate ``jobq worker benchmarks.bench_app:app -p 1 -c C`` invocation
(a supervisor and one worker process, as separate hosts would run them), against a
private redis-server on a free port. Two parts, each repeated --runs times, interleaved:

- ``drain``: N no-op jobs are enqueued into a paused queue; 1, 2, 4 and 8 workers start
  and register; the queue is resumed and drained. No producer runs while they drain.
- ``mixed``: 1, 2 and 4 workers are up; two producer processes (benchmarks.producer)
  enqueue no-op jobs for S seconds at once, one ``delay`` per job or ``delay_many`` in
  batches; enqueue and completion rates are taken over the producers' window, then the
  rest of the backlog is drained.

CPU comes from /proc (the workers' process groups, summed; the whole machine's busy
time from /proc/stat) and from Redis's own INFO used_cpu_user + used_cpu_sys. "cores" =
CPU µs per job x steady jobs/s: how much of a core that part keeps busy at that rate.
Each job appends a completion record (benchmarks.records), so every run also checks
that each job ran exactly once.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import records
from benchmarks.context import NAMESPACE, Bench
from benchmarks.figures import percentile
from benchmarks.procs import WorkerProcess, machine_jiffies, start_process, stop_all
from benchmarks.server import BenchServer, Counters

QUEUE = "default"
TASK = "bench.noop"


@dataclass(frozen=True)
class Drain:
    """One drain workload: a task, its jobs (a fixed total, or so many per worker) and `-c`."""

    label: str
    task: str
    concurrency: int
    total: int = 0
    per_worker: int = 0
    ideal_per_worker: float = 0.0  # jobs/s one worker would reach if only its jobs took time

    def jobs(self, workers: int) -> int:
        return self.total or self.per_worker * workers


CORES = os.cpu_count() or 1
IDLE_S = 1.0


@dataclass(frozen=True)
class Plan:
    drains: tuple[Drain, ...]
    drain_workers: tuple[int, ...]
    mixed_seconds: float
    mixed_workers: tuple[int, ...]
    mixed_batches: tuple[int, ...]  # 1: one delay() per job; else delay_many batch size
    producers: int
    concurrency: int


NOOP = Drain("no-op", TASK, 32, total=50_000)
SLEEP = Drain("sleep 10 ms", "bench.sleep_sync", 1, per_worker=500, ideal_per_worker=100.0)
FULL = Plan((NOOP, SLEEP), (1, 2, 4, 8), 4.0, (1, 2, 4), (1, 100), 2, 32)
QUICK = Plan((Drain("no-op", TASK, 32, total=1_000),), (1,), 0.5, (1,), (100,), 2, 32)


@dataclass(frozen=True)
class Sample:
    wall: float
    done: int
    worker_cpu_s: float
    redis: Counters
    machine: tuple[int, int]  # busy, total jiffies

    @staticmethod
    def take(b: Bench, workers: list[WorkerProcess]) -> Sample:
        return Sample(
            time.time(),
            records.count(b.rundir),
            sum(w.cpu_s() for w in workers),
            b.server.counters(),
            machine_jiffies(),
        )


def spent(first: Sample, last: Sample) -> dict[str, float]:
    """Seconds of wall, worker, Redis and whole-machine busy time between two samples."""
    busy = last.machine[0] - first.machine[0]
    total = max(1, last.machine[1] - first.machine[1])
    return {
        "wall_s": last.wall - first.wall,
        "worker_cpu_s": last.worker_cpu_s - first.worker_cpu_s,
        "redis_cpu_s": last.redis.cpu_s - first.redis.cpu_s,
        "redis_cmds": last.redis.commands - first.redis.commands - 1,  # INFO itself
        "machine_busy_pct": 100.0 * busy / total,
    }


def wait_until(condition: Callable[[], object], timeout_s: float, what: str, poll_s: float = 0.02) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"error: timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(poll_s)


def start_workers(b: Bench, n: int, concurrency: int, label: str) -> list[WorkerProcess]:
    workers = [b.start_worker(1, concurrency, f"{label}-{n}w-{i}") for i in range(n)]
    registered = f"{NAMESPACE}:workers"
    wait_until(lambda: b.server.redis.zcard(registered) >= n, 120, f"{n} workers to register")
    return workers


def healthy(b: Bench, workers: list[WorkerProcess]) -> None:
    if not all(w.alive() for w in workers):
        raise SystemExit(f"error: a worker exited early; see the logs in {b.logdir}")
    if b.server.redis.xlen(b.app.broker.queue_keys(QUEUE).dead):
        raise SystemExit(f"error: jobs were dead-lettered; see the logs in {b.logdir}")


def drained(b: Bench, n: int, workers: list[WorkerProcess]) -> bool:
    if records.count(b.rundir) >= n:
        return True
    healthy(b, workers)
    return False


def checked(b: Bench, expected: int) -> dict[str, Any]:
    """Exactly-once figures and the steady rate (p10 to p90 of the completion times, so
    that workers learning of the resume up to a quarter second apart do not count)."""
    recs = records.read(b.rundir)
    seqs = {r[0] for r in recs}
    ends = sorted(r[3] for r in recs)
    lo, hi = percentile(ends, 0.1), percentile(ends, 0.9)
    steady = 0.8 * (len(ends) - 1) / (hi - lo) if lo is not None and hi is not None and hi > lo else 0.0
    return {"ran_twice": len(recs) - len(seqs), "never_ran": expected - len(seqs), "rate": steady}


def run_drain(b: Bench, d: Drain, n_workers: int, run: int) -> dict[str, Any]:
    b.fresh()
    n = d.jobs(n_workers)
    b.app.broker.pause(QUEUE)
    b.prefill(d.task, n)
    workers = start_workers(b, n_workers, d.concurrency, f"drain-{d.task}")
    try:
        first = Sample.take(b, workers)
        b.app.broker.resume(QUEUE)
        wait_until(lambda: drained(b, n, workers), 600, f"{n} jobs to run")
        last = Sample.take(b, workers)
    finally:
        stop_all(workers)
    row: dict[str, Any] = {"part": "drain", "workload": d.label, "run": run, "workers": n_workers}
    row.update(jobs=n, concurrency=d.concurrency, **checked(b, n))
    row.update(per_job(spent(first, last), n, row["rate"], n_workers))
    ideal = d.ideal_per_worker * n_workers
    if ideal and row["rate"] >= 0.85 * ideal:
        row["bound"] = f"the jobs ({100 * row['rate'] / ideal:.0f} % of {ideal:,.0f}/s)"
    return row


def per_job(s: dict[str, float], jobs: int, rate: float, n_workers: int) -> dict[str, Any]:
    worker_us = s["worker_cpu_s"] * 1e6 / jobs
    redis_us = s["redis_cpu_s"] * 1e6 / jobs
    out = {
        "worker_cpu_us": worker_us,
        "redis_cpu_us": redis_us,
        "redis_cmds": s["redis_cmds"] / jobs,
        "worker_cores": worker_us * rate / 1e6,
        "redis_core_pct": redis_us * rate / 1e4,
        "machine_busy_pct": s["machine_busy_pct"],
    }
    out["our_cores"] = out["worker_cores"] + out["redis_core_pct"] / 100
    out["bound"] = verdict(out["worker_cores"] / n_workers, out["redis_core_pct"], s["machine_busy_pct"])
    return out


def verdict(cores_per_worker: float, redis_pct: float, machine_pct: float) -> str:
    """What holds the rate back, read from the figures (thresholds at 85 %)."""
    if redis_pct >= 85:
        return "Redis (one core)"
    if cores_per_worker >= 0.85:
        return "worker CPU (1 core each)"
    if machine_pct >= 85:
        return f"machine ({CORES} cores)"
    return "none at 85 %"


Producer = tuple[subprocess.Popen[bytes], Path]  # the process, the file it writes its figures to


def start_producers(b: Bench, plan: Plan, batch: int, workdir: Path) -> list[Producer]:
    started = []
    workdir = Path(tempfile.mkdtemp(prefix=f"mixed-b{batch}-", dir=workdir))
    for k in range(plan.producers):
        out = workdir / f"producer-{k}.json"
        argv = [sys.executable, "-m", "benchmarks.producer", "--index", str(k + 1)]
        argv += ["--seconds", str(plan.mixed_seconds), "--batch", str(batch), "--out", str(out)]
        log = b.logdir / f"producer-{k}-b{batch}.log"
        started.append((start_process(argv, b.env(), log, stdin=subprocess.PIPE), out))
    ready = [out.with_suffix(".ready") for _, out in started]
    wait_until(lambda: all(p.exists() for p in ready), 60, "the producers to connect")
    return started


def run_mixed(b: Bench, plan: Plan, n_workers: int, batch: int, run: int, workdir: Path) -> dict[str, Any]:
    b.fresh()
    workers = start_workers(b, n_workers, plan.concurrency, f"mixed-b{batch}")
    try:
        producers = start_producers(b, plan, batch, workdir)
        idle = Sample.take(b, workers)
        time.sleep(IDLE_S)  # what the idle fleet alone costs Redis, to read the figures against
        first = Sample.take(b, workers)
        for proc, _ in producers:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            proc.stdin.close()
        wait_until(lambda: all(p.poll() is not None for p, _ in producers), 120, "the producers to finish")
        last = Sample.take(b, workers)
        made = [json.loads(out.read_text()) for _, out in producers]
        enqueued = sum(int(m["n"]) for m in made)
        wait_until(lambda: drained(b, enqueued, workers), 600, "the rest of the backlog to drain")
    finally:
        stop_all(workers)
    t0, t1 = min(m["t0"] for m in made), max(m["t1"] for m in made)
    window = t1 - t0
    completed = sum(1 for r in records.read(b.rundir) if t0 <= r[3] <= t1)
    s, idle_s = spent(first, last), spent(idle, first)
    row: dict[str, Any] = {"part": "mixed", "run": run, "workers": n_workers, "batch": batch}
    row.update(checked(b, enqueued))
    row.update(
        jobs=enqueued,
        enqueue_rate=enqueued / window,
        rate=completed / window,
        backlog_at_end=enqueued - last.done,
        producer_cores=sum(m["cpu_s"] for m in made) / window,
        producer_cpu_us=sum(m["cpu_s"] for m in made) * 1e6 / max(1, enqueued),
        worker_cores=s["worker_cpu_s"] / s["wall_s"],
        redis_core_pct=100.0 * s["redis_cpu_s"] / s["wall_s"],
        redis_idle_pct=100.0 * idle_s["redis_cpu_s"] / idle_s["wall_s"],
        worker_idle_cores=idle_s["worker_cpu_s"] / idle_s["wall_s"],
        redis_cpu_us=s["redis_cpu_s"] * 1e6 / max(1, enqueued),
        machine_busy_pct=s["machine_busy_pct"],
    )
    row["our_cores"] = row["producer_cores"] + row["worker_cores"] + row["redis_core_pct"] / 100
    row["bound"] = verdict(row["worker_cores"] / n_workers, row["redis_core_pct"], row["machine_busy_pct"])
    return row


def drain_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| jobs | `-c` | run | workers | jobs/s | speed-up | worker CPU µs/job | worker cores "
        "| Redis CPU µs/job | Redis % of a core | Redis cmds/job | our cores | machine busy | bound by |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    base: dict[tuple[str, int], float] = {}
    for r in rows:
        first = base.setdefault((r["workload"], r["run"]), r["rate"])
        up = r["rate"] / first if first else 0.0
        lines.append(
            f"| {r['workload']} ({r['jobs']:,}) | {r['concurrency']} | {r['run']} | {r['workers']} | "
            f"{r['rate']:,.0f} | {up:.2f}x | {r['worker_cpu_us']:.0f} | "
            f"{r['worker_cores']:.2f} | {r['redis_cpu_us']:.1f} | {r['redis_core_pct']:.0f} % | "
            f"{r['redis_cmds']:.2f} | {r['our_cores']:.2f} | {r['machine_busy_pct']:.0f} % | {r['bound']} |"
        )
    return "\n".join(lines)


def mixed_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| run | producers enqueue with | workers | enqueued/s | completed/s | backlog at end "
        "| producer CPU µs/job | producer cores | worker cores | Redis % of a core (idle) "
        "| Redis CPU µs/job | our cores | machine busy | bound by |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        how = "`delay`" if r["batch"] <= 1 else f"`delay_many` ({r['batch']})"
        lines.append(
            f"| {r['run']} | {how} | {r['workers']} | {r['enqueue_rate']:,.0f} | {r['rate']:,.0f} | "
            f"{r['backlog_at_end']:,} | {r['producer_cpu_us']:.0f} | {r['producer_cores']:.2f} | "
            f"{r['worker_cores']:.2f} | "
            f"{r['redis_core_pct']:.0f} % ({r['redis_idle_pct']:.0f} %) | {r['redis_cpu_us']:.1f} | "
            f"{r['our_cores']:.2f} | {r['machine_busy_pct']:.0f} % | {r['bound']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one worker count (a smoke run)")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    # SIGTERM (a timeout, Ctrl-C of a wrapper) still stops the workers and the server
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    logdir = Path(tempfile.mkdtemp(prefix="jobq-scaling-logs-"))
    server = BenchServer().start()
    b = Bench(server, logdir)
    rows: list[dict[str, Any]] = []
    try:
        print(f"cores: {CORES}, load average at start: {os.getloadavg()[0]:.2f}", flush=True)
        for run in range(1, args.runs + 1):
            for d in plan.drains:
                for n in plan.drain_workers:
                    rows.append(run_drain(b, d, n, run))
                    print(f"run {run} drain {d.label} x{n}: {rows[-1]['rate']:,.0f} jobs/s", flush=True)
            for batch in plan.mixed_batches:
                for n in plan.mixed_workers:
                    rows.append(run_mixed(b, plan, n, batch, run, logdir))
                    r = rows[-1]
                    rates = f"in {r['enqueue_rate']:,.0f}/s out {r['rate']:,.0f}/s"
                    print(f"run {run} mixed b{batch} x{n}: {rates}", flush=True)
    finally:
        b.close()
        server.stop()
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}\n")
    print("Drain of a pre-filled queue, each worker `-p 1`:\n")
    print(drain_table([r for r in rows if r["part"] == "drain"]))
    print(f"\nMixed, {plan.producers} producer processes for {plan.mixed_seconds:g} s:\n")
    print(mixed_table([r for r in rows if r["part"] == "mixed"]))
    print(f"\nlogs: {logdir}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    if any(r["ran_twice"] or r["never_ran"] for r in rows):
        print("error: some job ran twice or never ran", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
