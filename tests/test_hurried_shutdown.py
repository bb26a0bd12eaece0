"""A second SIGTERM (or Ctrl-C) stops a pool at once, and the jobs it gives up are run by
another worker at once, as the same attempt (issue 12, item 7)."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from pathlib import Path

import jobq
from jobq.worker import Worker
from tests.support import runlog
from tests.support.corepool import Start
from tests.support.inproc import work_until
from tests.support.processes import JobqProcess
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_for

VT = 30.0  # the visibility timeout: released jobs must not wait for it


def pool(jobq_cli: Start, url: str, namespace: str, runs: Path) -> JobqProcess:
    args = ["worker", "abandon_app", "-c", "4", "--shutdown-timeout", "60"]
    return jobq_cli(args, url, JOBQ_NAMESPACE=namespace, JOBQ_RUN_LOG=str(runs), JOBQ_VT=str(VT))


def test_a_second_sigterm_stops_now_and_another_worker_runs_the_jobs_at_once(
    jobq_cli: Start, redis_server: RedisServer, namespace: str, runs: Path
) -> None:
    app = jobq.App(redis_server.url, namespace=namespace, visibility_timeout=VT)
    jobs = [app.enqueue(name, 6.0) for name in ("long_sync", "long_async", "long_sync", "long_async")]
    first = pool(jobq_cli, redis_server.url, namespace, runs)
    wait_for(lambda: len(runlog.started(runs)) == 4, 30, "the first pool to start all four jobs")
    second = pool(jobq_cli, redis_server.url, namespace, runs)
    wait_for(lambda: "worker.started" in second.output(), 30, "the second pool to be ready")

    first.signal(signal.SIGTERM)
    wait_for(
        lambda: "finishing 4 jobs, up to 60 s; press Ctrl-C again" in first.output(), 10, "the drain note"
    )
    first.signal(signal.SIGTERM)
    hurried, hurried_at = time.monotonic(), time.time()
    assert first.wait(15) == 0, first.output()
    stopped_in = time.monotonic() - hurried
    out = first.output()
    assert "pool.hurrying" in out and out.count("job.abandoned") == 4, out
    assert "job.cancelled" not in out, "an abandoned job runs again: it is not cancelled"

    wait_for(lambda: all(j.status() == "succeeded" for j in jobs), 25, "every job to succeed elsewhere")
    records = runlog.read(runs)
    first_runs = {r.pid for r in records if r.kind == "S" and r.at < hurried_at}
    restarts = [r.at - hurried_at for r in records if r.kind == "S" and r.pid not in first_runs]
    assert len(restarts) == 4 and max(restarts) < VT / 3, f"restarted after {restarts}s"
    assert runlog.ended(runs) == {j.id: 1 for j in jobs}, "each job finishes exactly once"
    assert {r.kind for r in records if r.kind.startswith("A")} == {"A1"}, "abandoning cost an attempt"
    assert stopped_in < 10, f"the hurried pool took {stopped_in:.1f}s"
    second.signal(signal.SIGTERM)
    assert second.wait(30) == 0


def test_one_ctrl_c_reaching_the_whole_process_group_only_drains(
    jobq_cli: Start, redis_server: RedisServer, namespace: str, runs: Path
) -> None:
    # The terminal sends Ctrl-C to every process of the group, and the supervisor passes the
    # stop on to its workers too: one keypress must still count as one.
    app = jobq.App(redis_server.url, namespace=namespace, visibility_timeout=VT)
    jobs = [app.enqueue(name, 2.0) for name in ("long_sync", "long_async")]
    first = pool(jobq_cli, redis_server.url, namespace, runs)
    wait_for(lambda: len(runlog.started(runs)) == 2, 30, "both jobs to start")
    os.killpg(first.pid, signal.SIGINT)
    assert first.wait(30) == 0, first.output()
    assert "finishing 2 jobs" in first.output()
    assert "hurrying" not in first.output() and "job.abandoned" not in first.output()
    assert [j.status() for j in jobs] == ["succeeded", "succeeded"]
    assert runlog.ended(runs) == {j.id: 1 for j in jobs}


def test_jobs_still_running_at_the_shutdown_timeout_are_released_at_once(
    jobq_cli: Start, redis_server: RedisServer, namespace: str, runs: Path
) -> None:
    app = jobq.App(redis_server.url, namespace=namespace, visibility_timeout=VT)
    jobs = [app.enqueue(name, 6.0) for name in ("long_sync", "long_async")]
    args = ["worker", "abandon_app", "-c", "4", "--shutdown-timeout", "1"]
    env = {"JOBQ_NAMESPACE": namespace, "JOBQ_RUN_LOG": str(runs), "JOBQ_VT": str(VT)}
    first = jobq_cli(args, redis_server.url, **env)
    wait_for(lambda: len(runlog.started(runs)) == 2, 30, "both jobs to start")
    pool(jobq_cli, redis_server.url, namespace, runs)
    first.signal(signal.SIGTERM)
    signalled_at = time.time()
    assert first.wait(30) == 0, first.output()
    assert first.output().count("job.abandoned") == 2 and "job.cancelled" not in first.output()
    wait_for(lambda: all(j.status() == "succeeded" for j in jobs), 25, "both jobs to succeed elsewhere")
    restarts = [r.at - signalled_at for r in runlog.read(runs) if r.kind == "S" and r.at > signalled_at]
    assert len(restarts) == 2 and max(restarts) < VT / 3, f"restarted after {restarts}s"
    assert {r.kind for r in runlog.read(runs) if r.kind.startswith("A")} == {"A1"}


def test_a_worker_run_on_its_own_counts_the_signals_itself(app: jobq.App) -> None:
    """Worker.run embedded in a program's main thread: no supervisor, so its own second
    SIGTERM stops it at once and releases the job, which the next worker runs as attempt 1."""
    started, attempts = threading.Event(), []

    @app.task(name="sleepy", retries=0)
    async def sleepy() -> None:
        attempts.append(jobq.current_job().attempt)
        if len(attempts) == 1:
            started.set()
            await asyncio.sleep(60)

    job = sleepy.delay()

    async def run_and_signal() -> int:
        worker = Worker(app, ["default"], 2, shutdown_timeout=60)
        running = asyncio.ensure_future(worker.run())
        while not started.is_set():
            await asyncio.sleep(0.01)
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(0.2)
        assert not running.done() and worker.stopping, "one SIGTERM drains"
        os.kill(os.getpid(), signal.SIGTERM)
        return await asyncio.wait_for(running, 10)

    assert asyncio.run(run_and_signal()) == 0
    assert job.status() == "queued"
    work_until(app, lambda: job.status() == "succeeded")
    assert attempts == [1, 1]
