"""core_app plus long tasks without retries that record their attempt (`A<n> <job id> ...` in
$JOBQ_RUN_LOG): a job a stopping worker abandons must run again as the same attempt."""

from __future__ import annotations

import asyncio
import time

from core_app import app, record

import jobq

__all__ = ["app"]


@app.task(name="long_sync", retries=0)
def long_sync(seconds: float) -> None:
    job = jobq.current_job()
    record(f"A{job.attempt}", job.id)
    record("S", job.id)
    time.sleep(seconds)
    record("E", job.id)


@app.task(name="long_async", retries=0)
async def long_async(seconds: float) -> None:
    job = jobq.current_job()
    record(f"A{job.attempt}", job.id)
    record("S", job.id)
    await asyncio.sleep(seconds)
    record("E", job.id)
