"""Helpers of the priority tests: step an in-process worker, read a job's level."""

from __future__ import annotations

import asyncio
from typing import Any

import jobq
from jobq import records
from jobq.worker import Worker


def run_in_steps(app: jobq.App, queues: list[str], steps: int, concurrency: int = 1) -> None:
    """Step one in-process worker `steps` times (each step: pauses and levels, promote and
    aging, read, run, settle)."""

    async def work() -> None:
        worker = Worker(app, queues, concurrency)
        try:
            for _ in range(steps):
                await worker.step(block_ms=20)
        finally:
            await worker.close()

    asyncio.run(work())


def level_of(app: jobq.App, queue: str, job_id: str) -> int:
    """The priority level a job's record says it waits at."""
    found: Any = app.broker.client.hget(app.broker.ns.queue(queue).jobs, job_id)
    return records.level_of(records.job_record(str(found))[1])[0]
