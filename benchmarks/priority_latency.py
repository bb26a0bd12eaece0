"""How long a high-priority job waits behind a deep backlog of low ones, with a busy pool.

    python -m benchmarks.priority_latency [--low 100000] [--high 200] [-p 2] [-c 8] [--sleep-ms 10]

A private redis-server gets `--low` jobs at priority 1 that each sleep `--sleep-ms`; a pool
`jobq worker -p P -c C` starts on them, so every slot stays busy for the whole run. Then
`--high` no-op jobs at priority 9 are enqueued one by one, 20 a second, each stamped with
its enqueue time; the job's first statement stamps its start. Prints the enqueue-to-start
p50 / p95 / p99 / max of the high jobs, next to one fetch cycle of that pool (a slot frees
every sleep / (P x C) on average, and a busy worker fetches only when one does), and the
low backlog still queued at the end (it must not have drained).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from benchmarks import records
from benchmarks.context import NAMESPACE, Bench, wait_records
from benchmarks.figures import percentile
from benchmarks.server import BenchServer

HIGH_SEQ = 10_000_000  # record seq of the first high job (low jobs count from 0)
WARMUP = 20
RATE = 20.0


def run(b: Bench, args: argparse.Namespace) -> dict[str, float]:
    b.fresh()
    b.prefill("bench.sleep_low", args.low)
    worker = b.start_worker(args.p, args.c, "priority-latency")
    noop = b.task("bench.noop")
    try:
        deadline = time.monotonic() + 120
        if not wait_records(b, 2 * args.p * args.c, deadline, worker):  # every slot busy
            raise SystemExit(f"the pool did not start; see {worker.log_path}")
        for k in range(WARMUP):  # the workers learn the level is in use (within 0.25 s)
            noop.enqueue(args=(HIGH_SEQ - 1 - k, time.time()), priority=9)
        wait_for_seqs(b, HIGH_SEQ - WARMUP, HIGH_SEQ, deadline)
        t0 = time.perf_counter()
        for k in range(args.high):
            pause = t0 + k / RATE - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            noop.enqueue(args=(HIGH_SEQ + k, time.time()), priority=9)
        wait_for_seqs(b, HIGH_SEQ, HIGH_SEQ + args.high, deadline)
        left = b.app.broker.client.xlen(b.app.broker.ns.queue("default").level_stream(1))
    finally:
        worker.stop()
    lat = sorted((r[2] - r[1]) * 1000 for r in records.read(b.rundir) if r[0] >= HIGH_SEQ)
    return {
        "high": len(lat),
        "p50": percentile(lat, 0.50) or 0.0,
        "p95": percentile(lat, 0.95) or 0.0,
        "p99": percentile(lat, 0.99) or 0.0,
        "max": lat[-1] if lat else 0.0,
        "low_left": float(left),
    }


def wait_for_seqs(b: Bench, first: int, end: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        if sum(1 for r in records.read(b.rundir) if first <= r[0] < end) >= end - first:
            return
        time.sleep(0.05)
    raise SystemExit("the high-priority jobs did not all run in time")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--low", type=int, default=100_000, help="low-priority jobs queued first")
    parser.add_argument("--high", type=int, default=200, help="high-priority jobs measured")
    parser.add_argument("-p", type=int, default=2)
    parser.add_argument("-c", type=int, default=8)
    parser.add_argument("--sleep-ms", type=float, default=10.0, help="run time of a low job")
    args = parser.parse_args()
    os.environ["JOBQ_BENCH_SLEEP_S"] = str(args.sleep_ms / 1000)  # read by the pool's workers
    with BenchServer().start() as server:
        b = Bench(server, Path(tempfile.mkdtemp(prefix="jobq-bench-logs-")))
        try:
            r = run(b, args)
        finally:
            b.close()
    cycle = args.sleep_ms / (args.p * args.c)
    print(
        f"{args.low:,} jobs at priority 1 ({args.sleep_ms:g} ms each) on jobq worker -p {args.p} -c {args.c}"
    )
    print(f"{int(r['high'])} jobs at priority 9, {RATE:g}/s, enqueue-to-start:")
    print(f"  p50 {r['p50']:.1f} ms  p95 {r['p95']:.1f} ms  p99 {r['p99']:.1f} ms  max {r['max']:.1f} ms")
    print(f"  one fetch cycle of this pool: a slot frees every {cycle:.2f} ms on average, each slot")
    print(f"  every {args.sleep_ms:g} ms; low jobs still queued at the end: {int(r['low_left']):,}")
    print(f"(namespace {NAMESPACE}, private redis-server, now stopped)")


if __name__ == "__main__":
    main()
