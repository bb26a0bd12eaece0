"""W1: enqueue throughput.

- ``raw XADD``: a bare redis-py loop, one XADD (one round trip) per job, of a payload the
  size of a jobq envelope: the floor one-job-per-call enqueue is compared against.
- ``raw XADD pipelined``: the same XADDs pipelined 100 per round trip (as the peer
  harness's floor): the floor ``delay_many`` is compared against.
- ``delay``: ``task.delay(i, t)``, one job per call.
- ``delay_many``: ``task.delay_many`` in batches.
The report gives each jobq variant's rate over its floor's in the same run (issue 17:
``delay`` >= 0.9x raw XADD, ``delay_many`` >= 0.8x raw XADD pipelined).
Every variant also reports producer CPU, Redis CPU and Redis commands per job.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import redis

from benchmarks.context import Bench
from benchmarks.figures import RAW_PIPELINED, RAW_SINGLE
from jobq.envelope import Envelope, encode

RAW_STREAM = "bench:raw"


def _measure(b: Bench, n: int, body: Callable[[], None]) -> dict[str, Any]:
    before = b.server.counters()
    cpu0, t0 = time.process_time(), time.perf_counter()
    body()
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    after = b.server.counters()
    return {
        "n": n,
        "rate": n / elapsed,
        "producer_cpu_us": cpu * 1e6 / n,
        "redis_cpu_us": (after.cpu_s - before.cpu_s) * 1e6 / n,
        "redis_cmds": (after.commands - before.commands - 1) / n,  # INFO itself counts once
    }


def raw_xadd(b: Bench, n: int) -> dict[str, Any]:
    payload = encode(Envelope("0" * 32, "bench.noop", (0, time.time()), {}, time.time()), 1 << 20)
    client = redis.Redis.from_url(b.server.url)
    fields = {"j": payload}
    client.ping()

    def body() -> None:
        for _ in range(n):
            client.xadd(RAW_STREAM, fields)  # type: ignore[arg-type]

    try:
        return _measure(b, n, body)
    finally:
        client.close()


def raw_xadd_pipelined(b: Bench, n: int, per: int = 100) -> dict[str, Any]:
    payload = encode(Envelope("0" * 32, "bench.noop", (0, time.time()), {}, time.time()), 1 << 20)
    client = redis.Redis.from_url(b.server.url)
    fields = {"j": payload}
    client.ping()

    def body() -> None:
        for start in range(0, n, per):
            pipe = client.pipeline(transaction=False)
            for _ in range(min(per, n - start)):
                pipe.xadd(RAW_STREAM, fields)  # type: ignore[arg-type]
            pipe.execute()

    try:
        return _measure(b, n, body)
    finally:
        client.close()


def delay(b: Bench, n: int) -> dict[str, Any]:
    task = b.task("bench.noop")
    task.delay(-1, time.time())  # connect and register the queue outside the timing

    def body() -> None:
        for i in range(n):
            task.delay(i, time.time())

    return _measure(b, n, body)


def delay_many(b: Bench, n: int, batch: int) -> dict[str, Any]:
    task = b.task("bench.noop")
    task.delay(-1, time.time())

    def body() -> None:
        for start in range(0, n, batch):
            now = time.time()
            task.delay_many([(i, now) for i in range(start, min(n, start + batch))])

    return _measure(b, n, body)


def run_w1(b: Bench, run: int, n_single: int, n_batch: int, batch: int) -> list[dict[str, Any]]:
    """One round of every variant, interleaved so that machine noise hits each alike."""
    rows = []
    for variant, measure in (
        (RAW_SINGLE, lambda: raw_xadd(b, n_single)),
        ("delay", lambda: delay(b, n_single)),
        (RAW_PIPELINED, lambda: raw_xadd_pipelined(b, n_batch)),
        (f"delay_many (batches of {batch:,})", lambda: delay_many(b, n_batch, batch)),
    ):
        b.fresh()
        row = measure()
        row.update(workload="W1", variant=variant, run=run)
        rows.append(row)
    return rows
