"""A stop cuts an idle worker's blocking read short, and whatever that read delivered
runs before the worker stops (jobq.worker.stoppable)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest
import redis

import jobq
from jobq.flow import DEFAULT_PRIORITY
from jobq.keys import GROUP, NamespaceKeys
from jobq.worker import Worker
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_for

# A read blocks this long (under the client's 5 s socket timeout); a stopped worker ends
# within STOPPED_S, ~30x what it needs, so only an interrupt of the read lets it.
BLOCK_MS = 4_500
STOPPED_S = 2.5


class Running:
    """A Worker running in a thread of its own, as in a worker process."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.exit_code: int | None = None
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.exit_code = self.loop.run_until_complete(self.worker.run())

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.worker.stop, "test")

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the stopped worker was still in its blocking read"
        assert self.exit_code == 0


def blocked(r: redis.Redis) -> Callable[[], bool]:
    return lambda: int(r.info("clients")["blocked_clients"]) == 1


def test_an_idle_worker_stops_without_waiting_out_its_read(
    private_redis: Callable[..., RedisServer], namespace: str
) -> None:
    server = private_redis()
    app = jobq.App(server.url, namespace=namespace)
    running = Running(Worker(app, ["default"], 2, block_ms=BLOCK_MS))
    wait_for(blocked(server.client()), 20, "the worker to block in its read")
    running.stop()
    running.join(STOPPED_S)


def cut_read_delivered(r: redis.Redis, stream: str, app: jobq.App) -> None:
    """Deliver the stream's next entry to the worker's consumer, as a read cut by the stop
    may have done, never seen by the worker (its own reads of new entries find nothing);
    then start the worker, and stop it once it blocks in its read."""
    assert r.xreadgroup(GROUP, "cut-reader", {stream: ">"}, count=1)
    running = Running(Worker(app, ["default"], 2, worker_id="cut-reader", block_ms=BLOCK_MS))
    wait_for(blocked(r), 20, "the worker to block in its read")
    running.stop()
    running.join(STOPPED_S)


@pytest.mark.parametrize("priority", [DEFAULT_PRIORITY, 9])
def test_entries_delivered_to_a_cut_read_run_before_the_worker_stops(
    private_redis: Callable[..., RedisServer], namespace: str, priority: int
) -> None:
    server = private_redis()
    r = server.client()
    app = jobq.App(server.url, namespace=namespace)
    ran: list[int] = []

    @app.task(priority=priority)
    def note(n: int) -> None:
        ran.append(n)

    keys = NamespaceKeys(namespace).queue("default")
    if priority == DEFAULT_PRIORITY:
        stream = keys.stream
        r.xgroup_create(stream, GROUP, id="0", mkstream=True)
    else:  # the first job at a level makes the level's stream and its group
        stream = keys.level_stream(priority)
    job = note.delay(7)
    cut_read_delivered(r, stream, app)
    assert ran == [7]
    assert job.status() == "succeeded"
    assert r.xpending(stream, GROUP)["pending"] == 0
