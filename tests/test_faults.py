"""Fault tests (issue 3): Redis killed, restarted, stopped, cut off and full; poison tasks.
Each uses a private redis-server and ends by counting every job."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import jobq
from jobq.keys import NamespaceKeys
from tests.support import runlog
from tests.support.corepool import Start, held_job_ids, producer, start_pool
from tests.support.processes import env_for, jobq_executable
from tests.support.redis_server import RedisServer, free_port, redis_time
from tests.support.waiting import wait_for

Servers = Callable[..., RedisServer]


def count_lines(proc_output: str, event: str) -> int:
    return sum(event in line for line in proc_output.splitlines())


def test_redis_kill_9_and_aof_restart_mid_run(
    private_redis: Servers, jobq_cli: Start, namespace: str, runs: Path, report: dict[str, object]
) -> None:
    server = private_redis(aof=True)
    vt, total = 3.0, 2000
    _app, tasks = producer(server.url, namespace, vt)
    jobs = tasks["work"].delay_many([(0.002,)] * total)
    pool = start_pool(jobq_cli, server.url, namespace, runs, vt, "-p", "2", "-c", "8")
    wait_for(lambda: len(runlog.ended(runs)) >= 500, 60, "500 jobs to finish")
    survivors = set(pool.children())
    server.kill()
    wait_for(lambda: "redis.unavailable" in pool.output(), 30, "the workers to notice the outage")
    server.start()
    restarted = time.time()
    wait_for(lambda: len(runlog.ended(runs)) == total, 90, "every job to finish after the restart")
    ended = runlog.ended(runs)
    assert set(ended) == {j.id for j in jobs}, "an acknowledged enqueue was lost"
    wait_for(lambda: "redis.reconnected" in pool.output(), 30, "the recovery line")
    assert count_lines(pool.output(), "redis.unavailable") <= len(survivors), "a log flood"

    after = tasks["work"].delay_many([(0.001,)] * 20)
    wait_for(lambda: all(j.status() == "succeeded" for j in after), 30, "new work after the outage")
    ran_by = {r.pid for r in runlog.read(runs) if r.job_id in {j.id for j in after}}
    assert ran_by <= survivors, "the workers that lived through the outage take new work"
    assert pool.proc.poll() is None
    # Taken from every run, `after` included: under load the workers can finish the whole
    # first batch between the 500th completion and the kill, and then nothing else ends
    # after the restart (the jobs a worker held run during the outage).
    ends_after = [r for r in runlog.read(runs) if r.kind == "E" and r.at >= restarted]
    first_after = min(r.at for r in ends_after)
    report.update(
        scenario="redis kill -9 + AOF restart",
        first_batch_ended_after_restart=sum(1 for r in ends_after if r.job_id in ended),
        jobs=total,
        lost=0,
        duplicated=sum(n - 1 for n in ended.values()),
        dead=0,
        recover_s=round(first_after - restarted, 2),
    )


def test_redis_stopped_for_20_s(
    private_redis: Servers, jobq_cli: Start, namespace: str, runs: Path, report: dict[str, object]
) -> None:
    server = private_redis()
    vt = 5.0
    _app, tasks = producer(server.url, namespace, vt)
    before = tasks["work"].delay_many([(0.01,)] * 50)
    pool = start_pool(jobq_cli, server.url, namespace, runs, vt, "-p", "1", "-c", "4")
    wait_for(lambda: len(runlog.ended(runs)) == 50, 30, "the first batch")
    children = set(pool.children())
    server.stop()
    stopped = time.monotonic()
    t0 = time.monotonic()
    with pytest.raises(jobq.BrokerError, match="cannot reach Redis"):
        tasks["work"].delay(0.01)
    raised_after = time.monotonic() - t0
    assert raised_after < 12, f"enqueue took {raised_after:.1f}s to fail"
    time.sleep(max(0.0, 20 - (time.monotonic() - stopped)))  # the scenario: 20 s of silence
    server.resume()
    resumed = time.time()
    after = tasks["work"].delay_many([(0.01,)] * 50)
    # Wait for these 100 ids, not for 100 ids: the enqueue that timed out sat in the stopped
    # server's socket and may run too once it resumes (a timeout leaves the outcome unknown).
    acknowledged = {j.id for j in before + after}
    wait_for(lambda: acknowledged <= set(runlog.ended(runs)), 60, "work after the stop")
    ended = runlog.ended(runs)
    assert acknowledged <= set(ended)
    assert set(pool.children()) == children, "workers wait; they are not restarted"
    first_after = min(r.at for r in runlog.read(runs) if r.kind == "E" and r.at >= resumed)
    report.update(
        scenario="redis stopped 20 s",
        jobs=100,
        lost=0,
        enqueue_failed_after_s=round(raised_after, 2),
        duplicated=sum(n - 1 for n in ended.values()),
        dead=0,
        recover_s=round(first_after - resumed, 2),
    )


def test_worker_started_before_redis_waits_and_one_shot_commands_fail_cleanly(
    jobq_cli: Start, namespace: str, runs: Path, tmp_path: Path
) -> None:
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    pool = start_pool(jobq_cli, url, namespace, runs, 5.0, "-p", "1")
    wait_for(lambda: "redis.unavailable" in pool.output(), 20, "a clear log line")
    assert "Traceback" not in pool.output()
    for args in (["enqueue", "core_app", "work", "0.01"], ["stats"], ["job", "show", "x"]):
        done = subprocess.run(
            jobq_executable() + args,
            env=env_for(url),
            capture_output=True,
            text=True,
            cwd=str(Path(__file__).parent / "apps"),
            timeout=60,
        )
        assert done.returncode == 1, (args, done.stderr)
        assert done.stderr.startswith("error: cannot reach Redis at redis://127.0.0.1"), done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    server = RedisServer(port=port).start()
    try:
        _, tasks = producer(url, namespace, 5.0)
        job = tasks["work"].delay(0.01)
        wait_for(lambda: job.status() == "succeeded", 30, "the worker to connect and run the job")
        assert count_lines(pool.output(), "redis.unavailable") == 1
    finally:
        pool.kill_group()
        server.close()


def test_connections_cut_while_jobs_run(
    private_redis: Servers, jobq_cli: Start, namespace: str, runs: Path, report: dict[str, object]
) -> None:
    server = private_redis()
    vt, total = 3.0, 1000
    app, tasks = producer(server.url, namespace, vt)
    jobs = tasks["work"].delay_many([(0.02,)] * total)  # at least 1.25 s of work for 16 slots
    start_pool(jobq_cli, server.url, namespace, runs, vt, "-p", "2", "-c", "8")
    wait_for(lambda: runlog.ended(runs), 30, "the workers to be at work")
    admin = server.client()
    kills = rounds = 0
    deadline = time.monotonic() + 90
    while len(runlog.ended(runs)) < total and time.monotonic() < deadline:
        cut = int(admin.execute_command("CLIENT", "KILL", "TYPE", "normal"))
        kills, rounds = kills + cut, rounds + (cut > 0)
        time.sleep(0.2)  # the disruption's own pace, not a synchronisation
    wait_for(lambda: len(runlog.ended(runs)) == total, 60, "every job")
    wait_for(lambda: not held_job_ids(app), 30, "every job acknowledged")
    ended = runlog.ended(runs)
    assert set(ended) == {j.id for j in jobs}
    assert rounds >= 3, f"connections were cut in only {rounds} rounds while jobs ran"
    report.update(
        scenario="CLIENT KILL TYPE normal every 0.2 s",
        jobs=total,
        lost=0,
        connections_cut=kills,
        duplicated=sum(n - 1 for n in ended.values()),
        dead=0,
    )


def test_out_of_memory_refuses_enqueue_and_keeps_settling(
    private_redis: Servers, jobq_cli: Start, namespace: str, runs: Path, report: dict[str, object]
) -> None:
    server = private_redis(extra=["--maxmemory", "4mb", "--maxmemory-policy", "noeviction"])
    app, tasks = producer(server.url, namespace, 5.0)
    accepted: list[jobq.Job[object]] = []
    with pytest.raises(jobq.BrokerError, match="out of memory") as info:
        for _ in range(10_000):
            accepted.append(tasks["work"].delay(0.001, "x" * 4000))
    assert "Traceback" not in str(info.value)
    assert accepted
    pool = start_pool(jobq_cli, server.url, namespace, runs, 5.0, "-p", "1", "-c", "8")
    wait_for(lambda: len(runlog.ended(runs)) == len(accepted), 60, "every accepted job to run")
    wait_for(lambda: all(j.status() == "succeeded" for j in accepted[-5:]), 30, "results stored")
    wait_for(lambda: not held_job_ids(app), 30, "every job acknowledged")
    assert tasks["work"].delay(0.001).id  # room again once the queue drained
    report.update(
        scenario="maxmemory 4mb noeviction",
        jobs=len(accepted),
        lost=0,
        duplicated=sum(n - 1 for n in runlog.ended(runs).values()),
        dead=0,
    )
    assert pool.proc.poll() is None


def test_workers_warn_when_redis_may_evict_jobs(
    private_redis: Servers, jobq_cli: Start, namespace: str, runs: Path
) -> None:
    server = private_redis(extra=["--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"])
    pool = start_pool(jobq_cli, server.url, namespace, runs, 5.0, "-p", "1")
    wait_for(lambda: "redis.eviction_policy" in pool.output(), 20, "the eviction warning")
    assert "allkeys-lru" in pool.output()


def test_long_delays_and_retry_backoff_survive_restarts(
    private_redis: Servers, jobq_cli: Start, namespace: str, runs: Path, report: dict[str, object]
) -> None:
    server = private_redis(aof=True)
    app, tasks = producer(server.url, namespace, 3.0)
    client = app.broker.client
    hour = tasks["work"].enqueue(args=(0.0,), delay=3600)
    retried = tasks["fail_once"].delay()
    keys = app.broker.queue_keys("default")
    pool = start_pool(jobq_cli, server.url, namespace, runs, 3.0, "-p", "1")
    wait_for(lambda: retried.status() == "scheduled", 20, "the first attempt to fail into backoff")
    retry_due = client.zscore(keys.scheduled, retried.id)
    # Enqueued only now, so it is still due after the restarts however slow the pool's start
    # was on a loaded machine.
    soon = tasks["work"].enqueue(args=(0.0,), delay=4.0)
    due = {j.id: client.zscore(keys.scheduled, j.id) for j in (hour, soon)}
    pool.kill_group()
    server.kill()
    server.start()
    assert client.zscore(keys.scheduled, hour.id) == due[hour.id]
    assert hour.status() == "scheduled" and soon.status() == "scheduled"
    restarted_ms = redis_time(client) * 1000
    start_pool(jobq_cli, server.url, namespace, runs, 3.0, "-p", "1")
    workers = NamespaceKeys(namespace).workers
    wait_for(lambda: client.zcount(workers, restarted_ms, "+inf") > 0, 30, "the new pool's first heartbeat")
    ready_ms = min(score for _, score in client.zrangebyscore(workers, restarted_ms, "+inf", withscores=True))
    wait_for(
        lambda: soon.status() == "succeeded" and retried.status() == "succeeded",
        30,
        "the delayed job and the retry to run",
    )
    starts = {r.job_id: r.at for r in runlog.read(runs) if r.kind == "S" or r.kind == "E"}
    # Late from its due time, or from the moment a worker was back if that came after it.
    soon_late = starts[soon.id] * 1000 - max(due[soon.id], ready_ms)
    assert starts[soon.id] * 1000 >= due[soon.id], "the delayed job ran before its due time"
    assert soon_late < 1500, f"ran {soon_late:.0f} ms after its due time (or the pool's return)"
    second = max(r.at for r in runlog.read(runs) if r.job_id == retried.id and r.kind == "S")
    assert second * 1000 >= retry_due - 50
    assert hour.status() == "scheduled"
    report.update(
        scenario="delays across Redis + worker restart",
        jobs=3,
        lost=0,
        duplicated=0,
        dead=0,
        delayed_ran_late_ms=round(soon_late),
    )


FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


@pytest.mark.skipif(not os.path.exists(FAKETIME), reason="libfaketime not installed (apt faketime)")
def test_a_worker_with_a_skewed_clock_neither_steals_nor_runs_early(
    jobq_cli: Start, redis_server: RedisServer, namespace: str, runs: Path
) -> None:
    vt = 1.0
    app, tasks = producer(redis_server.url, namespace, vt)
    # Not FAKETIME_DONT_FAKE_MONOTONIC: with it, time.sleep fails with EINVAL under
    # libfaketime 0.9.10 and the skewed pool's supervisor dies at once.
    skewed = {"LD_PRELOAD": FAKETIME, "FAKETIME": "+30s", "FAKETIME_DONT_RESET": "1"}
    long_job = tasks["work"].delay(4.0)
    start_pool(jobq_cli, redis_server.url, namespace, runs, vt, "-p", "1", "-c", "1")
    wait_for(lambda: long_job.status() == "running", 20, "the long job to start on a true clock")
    skew_pool = start_pool(jobq_cli, redis_server.url, namespace, runs, vt, "-p", "1", "-c", "2", **skewed)
    probe = subprocess.run(
        [sys.executable, "-c", "import time; time.sleep(0.01); print(time.time())"],
        env={**os.environ, **skewed},
        capture_output=True,
        text=True,
        check=True,
    )
    assert float(probe.stdout) - time.time() > 25, "faketime did not skew the clock"
    delayed = tasks["work"].enqueue(args=(0.0,), delay=3.0)
    due_ms = app.broker.client.zscore(app.broker.queue_keys("default").scheduled, delayed.id)
    wait_for(lambda: long_job.status() == "succeeded" and delayed.status() == "succeeded", 30, "both jobs")
    assert runlog.started(runs)[long_job.id] == 1, "the skewed worker stole a live job"
    [start] = [r.at for r in runlog.read(runs) if r.job_id == delayed.id and r.kind == "S"]
    if any(r.pid in skew_pool.children() for r in runlog.read(runs) if r.job_id == delayed.id):
        start -= 30  # its clock is 30 s ahead
    assert start * 1000 >= due_ms - 50, "a delayed job ran early"
    assert skew_pool.proc.poll() is None and "Traceback" not in skew_pool.output(), "the skewed pool died"


def test_segfaulting_task_is_dead_lettered_after_its_attempts(
    jobq_cli: Start, redis_server: RedisServer, namespace: str, runs: Path
) -> None:
    _app, tasks = producer(redis_server.url, namespace, 1.0)
    job = tasks["segv"].delay()
    pool = start_pool(jobq_cli, redis_server.url, namespace, runs, 1.0, "-p", "1")
    wait_for(lambda: job.status() == "dead", 40, "the segfaulting job to be dead-lettered")
    assert runlog.started(runs)[job.id] == 2
    assert "signal 11" in pool.output()
    with pytest.raises(jobq.JobFailed, match="worker lost"):
        job.result()


def test_leaking_tasks_are_recycled_by_the_memory_limit(
    jobq_cli: Start, redis_server: RedisServer, namespace: str, runs: Path
) -> None:
    _, tasks = producer(redis_server.url, namespace, 5.0)
    jobs = tasks["leak"].delay_many([(40,)] * 8)
    pool = start_pool(
        jobq_cli,
        redis_server.url,
        namespace,
        runs,
        5.0,
        "-p",
        "1",
        "-c",
        "1",
        "--max-memory-per-child",
        "150",
    )
    wait_for(lambda: all(j.status() == "succeeded" for j in jobs), 60, "every leaking job")
    wait_for(lambda: "pool.child_recycled" in pool.output(), 20, "the recycled child")
    assert "worker.memory_limit" in pool.output()
    assert len({r.pid for r in runlog.read(runs)}) >= 2
