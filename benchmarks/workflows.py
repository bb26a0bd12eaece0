"""A chord of N no-op members against N plain no-op jobs, on the same warm pool.

    python -m benchmarks.workflows [--n 10000] [--runs 3] [-p 2] [-c 32]

Each run times, from the first enqueue call to the last completion record: N jobs by
`delay_many` (plain), then `chord([noop.s(i, t)...], album.s()).delay()` until the
callback's record (chord). Prints the medians and their ratio (target: chord <= 1.3x).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import jobq
from benchmarks.context import Bench, wait_records
from benchmarks.server import BenchServer


def plain(b: Bench, n: int) -> float:
    b.fresh()
    started = time.perf_counter()
    b.prefill("bench.noop", n)
    if not wait_records(b, n, time.monotonic() + 300):
        raise SystemExit("plain jobs did not finish")
    return time.perf_counter() - started


def chord(b: Bench, n: int) -> float:
    b.fresh()
    noop, album = b.task("bench.noop"), b.task("bench.album")
    started = time.perf_counter()
    now = time.time()
    job = jobq.chord([noop.s(i, now) for i in range(n)], album.s()).delay()
    if job.result(300) != n or not wait_records(b, n + 1, time.monotonic() + 10):
        raise SystemExit("the chord did not finish")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("-p", type=int, default=2)
    parser.add_argument("-c", type=int, default=32)
    args = parser.parse_args()
    with BenchServer().start() as server:
        b = Bench(server, Path(tempfile.mkdtemp(prefix="jobq-bench-logs-")))
        worker = b.start_worker(args.p, args.c, "workflows")
        try:
            plain(b, 200)  # warm the pool up
            times: dict[str, list[float]] = {"plain": [], "chord": []}
            for _ in range(args.runs):
                times["plain"].append(plain(b, args.n))
                times["chord"].append(chord(b, args.n))
        finally:
            worker.stop()
            b.close()
    p, c = statistics.median(times["plain"]), statistics.median(times["chord"])
    print(f"N={args.n} -p {args.p} -c {args.c}, median of {args.runs}")
    print(f"plain jobs : {p:.2f} s ({args.n / p:,.0f} jobs/s)  runs {[round(t, 2) for t in times['plain']]}")
    print(f"chord      : {c:.2f} s ({args.n / c:,.0f} jobs/s)  runs {[round(t, 2) for t in times['chord']]}")
    print(f"ratio chord/plain: {c / p:.2f} (target <= 1.30)")


if __name__ == "__main__":
    main()
