"""Batch fan-out: split a big job into many small ones, run them in parallel on the
worker pool, and gather the results.

`delay_many` enqueues the whole batch in pipelined round trips; each part is a job of its
own, so a worker that dies mid-batch costs one part (run again), not the batch.

Run it from this folder, with Redis on localhost (or JOBQ_REDIS_URL set):

    jobq worker batch_fanout -p 2        # terminal 1: two processes for CPU-bound parts
    python batch_fanout.py               # terminal 2
"""

from __future__ import annotations

import math
import time

import jobq

app = jobq.App()

LIMIT = 300_000
PARTS = 60


@app.task(name="batch_fanout.count_primes", queue="cpu")
def count_primes(start: int, stop: int) -> int:
    """Primes in [start, stop): plain CPU work, one slice of the whole."""
    return sum(1 for n in range(max(start, 2), stop) if is_prime(n))


def is_prime(n: int) -> bool:
    if n % 2 == 0:
        return n == 2
    return all(n % d for d in range(3, math.isqrt(n) + 1, 2))


def main() -> None:
    step = LIMIT // PARTS
    parts = [(lo, min(lo + step, LIMIT)) for lo in range(0, LIMIT, step)]

    started = time.perf_counter()
    jobs = count_primes.delay_many(parts)  # fan out: one pipelined enqueue
    print(f"enqueued {len(jobs)} parts in {time.perf_counter() - started:.3f} s")

    total = sum(job.result(timeout=60) for job in jobs)  # fan in: wait for every part
    elapsed = time.perf_counter() - started
    print(f"{total} primes below {LIMIT:,}, counted in {len(jobs)} parts in {elapsed:.1f} s")
    assert total == 25_997, total  # pi(300,000)


if __name__ == "__main__":
    main()
