"""Round trips a fleet-wide limit adds: ``python -m benchmarks.flow_round_trips [--jobs N]``.

Drains N no-op jobs in one worker (in this process, `-c 32`) twice on a private
redis-server: once with no limits, once under a generous rate limit and concurrency cap
(never reached). Counts the worker's calls to Redis by kind: reads (one per fetched batch)
and the limiter's acquire / free calls, and prints the extra calls per batch. Target: at
most 2 extra round trips per batch, not per job.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from typing import Any

import jobq
from benchmarks.server import BenchServer
from jobq.broker import AsyncBroker
from jobq.log import configure
from jobq.testing import is_idle
from jobq.worker import Worker

COUNTED = ("read", "read_counts", "acquire", "hold_slots", "settle")


def counting(calls: Counter[str]) -> None:
    for name in COUNTED:
        original = getattr(AsyncBroker, name)

        def wrapper(
            self: AsyncBroker, *args: Any, _name: str = name, _original: Any = original, **kw: Any
        ) -> Any:
            calls[_name] += 1
            return _original(self, *args, **kw)

        setattr(AsyncBroker, name, wrapper)


def drain(url: str, namespace: str, jobs: int, limited: bool) -> float:
    app = jobq.App(url, namespace=namespace)
    options: dict[str, Any] = {"rate_limit": "100000/s", "concurrency": 1000} if limited else {}
    task = app.task(name="noop", **options)(lambda: None)
    task.delay_many([()] * jobs)

    async def run() -> float:
        worker = Worker(app, ["default"], 32, block_ms=50)
        begun = time.perf_counter()
        while not is_idle(app, ["default"]):
            for _ in range(50):
                await worker.step(block_ms=20)
        await worker.close()
        return time.perf_counter() - begun

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=5000)
    jobs = parser.parse_args().jobs
    configure(level="warning")  # the in-process worker would log a line per job
    server = BenchServer().start()
    calls: Counter[str] = Counter()
    counting(calls)
    try:
        for limited in (False, True):
            calls.clear()
            seconds = drain(server.url, f"rt{int(limited)}", jobs, limited)
            batches = calls["read"] + calls["read_counts"]
            extra = calls["acquire"] + calls["hold_slots"]
            label = "rate limit + cap" if limited else "no limits      "
            print(
                f"{label}: {jobs} jobs in {seconds:.2f} s, {batches} batches read, "
                f"{extra} limiter calls = {extra / max(1, batches):.2f} per batch, {extra / jobs:.3f} per job"
            )
    finally:
        server.local.close()


if __name__ == "__main__":
    main()
