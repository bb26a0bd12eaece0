"""While the sync bursts a worker waits for come back in time, it reads several bursts at once
(Runner.room); it still never runs more than `concurrency` jobs, and slow jobs end the
read-ahead."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

import jobq
from jobq.worker import Worker, threads
from jobq.worker.latency import LatencyWindow
from jobq.worker.running import READ_BURSTS, Runner

CONCURRENCY = 4


def test_the_room_of_a_read_is_several_bursts_only_while_bursts_come_back_quick() -> None:
    async def main() -> None:
        runner = Runner(CONCURRENCY, LatencyWindow(), lambda done: None, lambda why: None)
        runner.bind(asyncio.get_running_loop())
        assert runner.room(0) == CONCURRENCY
        runner.threads.quick = True
        assert runner.room(0) == READ_BURSTS * CONCURRENCY
        held = (2 * READ_BURSTS - 1) * CONCURRENCY
        assert runner.room(held) == CONCURRENCY  # held: at most 2 x the slots read
        runner.running = 1
        assert runner.room(1) == READ_BURSTS * CONCURRENCY - 1
        runner.threads.quick = False
        assert runner.room(1) == CONCURRENCY - 1
        runner.shutdown()

    asyncio.run(main())


def test_reading_ahead_never_runs_more_than_the_concurrency(
    app: jobq.App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(threads, "LEND_S", 0.05)  # quick bursts: in time on a busy machine too
    lock = threading.Lock()
    state = {"active": 0, "peak": 0}
    ran: list[int] = []

    @app.task(name="read_ahead.work")
    def work(i: int, slow: bool) -> None:
        with lock:
            state["active"] += 1
            state["peak"] = max(state["peak"], state["active"])
        if slow:
            time.sleep(0.15)  # outlasts LEND_S: the read-ahead stops
        with lock:
            state["active"] -= 1
            ran.append(i)

    calls = [(i, False) for i in range(200)] + [(i, True) for i in range(200, 208)]
    calls += [(i, False) for i in range(208, 300)]
    work.delay_many(calls)
    worker = Worker(app, ["default"], CONCURRENCY, burst=True)
    asked: list[int] = []
    read = worker.fetcher.read

    async def counting_read(count: int, block_ms: int) -> Any:
        asked.append(count)
        return await read(count, block_ms)

    worker.fetcher.read = counting_read  # type: ignore[method-assign]
    assert asyncio.run(worker.run()) == 0
    assert sorted(ran) == list(range(300))  # every job once
    assert state["peak"] <= CONCURRENCY
    assert READ_BURSTS * CONCURRENCY in asked  # quick bursts: several read at once
    ahead = asked.index(READ_BURSTS * CONCURRENCY)
    assert any(n <= CONCURRENCY for n in asked[ahead:])  # the slow jobs ended it


def test_a_worker_reads_no_further_than_its_max_jobs(app: jobq.App) -> None:
    ran: list[int] = []

    @app.task(name="read_ahead.counted")
    def counted(i: int) -> None:
        ran.append(i)

    counted.delay_many([(i,) for i in range(40)])
    worker = Worker(app, ["default"], CONCURRENCY, max_jobs=10)
    assert asyncio.run(worker.run()) == 3  # recycled by its pool
    assert sorted(ran) == list(range(10))  # read ahead, yet not one job past its ten
