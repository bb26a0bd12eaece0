"""The app every benchmark worker runs: ``jobq worker benchmarks.bench_app:app``.

Each task records its completion (see `benchmarks.records`) and does nothing else, or
sleeps. Redis URL and namespace come from the environment the runner sets.
"""

from __future__ import annotations

import asyncio
import os
import time

import jobq
from benchmarks.records import record

SLEEP_S = float(os.environ.get("JOBQ_BENCH_SLEEP_S", "0.010"))

app = jobq.App(namespace=os.environ.get("JOBQ_NAMESPACE", "bench"))


class NoOpMiddleware(jobq.Middleware):
    """Hooks around every run that do nothing: what middleware itself costs."""

    def before_run(self, job: jobq.JobInfo) -> None:
        pass

    def after_run(self, job: jobq.JobInfo, outcome: jobq.RunOutcome) -> None:
        pass


if os.environ.get("JOBQ_BENCH_MIDDLEWARE") == "noop":  # see README "Extending jobq"
    app.add_middleware(NoOpMiddleware())


@app.task(name="bench.noop")
def noop(i: int, t: float) -> None:
    record(i, t, time.time())


@app.task(name="bench.noop_async")
async def noop_async(i: int, t: float) -> None:
    record(i, t, time.time())


@app.task(name="bench.sleep_async")
async def sleep_async(i: int, t: float) -> None:
    started = time.time()
    await asyncio.sleep(SLEEP_S)
    record(i, t, started)


@app.task(name="bench.sleep_sync")
def sleep_sync(i: int, t: float) -> None:
    started = time.time()
    time.sleep(SLEEP_S)
    record(i, t, started)


@app.task(name="bench.sleep_low", priority=1)
def sleep_low(i: int, t: float) -> None:
    """bench.sleep_sync at priority 1 (benchmarks.priority_latency's backlog)."""
    started = time.time()
    time.sleep(SLEEP_S)
    record(i, t, started)


@app.task(name="bench.album")
def album(results: list[None]) -> int:
    """A chord's callback (benchmarks.workflows): one record when the members are done."""
    record(len(results), 0.0, time.time())
    return len(results)


TASKS = {t.name: t for t in (noop, noop_async, sleep_async, sleep_sync, sleep_low, album)}
