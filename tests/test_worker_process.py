"""Process tests: the real `jobq worker` pool, killed, signalled and starved; every job counted."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

import jobq
from tests.support import runlog
from tests.support.corepool import Start, held_job_ids, producer, start_pool
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_for


def test_kill_9_of_the_whole_pool_loses_nothing(
    jobq_cli: Start,
    redis_server: RedisServer,
    namespace: str,
    runs: Path,
    report: dict[str, object],
) -> None:
    vt, total = 3.0, 3000
    app, tasks = producer(redis_server.url, namespace, vt)
    jobs = tasks["work"].delay_many([(0.004,)] * total)
    pool = start_pool(jobq_cli, redis_server.url, namespace, runs, vt, "-p", "2", "-c", "8")
    wait_for(lambda: sum(runlog.ended(runs).values()) >= 1000, 60, "1000 jobs to finish")
    pool.kill_group()
    killed_at = time.time()
    in_flight = held_job_ids(app)  # delivered to the dead pool and never acknowledged
    assert in_flight, "the kill should have caught jobs in flight"

    start_pool(jobq_cli, redis_server.url, namespace, runs, vt, "-p", "2", "-c", "8")
    wait_for(lambda: len(runlog.ended(runs)) == total, 90, "every job to finish after the restart")
    wait_for(lambda: not held_job_ids(app), 30, "every job to be acknowledged")
    ended = runlog.ended(runs)
    last_end: dict[str, float] = {}
    for r in runlog.read(runs):
        if r.kind == "E":
            last_end[r.job_id] = r.at
    recovered_s = max(last_end[j] for j in in_flight) - killed_at
    duplicates = sum(n - 1 for n in ended.values())
    assert set(ended) == {j.id for j in jobs}, "a job was lost"
    assert duplicates <= len(in_flight), "more duplicates than jobs in flight at the kill"
    # the bound is vt + 2 s; one more second absorbs the restart of the pool on a loaded machine
    assert recovered_s <= vt + 3.0, f"orphans recovered in {recovered_s:.1f}s"
    report.update(
        jobs=total,
        lost=total - len(ended),
        in_flight_at_kill=len(in_flight),
        duplicated=duplicates,
        recovered_s=round(recovered_s, 2),
        vt_s=vt,
    )


def test_a_killed_child_is_respawned_and_its_jobs_reclaimed(
    jobq_cli: Start,
    redis_server: RedisServer,
    namespace: str,
    runs: Path,
) -> None:
    vt = 2.0
    _, tasks = producer(redis_server.url, namespace, vt)
    jobs = tasks["work"].delay_many([(0.5,)] * 16)
    pool = start_pool(jobq_cli, redis_server.url, namespace, runs, vt, "-p", "2", "-c", "4")
    children = wait_for(lambda: len(pool.children()) == 2 and pool.children(), 20, "two children")
    victim = children[0]
    wait_for(lambda: any(r.pid == victim for r in runlog.read(runs)), 20, "the victim to run a job")
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: len(pool.children()) == 2 and victim not in pool.children(), 20, "a replacement child")
    wait_for(lambda: len(runlog.ended(runs)) == len(jobs), 40, "every job to finish")
    orphans = {r.job_id for r in runlog.read(runs) if r.pid == victim and r.kind == "S"} - {
        r.job_id for r in runlog.read(runs) if r.pid == victim and r.kind == "E"
    }
    assert orphans, "the victim should have died holding jobs"
    rerun_by = {r.job_id: r.pid for r in runlog.read(runs) if r.kind == "E" and r.job_id in orphans}
    assert set(rerun_by) == orphans and victim not in rerun_by.values()


def test_sigterm_finishes_in_flight_jobs_and_exits_0(
    jobq_cli: Start,
    redis_server: RedisServer,
    namespace: str,
    runs: Path,
) -> None:
    vt = 5.0
    app, tasks = producer(redis_server.url, namespace, vt)
    jobs = tasks["work"].delay_many([(1.0,)] * 12)
    pool = start_pool(jobq_cli, redis_server.url, namespace, runs, vt, "-p", "1", "-c", "4")
    wait_for(lambda: len(runlog.started(runs)) == 4, 20, "four jobs to start")
    pool.signal(signal.SIGTERM)
    assert pool.wait(30) == 0
    started, ended = runlog.started(runs), runlog.ended(runs)
    assert set(started) == set(ended) and len(ended) >= 4
    assert all(n == 1 for n in ended.values()), "a job ran twice"
    statuses = [j.status() for j in jobs]
    assert statuses.count("succeeded") == len(ended)
    assert statuses.count("queued") == len(jobs) - len(ended)
    assert "worker.stopping" in pool.output()
    assert app.broker.client.zcard(app.broker.ns.workers) == 0, "workers should deregister"


def test_a_job_three_times_the_visibility_timeout_runs_once(
    jobq_cli: Start,
    redis_server: RedisServer,
    namespace: str,
    runs: Path,
) -> None:
    vt = 1.0
    _, tasks = producer(redis_server.url, namespace, vt)
    job = tasks["work"].delay(3.0)
    start_pool(jobq_cli, redis_server.url, namespace, runs, vt, "-p", "2", "-c", "2")
    wait_for(lambda: job.status() == "succeeded", 20, "the long job to succeed")
    assert runlog.started(runs) == {job.id: 1} and runlog.ended(runs) == {job.id: 1}


def test_a_hung_sync_task_is_failed_and_the_next_job_still_runs(
    jobq_cli: Start,
    redis_server: RedisServer,
    namespace: str,
    runs: Path,
) -> None:
    vt = 5.0
    _, tasks = producer(redis_server.url, namespace, vt)
    hung = tasks["hang"].delay()
    pool = start_pool(jobq_cli, redis_server.url, namespace, runs, vt, "-p", "1", "-c", "1")
    wait_for(lambda: hung.status() == "dead", 20, "the hung job to be failed by its timeout")
    with pytest.raises(jobq.JobFailed, match=r"timed out after 1.0s"):
        hung.result()
    after = tasks["work"].delay(0.01)
    wait_for(lambda: after.status() == "succeeded", 20, "the next job to run")
    wait_for(lambda: "worker.thread_stuck" in pool.output(), 20, "the stuck thread to be noticed")
    wait_for(lambda: "pool.child_recycled" in pool.output(), 20, "the process to be replaced")
    again = tasks["work"].delay(0.01)
    wait_for(lambda: again.status() == "succeeded", 20, "a job on the replacement process")


def test_a_task_that_kills_its_process_is_dead_lettered_by_the_poison_cap(
    jobq_cli: Start,
    redis_server: RedisServer,
    namespace: str,
    runs: Path,
) -> None:
    vt = 1.0
    app, tasks = producer(redis_server.url, namespace, vt)
    job = tasks["crash"].delay()
    ok = tasks["work"].delay(0.01)
    start_pool(jobq_cli, redis_server.url, namespace, runs, vt, "-p", "1", "-c", "2")
    wait_for(lambda: job.status() == "dead", 40, "the crashing job to be dead-lettered")
    wait_for(lambda: ok.status() == "succeeded", 20, "its neighbour to succeed")
    assert runlog.started(runs)[job.id] == 3  # retries=2: three attempts, each a crash
    [(_, fields)] = app.broker.client.xrange(app.broker.queue_keys("default").dead)
    details = json.loads(fields["d"])
    assert details["attempts"] == 3 and "worker lost" in details["reason"]
