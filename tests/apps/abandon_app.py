"""core_app plus long tasks without retries that record their attempt (`A<n> <job id> ...` in
$JOBQ_RUN_LOG): a job a stopping worker abandons must run again as the same attempt. Only
the first run is long (it must still run when the pool is stopped); the run that takes
over an abandoned job ends at once, so the tests do not wait the whole length again."""

from __future__ import annotations

import asyncio
import os
import time

from core_app import app, record

import jobq

__all__ = ["app"]


def length(job_id: str, seconds: float) -> float:
    """`seconds` on the job's first run; 0.05 on a run after another process started it."""
    with open(os.environ["JOBQ_RUN_LOG"]) as runs:
        again = any(line.startswith(f"S {job_id} ") for line in runs)
    return 0.05 if again else seconds


@app.task(name="long_sync", retries=0)
def long_sync(seconds: float) -> None:
    job = jobq.current_job()
    record(f"A{job.attempt}", job.id)
    seconds = length(job.id, seconds)
    record("S", job.id)
    time.sleep(seconds)
    record("E", job.id)


@app.task(name="long_async", retries=0)
async def long_async(seconds: float) -> None:
    job = jobq.current_job()
    record(f"A{job.attempt}", job.id)
    seconds = length(job.id, seconds)
    record("S", job.id)
    await asyncio.sleep(seconds)
    record("E", job.id)
