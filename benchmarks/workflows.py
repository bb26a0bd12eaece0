"""A chord of N no-op members against N plain no-op jobs, on the same warm pool.

    python -m benchmarks.workflows [--n 10000] [--runs 3] [-p 2] [-c 32]

Each run starts a fresh pool, waits until its workers are up, and times from the first
enqueue call to the last completion record: N jobs by `delay_many` (plain), then
`chord([noop.s(i, t)...], album.s()).delay()` until the callback's record (chord).
Prints the medians and their ratio (target: chord <= 1.3x).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import jobq
from benchmarks.context import NAMESPACE, Bench, wait_records
from benchmarks.procs import WorkerProcess
from benchmarks.server import BenchServer


def warm_pool(b: Bench, args: argparse.Namespace, label: str) -> WorkerProcess:
    """A fresh Redis and record directory, and a pool whose workers are all up."""
    b.fresh()
    worker = b.start_worker(args.p, args.c, label)
    deadline = time.monotonic() + 60
    while b.server.redis.zcard(f"{NAMESPACE}:workers") < args.p:
        if time.monotonic() > deadline or not worker.alive():
            raise SystemExit(f"the pool did not start; see {worker.log_path}")
        time.sleep(0.05)
    return worker


def plain(b: Bench, args: argparse.Namespace) -> float:
    worker = warm_pool(b, args, "plain")
    try:
        started = time.perf_counter()
        b.prefill("bench.noop", args.n)
        if not wait_records(b, args.n, time.monotonic() + 300, worker):
            raise SystemExit("plain jobs did not finish")
        return time.perf_counter() - started
    finally:
        worker.stop()


def chord(b: Bench, args: argparse.Namespace) -> float:
    worker = warm_pool(b, args, "chord")
    noop, album = b.task("bench.noop"), b.task("bench.album")
    try:
        started = time.perf_counter()
        now = time.time()
        job = jobq.chord([noop.s(i, now) for i in range(args.n)], album.s()).delay()
        if job.result(300) != args.n or not wait_records(b, args.n + 1, time.monotonic() + 10):
            raise SystemExit("the chord did not finish")
        return time.perf_counter() - started
    finally:
        worker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("-p", type=int, default=2)
    parser.add_argument("-c", type=int, default=32)
    args = parser.parse_args()
    with BenchServer().start() as server:
        b = Bench(server, Path(tempfile.mkdtemp(prefix="jobq-bench-logs-")))
        try:
            times: dict[str, list[float]] = {"plain": [], "chord": []}
            for _ in range(args.runs):
                times["plain"].append(plain(b, args))
                times["chord"].append(chord(b, args))
        finally:
            b.close()
    p, c = statistics.median(times["plain"]), statistics.median(times["chord"])
    print(f"N={args.n} -p {args.p} -c {args.c}, median of {args.runs}")
    print(f"plain jobs : {p:.2f} s ({args.n / p:,.0f} jobs/s)  runs {[round(t, 2) for t in times['plain']]}")
    print(f"chord      : {c:.2f} s ({args.n / c:,.0f} jobs/s)  runs {[round(t, 2) for t in times['chord']]}")
    print(f"ratio chord/plain: {c / p:.2f} (target <= 1.30)")


if __name__ == "__main__":
    main()
