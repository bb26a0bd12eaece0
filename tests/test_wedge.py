"""A worker must never sit on jobs it is not running (issue 11): a Redis outage that fails
task bodies and their settles alike must not wedge the process."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from structlog.testing import capture_logs

import jobq
from jobq.keys import GROUP
from jobq.testing import BackgroundWorker
from jobq.worker import Worker
from jobq.worker.consumer import EXIT_RECYCLE
from tests.support import runlog
from tests.support.corepool import Start, producer
from tests.support.jobq_run import run_main
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_for

Servers = Callable[..., RedisServer]
CONCURRENCY = 4
CONTRACT_WORKER_KEYS = ("id", "host", "pid", "queues", "busy", "concurrency", "last_seen_s")


def outage_app(
    server: RedisServer, namespace: str
) -> tuple[jobq.App, jobq.Task[[str], None], dict[str, threading.Event], list[str]]:
    """An app whose task writes to the same Redis before and after waiting on a gate, so a
    body caught by an outage fails (and is retried) just as its settle cannot be written."""
    app = jobq.App(server.url, namespace=namespace, visibility_timeout=5.0)
    gates = {"a": threading.Event(), "b": threading.Event()}
    started: list[str] = []
    body = redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=5, retry=Retry(NoBackoff(), 0))
    done_key = f"{namespace}-test-done"

    @app.task(name="probe", retries=20, backoff=0.05, backoff_max=0.2)
    def probe(gate: str) -> None:
        info = jobq.current_job()
        body.hincrby(done_key, f"start:{info.id}", 1)
        started.append(gate)
        if gate:
            assert gates[gate].wait(60), "gate never opened"
        body.hincrby(done_key, info.id, 1)

    return app, probe, gates, started


def settle_failed(worker: Worker) -> bool:
    """Nothing runs, every held entry waits in the settler, and its last flush failed: a
    flush swaps `pending` out while it writes and puts it back only when the write failed,
    and the wake-up that started it is cleared first."""
    settler = worker.settler
    return not worker.running and len(settler.pending) == len(worker.held) > 0 and not settler.wake.is_set()


def describe(worker: Worker) -> str:
    return (
        f"held={len(worker.held)} running={worker.running} ready={len(worker.runner.ready)} "
        f"unsettled={len(worker.settler.pending)}"
    )


def test_settles_that_fail_during_an_outage_are_retried_and_never_wedge_the_worker(
    private_redis: Servers, namespace: str
) -> None:
    """Two outages: the first fails 4 bodies and their settle, the restart lets the worker
    fetch 4 more, the second fails those too. Held entries then reach the fetch cap
    (2 x concurrency), all finished, none settled: before the fix nothing ever woke the
    settler again, so the process renewed 8 leases forever and ran nothing."""
    server = private_redis(aof=True, extra=["--appendfsync", "always"])
    app, probe, gates, started = outage_app(server, namespace)
    first = probe.delay_many([("a",)] * CONCURRENCY)
    second = probe.delay_many([("b",)] * CONCURRENCY)
    rest = probe.delay_many([("",)] * 12)
    running = BackgroundWorker(app, ["default"], CONCURRENCY).start()
    worker = running.worker
    try:
        wait_for(lambda: started.count("a") == CONCURRENCY, 30, "the first four jobs to run")
        server.kill()
        gates["a"].set()
        wait_for(lambda: settle_failed(worker), 30, "their settle to fail")
        server.start()
        wait_for(lambda: started.count("b") == CONCURRENCY, 30, "the worker to fetch four more")
        server.kill()
        gates["b"].set()
        wait_for(lambda: settle_failed(worker), 30, "the second settle to fail")
        server.start()
        jobs = first + second + rest
        wait_for(
            lambda: all(j.status() == "succeeded" for j in jobs),
            30,
            f"every job to succeed after the outages ({describe(worker)})",
        )
    finally:
        running.stop()
    assert running.exit_code == 0
    client = server.client()
    done = client.hgetall(f"{namespace}-test-done")
    completions = [int(done.get(j.id, 0)) for j in jobs]
    assert 0 not in completions, "a job never completed its body"
    # The worker lived and no outage outlasted the visibility timeout: nothing may run twice
    # (a stalled worker whose leases lapse and are reclaimed would run jobs again).
    assert set(completions) == {1}, f"a job completed twice: {completions}"
    stream = app.broker.queue_keys("default").stream
    assert client.xpending(stream, GROUP)["pending"] == 0, "entries left pending"
    assert client.xlen(stream) == 0, "entries left in the stream"
    assert not worker.held and not worker.settler.pending


# the watchdog (item 2): a process that holds jobs it does not run says so and is replaced


def stats_json(url: str, namespace: str) -> dict[str, Any]:
    done = run_main(["stats", "--json", "--redis-url", url, "--namespace", namespace])
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_a_wedged_worker_is_named_everywhere_then_exits_and_its_jobs_run_elsewhere(
    redis_server: RedisServer, jobq_cli: Start, namespace: str, runs: Path, tmp_path: Path
) -> None:
    """tests/apps/wedge_app.py makes the pool's first process take jobs and never start
    them: in_flight 4, busy 0, leases renewed, as the wedge of issue 11 looked."""
    vt, url = 6.0, redis_server.url
    app, tasks = producer(url, namespace, vt)
    jobs = tasks["work"].delay_many([(0.01,)] * 12)
    pool = jobq_cli(
        ["worker", "wedge_app", "-p", "1", "-c", str(CONCURRENCY), "--log-format", "json"],
        url,
        JOBQ_NAMESPACE=namespace,
        JOBQ_RUN_LOG=str(runs),
        JOBQ_VT=str(vt),
        JOBQ_WEDGE_MARKER=str(tmp_path / "wedged"),
    )
    dashboard = jobq_cli(["dashboard", "--refresh", "0.2", "--namespace", namespace], url)

    def stalled_worker() -> dict[str, Any] | None:
        workers = [w for w in stats_json(url, namespace)["workers"] if w["stalled"]]
        return workers[0] if workers else None

    w = wait_for(stalled_worker, 20, "stats to name the stalled worker")
    assert (w["held"], w["ready"], w["busy"], w["stalled"]) == (4, 4, 0, 4)
    assert set(CONTRACT_WORKER_KEYS) <= set(w)
    text = run_main(["stats", "--redis-url", url, "--namespace", namespace]).stdout
    assert f"warning: worker {w['id']} holds 4 job(s) it is not running" in text
    said = run_main(["explain", jobs[0].id, "--redis-url", url, "--namespace", namespace]).stdout
    assert f"held by worker {w['id']}" in said and "but not running" in said, said
    wait_for(lambda: f"⚠ worker {w['id']} holds 4 job(s)" in dashboard.output(), 20, "the dashboard note")

    def idle_ms() -> list[int]:
        stream = app.broker.queue_keys("default").stream
        entries = app.broker.client.xpending_range(stream, GROUP, "-", "+", 10, consumername=w["id"])
        return [int(e["time_since_delivered"]) for e in entries]

    wait_for(lambda: [ms > 2000 for ms in idle_ms()] == [True] * 4, 20, "the stalled leases to go unrenewed")
    assert stalled_worker() is not None, "the worker still lives, and no longer renews what it stalls on"

    wait_for(lambda: "worker.wedged" in pool.output(), 30, "the watchdog to report the wedge")
    wait_for(lambda: all(j.status() == "succeeded" for j in jobs), 60, "every job to succeed elsewhere")
    events = [json.loads(line) for line in pool.output().splitlines() if '"worker.wedged"' in line]
    assert len(events) == 1, "the wedge is reported once"
    assert events[0]["level"] == "error" and events[0]["worker"] == w["id"]
    assert (events[0]["held"], events[0]["ready"], events[0]["running"]) == (4, 4, 0)
    assert "pool.child_recycled" in pool.output()
    assert w["pid"] not in pool.children() and pool.children(), "the wedged process was replaced"
    ran = runlog.read(runs)
    assert {r.job_id for r in ran if r.kind == "E"} == {j.id for j in jobs}, "a job was lost"
    assert w["pid"] not in {r.pid for r in ran}, "the wedged process ran nothing"
    assert pool.proc.poll() is None


def test_outcomes_never_written_while_redis_answers_make_the_worker_exit(
    redis_server: RedisServer, namespace: str
) -> None:
    """The other stall: finished jobs whose outcome is never written (here the settler is
    switched off, as the wedge of item 1 left it). The worker reports the wedge once,
    stops renewing and exits with the code that makes its pool replace it."""
    app = jobq.App(redis_server.url, namespace=namespace, visibility_timeout=1.0)

    # retries=0: the leases it stops renewing lapse and the worker reclaims its own entries;
    # with no attempts left they are refused at once instead of re-run four times (28 s).
    @app.task(name="quick", retries=0)
    def quick() -> None:
        return None

    jobs = quick.delay_many([()] * CONCURRENCY)
    background = BackgroundWorker(app, ["default"], CONCURRENCY)
    settler = background.worker.settler

    async def never_flush() -> None:
        while not settler.closing:
            await asyncio.sleep(0.05)

    settler.run = never_flush  # type: ignore[method-assign]
    with capture_logs() as logs:
        background.start()
        wait_for(lambda: not background.alive, 30, "the wedged worker to exit")
        background.stop()
    wedged = [e for e in logs if e["event"] == "worker.wedged"]
    assert len(wedged) == 1 and wedged[0]["log_level"] == "error"
    assert (wedged[0]["held"], wedged[0]["unsettled"], wedged[0]["running"]) == (CONCURRENCY, CONCURRENCY, 0)
    assert background.exit_code == EXIT_RECYCLE
    assert all(j.status() == "succeeded" for j in jobs), "its last settle still wrote what it could"
