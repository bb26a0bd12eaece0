"""Priorities within a queue: higher levels start first, every job operation finds a job at
its level, and a bad priority is refused before anything is enqueued (real Redis)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import jobq
from jobq import records
from jobq.worker import Worker


def run_steps(app: jobq.App, queues: list[str], steps: int, concurrency: int = 1) -> None:
    """Step one in-process worker `steps` times (each step: promote, read, run, settle)."""

    async def work() -> None:
        worker = Worker(app, queues, concurrency)
        try:
            for _ in range(steps):
                await worker.step(block_ms=20)
        finally:
            await worker.close()

    asyncio.run(work())


def record_of(app: jobq.App, queue: str, job_id: str) -> str:
    found: Any = app.broker.client.hget(app.broker.ns.queue(queue).jobs, job_id)
    return str(found)


def test_higher_levels_start_first_and_the_default_level_keeps_its_stream(app: jobq.App) -> None:
    order: list[str] = []

    @app.task(queue="prio")
    def note(label: str) -> None:
        order.append(label)

    @app.task(queue="prio", priority=8)
    def urgent(label: str) -> None:
        order.append(label)

    note.delay_many([("low",)] * 2)  # the default level, 5
    for label in ("zero-a", "zero-b"):
        note.enqueue(args=(label,), priority=0)
    for label in ("nine-a", "nine-b"):
        note.enqueue(args=(label,), priority=9)
    urgent.delay("eight")
    k = app.broker.ns.queue("prio")
    assert app.broker.client.xlen(k.stream) == 2  # level 5 stays on the queue's own stream
    assert app.broker.client.xlen(k.level_stream(9)) == 2
    assert sorted(int(x) for x in app.broker.client.smembers(k.levels)) == [0, 8, 9]
    run_steps(app, ["prio"], 8)
    assert order == ["nine-a", "nine-b", "eight", "low", "low", "zero-a", "zero-b"]
    for level in (0, 5, 8, 9):  # every entry acknowledged and deleted on its own stream
        assert app.broker.client.xlen(k.level_stream(level)) == 0


@pytest.mark.parametrize("bad", [10, -1, "high", True, 2.0])
def test_a_bad_priority_is_refused_and_nothing_is_enqueued(app: jobq.App, bad: Any) -> None:
    with pytest.raises(jobq.ConfigError, match="priority"):
        app.task(name="bad.decorated", priority=bad)(lambda: None)

    @app.task(name="fine", queue="badprio")
    def fine() -> None: ...

    with pytest.raises(jobq.ConfigError, match="priority"):
        fine.enqueue(priority=bad)
    with pytest.raises(jobq.ConfigError, match="priority"):
        app.submit("fine", priority=bad)
    k = app.broker.ns.queue("badprio")
    assert app.broker.client.exists(k.stream, k.levels, k.jobs) == 0


def test_a_retry_keeps_its_level_and_status_and_cancel_find_it(app: jobq.App) -> None:
    attempts: list[int] = []

    @app.task(queue="again", retries=2, backoff=0)
    def flaky() -> str:
        attempts.append(jobq.current_job().attempt)
        if len(attempts) == 1:
            raise RuntimeError("first try fails")
        return "ok"

    @app.task(queue="again")
    def idle() -> None: ...

    job = flaky.enqueue(priority=7)
    record = record_of(app, "again", job.id)
    assert records.job_record(record)[0] == records.QUEUED
    assert records.level_of(records.job_record(record)[1])[0] == 7
    assert job.status() == "queued"
    waiting = idle.enqueue(priority=2)
    assert waiting.cancel() is True and waiting.status() == "cancelled"
    assert app.broker.client.xlen(app.broker.ns.queue("again").level_stream(2)) == 0
    run_steps(app, ["again"], 4)
    assert attempts == [1, 2]
    assert job.result(timeout=5) == "ok"


def test_a_scheduled_job_comes_back_at_its_level(app: jobq.App) -> None:
    order: list[str] = []

    @app.task(queue="later")
    def note(label: str) -> None:
        order.append(label)

    note.delay_many([("plain",)] * 2)
    job = note.enqueue(args=("high",), priority=9, delay=0.05)
    assert job.status() == "scheduled"
    assert records.level_of(records.job_record(record_of(app, "later", job.id))[1])[0] == 9

    async def work() -> None:
        worker = Worker(app, ["later"], 1)
        try:
            await asyncio.sleep(0.1)  # due now: the first step's promote moves it
            for _ in range(3):
                await worker.step(block_ms=20)
        finally:
            await worker.close()

    asyncio.run(work())
    assert order == ["high", "plain", "plain"]
