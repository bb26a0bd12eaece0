"""A worker must never sit on jobs it is not running (issue 11): a Redis outage that fails
task bodies and their settles alike must not wedge the process."""

from __future__ import annotations

import threading
from collections.abc import Callable

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

import jobq
from jobq.keys import GROUP
from jobq.testing import BackgroundWorker
from jobq.worker import Worker
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_for

Servers = Callable[..., RedisServer]
CONCURRENCY = 4


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
    assert all(int(done.get(j.id, 0)) >= 1 for j in jobs), "a job never completed its body"
    stream = app.broker.queue_keys("default").stream
    assert client.xpending(stream, GROUP)["pending"] == 0, "entries left pending"
    assert client.xlen(stream) == 0, "entries left in the stream"
    assert not worker.held and not worker.settler.pending
