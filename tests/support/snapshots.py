"""A namespace with work in it for the stats tests: tasks that succeed, fail and wait on
another queue, and a worker that runs some of them and reports in."""

from __future__ import annotations

import time

import jobq
from jobq.worker import Worker


def stats_tasks(app: jobq.App) -> tuple[jobq.Task, jobq.Task, jobq.Task]:  # type: ignore[type-arg]
    @app.task(name="ok")
    def ok(x: int) -> int:
        return x

    @app.task(name="boom", retries=0)
    def boom() -> None:
        raise ValueError("kaboom")

    @app.task(name="later", queue="other")
    def later() -> None:
        return None

    return ok, boom, later


async def run_then_beat(worker: Worker, jobs: int, timeout: float = 30) -> None:
    """Let `worker` finish `jobs` jobs (or give up after `timeout` s), then send a heartbeat."""
    done, deadline = 0, time.monotonic() + timeout
    while done < jobs and time.monotonic() < deadline:
        done += await worker.step()
    await worker.maintenance.heartbeat()
