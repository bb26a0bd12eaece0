"""The producer's direct line (jobq.broker.direct): every way off it still enqueues each
job exactly once - a flushed script cache, a killed connection, threads, a fork."""

from __future__ import annotations

import multiprocessing
import threading
from multiprocessing.synchronize import Event

import pytest

import jobq
from jobq.broker import Broker
from jobq.protocol import NewJob
from tests.support.redis_server import RedisServer


def _app(url: str, namespace: str) -> tuple[jobq.App, jobq.Task[[int], None]]:
    app = jobq.App(url, namespace=namespace)

    @app.task(name="noop")
    def noop(i: int) -> None: ...

    return app, noop


def _queued(server: RedisServer, app: jobq.App) -> tuple[int, int]:
    """(stream entries, job records) of the default queue."""
    k = app.broker.queue_keys("default")
    client = server.client()
    return client.xlen(k.stream), client.hlen(k.jobs)


def test_a_flushed_script_cache_is_loaded_again(redis_server: RedisServer, namespace: str) -> None:
    app, noop = _app(redis_server.url, namespace)
    noop.delay(1)
    redis_server.client().script_flush()
    job = noop.delay(2)
    assert job.status() == "queued"
    assert _queued(redis_server, app) == (2, 2)


def test_a_killed_connection_is_replaced_and_the_job_sent_once(
    private_redis: type[RedisServer], namespace: str
) -> None:
    server = private_redis()
    app, noop = _app(server.url, namespace)
    noop.delay(1)
    killed = server.client().client_kill_filter(_type="normal", skipme=True)
    assert killed >= 1
    noop.delay(2)
    assert _queued(server, app) == (2, 2)


def test_threads_enqueueing_at_once_each_record_every_job(redis_server: RedisServer, namespace: str) -> None:
    app, noop = _app(redis_server.url, namespace)
    ids: list[str] = []

    def send(base: int) -> None:
        ids.extend(noop.delay(base + i).id for i in range(100))

    threads = [threading.Thread(target=send, args=(n * 100,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 600
    assert _queued(redis_server, app) == (600, 600)


def _scripted_connections(server: RedisServer) -> int:
    return sum(c["cmd"] == "evalsha" for c in server.client().client_list())


def _child_enqueues(broker: Broker, sent: Event, done: Event) -> None:
    broker.enqueue("default", [NewJob("child", "{}")])
    sent.set()
    done.wait(30)  # keeps its connection open while the parent looks


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_a_forked_child_enqueues_on_its_own_connection(
    private_redis: type[RedisServer], namespace: str
) -> None:
    server = private_redis()
    app, noop = _app(server.url, namespace)
    noop.delay(1)  # the parent's line is connected before the fork
    # the App makes a new Broker in a forked child; a Broker kept across the fork must not
    # send on its parent's connection either
    before = _scripted_connections(server)
    ctx = multiprocessing.get_context("fork")
    sent, done = ctx.Event(), ctx.Event()
    child = ctx.Process(target=_child_enqueues, args=(app.broker, sent, done))
    child.start()
    try:
        assert sent.wait(30)
        assert _scripted_connections(server) == before + 1, "the child sent on the parent's connection"
    finally:
        done.set()
        child.join(30)
    assert child.exitcode == 0
    noop.delay(3)
    assert _queued(server, app) == (3, 3)
