"""A pool asked for too much refuses at once; one stopped while it starts stops at once
(issue 12, item 6: `-p 1000000` ignored SIGTERM for minutes and left thousands of zombies)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

import jobq
from jobq.cli.worker import MAX_CONCURRENCY, MAX_PROCESSES
from jobq.worker import Worker
from jobq.worker.consumer import EXIT_RECYCLE
from tests.support.corepool import Start, start_pool
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_for


@pytest.mark.parametrize(
    "args",
    [["-p", str(MAX_PROCESSES + 1)], ["-p", "1000000"], ["-c", str(MAX_CONCURRENCY + 1)], ["-p", "0"]],
)
def test_too_many_processes_or_threads_is_a_one_line_usage_error(
    args: list[str], jobq_cli: Start, redis_server: RedisServer, namespace: str, runs: Path
) -> None:
    pool = start_pool(jobq_cli, redis_server.url, namespace, runs, 3.0, *args)
    assert pool.wait(30) == 2
    lines = pool.output().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: Invalid value for '-"), lines
    assert "is not in the range 1<=x<=" in lines[0] and "Traceback" not in pool.output()


def test_sigterm_while_a_large_pool_starts_stops_it_promptly_and_leaves_no_process(
    jobq_cli: Start, redis_server: RedisServer, namespace: str, runs: Path
) -> None:
    # Every fork takes 0.1 s, so starting all the children would take 25 s; and the shutdown
    # timeout is far above the deadline: only a pool that stops spawning at the signal, and
    # whose every child got the signal (none lost in a half-made child), exits in time.
    args = ["worker", "slow_fork_app", "-p", str(MAX_PROCESSES), "--shutdown-timeout", "120"]
    env = {"JOBQ_NAMESPACE": namespace, "JOBQ_RUN_LOG": str(runs), "JOBQ_FORK_DELAY": "0.1"}
    pool = jobq_cli(args, redis_server.url, **env)
    # (a child seen before "pool.started" may be a short-lived helper of some import)
    wait_for(lambda: "pool.started" in pool.output() and pool.children(), 30, "the first child")
    pool.signal(signal.SIGTERM)
    signalled = time.monotonic()
    assert pool.wait(60) == 0, pool.output()[-2000:]
    took = time.monotonic() - signalled
    assert took < 10, f"the pool took {took:.1f}s to stop"
    assert "pool.spawn_interrupted" in pool.output()
    with pytest.raises(ProcessLookupError):  # nothing of its process group is left
        os.killpg(pool.pid, 0)
    assert "pool.stopped" in pool.output()


def test_the_memory_limit_is_checked_after_each_job_not_only_on_the_maintenance_tick(
    app: jobq.App,
) -> None:
    """A child that leaks fast must stop at the job that crossed its limit. Stepping a worker
    runs no maintenance tick at all, so only a check after the job can stop this one."""

    @app.task(name="small")
    def small() -> None:
        return None

    jobs = [small.delay() for _ in range(3)]

    async def one_step() -> Worker:
        worker = Worker(app, concurrency=1, max_memory_mb=1)  # every process is over 1 MB
        try:
            await worker.step(block_ms=20)
        finally:
            await worker.close()
        return worker

    worker = asyncio.run(one_step())
    assert worker.exit_code == EXIT_RECYCLE and worker.stopping
    assert jobs[0].status() == "succeeded"
