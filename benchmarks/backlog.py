"""A deep backlog: Redis memory per queued job, the time to enqueue it, ``jobq stats``
latency on it, and worker memory while draining a slice of it (prefetch is bounded, so
a worker's RSS must not grow with the backlog)."""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

from benchmarks import records
from benchmarks.context import NAMESPACE, Bench, wait_records
from benchmarks.figures import median
from benchmarks.procs import jobq_command

ENQUEUE_BATCH = 10_000


def fill(b: Bench, n: int) -> dict[str, Any]:
    """Enqueue n no-op jobs; memory per job from INFO used_memory before and after."""
    b.fresh()
    before = b.server.counters()
    seconds = b.prefill("bench.noop", n, ENQUEUE_BATCH)
    after = b.server.counters()
    keys = b.app.broker.queue_keys("default")
    r = b.server.redis
    first = r.xrange(keys.stream, "-", "+", count=1)
    return {
        "n": n,
        "enqueue_s": seconds,
        "enqueue_rate": n / seconds,
        "bytes_per_job": (after.used_memory - before.used_memory) / n,
        "stream_bytes_per_job": (r.memory_usage(keys.stream) or 0) / n,
        "jobs_hash_bytes_per_job": (r.memory_usage(keys.jobs) or 0) / n,
        "envelope_bytes": len(first[0][1]["j"].encode()) if first else 0,
        "stream_encoding": r.object("encoding", keys.stream),
        "jobs_hash_encoding": r.object("encoding", keys.jobs),
    }


def time_snapshot(b: Bench, repeats: int, expect_backlog: int | None) -> dict[str, Any]:
    """`jobq.stats.snapshot` in this process, `repeats` times after one warm-up."""
    try:
        from jobq.stats import snapshot
    except ImportError as exc:
        return {"error": f"jobq.stats not importable: {exc}"}
    snapshot(b.app.broker)
    times, backlog = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        snap = snapshot(b.app.broker)
        times.append((time.perf_counter() - t0) * 1000)
        backlog = sum(q.backlog for q in snap.queues)
    return {
        "median_ms": median(times),
        "max_ms": max(times),
        "backlog_seen": backlog,
        "backlog_ok": expect_backlog is None or backlog == expect_backlog,
    }


def time_cli(b: Bench, repeats: int) -> dict[str, Any]:
    """Wall time of `jobq stats --json` (a whole process), against `jobq stats --help`."""
    conn = ["--redis-url", b.server.url, "--namespace", NAMESPACE]
    walls, helps, backlog, error = [], [], None, ""
    for _ in range(repeats):
        t0 = time.perf_counter()
        help_run = subprocess.run([*jobq_command(), "stats", "--help"], capture_output=True, text=True)
        helps.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        done = subprocess.run([*jobq_command(), "stats", "--json", *conn], capture_output=True, text=True)
        walls.append((time.perf_counter() - t0) * 1000)
        if done.returncode != 0 or help_run.returncode != 0:
            error = (done.stderr or help_run.stderr).strip().splitlines()[-1:] or ["failed"]
            return {"error": f"jobq stats exited {done.returncode}: {error[0]}"}
        body = json.loads(done.stdout)
        backlog = sum(int(q["backlog"]) for q in body["queues"])
    wall, base = median(walls), median(helps)
    return {
        "wall_ms": wall,
        "help_wall_ms": base,
        "query_ms": None if wall is None or base is None else max(0.0, wall - base),
        "backlog_seen": backlog,
    }


def drain_slice(b: Bench, n: int, processes: int, concurrency: int, timeout_s: float) -> dict[str, Any]:
    """Drain n jobs off the backlog, sampling each worker process's RSS every 0.1 s."""
    worker = b.start_worker(processes, concurrency, f"backlog-slice-p{processes}-c{concurrency}")
    early: dict[int, int] = {}
    peak: dict[int, int] = {}
    t0 = time.perf_counter()
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and worker.alive():
            done = records.count(b.rundir)
            rss = worker.child_rss()
            for pid, value in rss.items():
                peak[pid] = max(peak.get(pid, 0), value)
            if not early and done >= min(1000, n):
                early = rss
            if done >= n:
                break
            time.sleep(0.1)
        elapsed = time.perf_counter() - t0
        complete = wait_records(b, n, time.monotonic() + 1, worker)
    finally:
        worker.stop()
    mib = 1 / (1024 * 1024)
    return {
        "n": n,
        "complete": complete,
        "rate_incl_startup": records.count(b.rundir) / elapsed,
        "rss_early_mib": max(early.values(), default=0) * mib,
        "rss_peak_mib": max(peak.values(), default=0) * mib,
        "config": f"jobq worker -p {processes} -c {concurrency}",
        "log_problems": worker.log_problems(),
    }


def run_backlog(
    b: Bench, n: int, slice_n: int, stats_repeats: int, cli_repeats: int, timeout_s: float
) -> dict[str, Any]:
    row: dict[str, Any] = {"workload": "backlog", "fill": fill(b, n)}
    row["snapshot_no_group"] = time_snapshot(b, stats_repeats, n)
    row["cli"] = time_cli(b, cli_repeats)
    row["slice"] = drain_slice(b, slice_n, 2, 32, timeout_s)
    row["snapshot_with_group"] = time_snapshot(b, stats_repeats, None)
    return row
