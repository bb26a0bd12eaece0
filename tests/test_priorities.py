"""Priorities within a queue: higher levels start first, every job operation finds a job at
its level, and a bad priority is refused before anything is enqueued (real Redis)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

import jobq
from jobq import explain, metrics, records, stats
from jobq.testing import BackgroundWorker
from jobq.worker import Worker
from tests.support.priorities import level_of, run_in_steps


def test_higher_levels_start_first_and_the_default_level_keeps_its_stream(app: jobq.App) -> None:
    order: list[str] = []

    @app.task(queue="prio")
    def note(label: str) -> None:
        order.append(label)

    @app.task(queue="prio", priority=8)
    def urgent(label: str) -> None:
        order.append(label)

    note.delay_many([("low",)] * 2)  # the default level, 5
    note.delay_many([("seven",)], priority=7)
    for label in ("zero-a", "zero-b"):
        note.enqueue(args=(label,), priority=0)
    for label in ("nine-a", "nine-b"):
        note.enqueue(args=(label,), priority=9)
    urgent.delay("eight")
    k = app.broker.ns.queue("prio")
    assert app.broker.client.xlen(k.stream) == 2  # level 5 stays on the queue's own stream
    assert app.broker.client.xlen(k.level_stream(9)) == 2
    assert sorted(int(x) for x in app.broker.client.smembers(k.levels)) == [0, 7, 8, 9]
    run_in_steps(app, ["prio"], 9)
    assert order == ["nine-a", "nine-b", "eight", "seven", "low", "low", "zero-a", "zero-b"]
    for level in (0, 5, 7, 8, 9):  # every entry acknowledged and deleted on its own stream
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
    with pytest.raises(jobq.ConfigError, match="priority"):
        fine.delay_many([()] * 3, priority=bad)
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
    record: Any = app.broker.client.hget(app.broker.ns.queue("again").jobs, job.id)
    assert records.job_record(str(record))[0] == records.QUEUED and level_of(app, "again", job.id) == 7
    assert job.status() == "queued"
    waiting = idle.enqueue(priority=2)
    assert waiting.cancel() is True and waiting.status() == "cancelled"
    assert app.broker.client.xlen(app.broker.ns.queue("again").level_stream(2)) == 0
    run_in_steps(app, ["again"], 4)
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
    assert level_of(app, "later", job.id) == 9

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


def test_stats_count_every_level_and_show_each_levels_backlog(app: jobq.App) -> None:
    @app.task(queue="seen")
    def noop() -> None: ...

    noop.delay_many([()] * 2)
    for level, n in ((9, 3), (0, 1)):
        for _ in range(n):
            noop.enqueue(priority=level)
    row = stats.to_json(stats.snapshot(app.broker, ["seen"]))["queues"][0]
    assert row["backlog"] == 6 and row["in_flight"] == 0
    assert row["priorities"] == {"9": 3, "5": 2, "0": 1}
    assert row["oldest_age_s"] >= 0.0
    plain = stats.to_json(stats.snapshot(app.broker, ["untouched"]))["queues"][0]
    assert plain["priorities"] == {"5": 0}


def test_a_killed_workers_high_level_entry_is_reclaimed(redis_url: str, namespace: str) -> None:
    app = jobq.App(redis_url, namespace=namespace, visibility_timeout=0.5)

    @app.task(queue="lost", priority=9)
    def important() -> str:
        return "ran"

    job = important.delay()
    stream = app.broker.ns.queue("lost").level_stream(9)
    taken: Any = app.broker.client.xreadgroup("jobq", "dead-worker", {stream: ">"}, count=1)
    assert taken and job.status() == "running"  # held by a consumer that will never settle it
    with BackgroundWorker(app, ["lost"], concurrency=2):
        assert job.result(timeout=15) == "ran"
    assert app.broker.client.xlen(stream) == 0


def test_aging_lets_a_low_job_run_under_a_constant_stream_of_high_jobs(
    redis_url: str, namespace: str
) -> None:
    app = jobq.App(redis_url, namespace=namespace, priority_aging=0.2)

    @app.task(queue="aging", priority=9)
    def high() -> None:
        time.sleep(0.002)

    @app.task(queue="aging", priority=0)
    def low() -> None: ...

    high.delay_many([()] * 20)
    starved = low.delay()
    high_stream = app.broker.ns.queue("aging").level_stream(9)
    deadline = time.monotonic() + 15
    with BackgroundWorker(app, ["aging"], concurrency=1):
        while starved.status() != "succeeded":
            assert time.monotonic() < deadline, "the low job never ran"
            if app.broker.client.xlen(high_stream) < 20:
                high.delay_many([()] * 20)  # the high level never runs dry
            time.sleep(0.01)
        assert app.broker.client.xlen(high_stream) > 0  # it ran while high jobs still waited


def test_job_show_explain_and_the_exporter_see_the_levels(app: jobq.App) -> None:
    @app.task(queue="shown")
    def noop() -> None: ...

    high = noop.enqueue(priority=9)
    later = noop.enqueue(priority=3, delay=60)
    noop.delay()
    facts = explain.gather(app, high.id)
    assert explain.summary(facts, "queued")["priority"] == 9
    assert any("at priority 9" in line for line in explain.explain(facts))
    assert explain.summary(explain.gather(app, later.id), "scheduled")["priority"] == 3
    replies: list[str] = []
    served = metrics.wsgi_app(app)
    body = served({"PATH_INFO": "/queues/shown"}, lambda status, headers: replies.append(status))
    assert replies == ["200 OK"]
    row = json.loads(b"".join(body))
    assert row["backlog"] == 2 and row["priorities"] == {"9": 1, "5": 1, "3": 0}
    environ = {"PATH_INFO": "/metrics", "REQUEST_METHOD": "GET"}
    text = b"".join(served(environ, lambda *_: None)).decode()
    assert 'jobq_queue_priority_backlog{priority="9",queue="shown"} 1.0' in text
    assert 'jobq_queue_backlog{queue="shown"} 2.0' in text
