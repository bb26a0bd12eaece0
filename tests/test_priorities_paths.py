"""Every path that queues a job again queues it at its priority level: purge, dead-letter
replay, cron, workflows and dependencies (real Redis)."""

from __future__ import annotations

import asyncio
from typing import Any

import jobq
from jobq import cron, dlq, records
from jobq.cli.inspect import purge_waiting
from jobq.testing import BackgroundWorker
from jobq.worker import Worker
from tests.support.jobq_run import one_error_line, run_main
from tests.support.priorities import level_of, run_in_steps
from tests.support.waiting import wait_for


def test_purge_cancels_waiting_jobs_of_every_level(app: jobq.App) -> None:
    @app.task(queue="purged")
    def noop() -> None: ...

    jobs = [noop.enqueue(priority=level) for level in (9, 5, 0)]
    later = noop.enqueue(priority=9, delay=60)
    assert purge_waiting(app, "purged", 10) == (3, 1)
    assert [j.status() for j in (*jobs, later)] == ["cancelled"] * 4
    k = app.broker.ns.queue("purged")
    assert [app.broker.client.xlen(k.level_stream(level)) for level in (9, 5, 0)] == [0, 0, 0]


def test_a_replayed_dead_letter_goes_back_to_its_level(app: jobq.App) -> None:
    runs: list[int] = []

    @app.task(queue="replay", priority=8)
    def picky() -> None:
        runs.append(1)
        if len(runs) == 1:
            raise jobq.Reject("not yet")

    job = picky.delay()
    run_in_steps(app, ["replay"], 1)
    assert job.status() == "dead"
    assert dlq.requeue(app.broker, "replay", [job.id]).requeued == [job.id]
    assert job.status() == "queued" and level_of(app, "replay", job.id) == 8
    run_in_steps(app, ["replay"], 1)
    assert job.status() == "succeeded" and len(runs) == 2


def test_cron_runs_and_workflow_steps_are_queued_at_the_tasks_level(app: jobq.App) -> None:
    @app.cron("0 0 1 1 *", queue="ticks", priority=9)
    def nightly() -> None: ...

    entry = cron.find_entry(app, nightly.name)
    assert entry is not None
    tick = cron.trigger(app, entry)
    assert level_of(app, "ticks", tick) == 9

    @app.task(queue="flows", priority=7)
    def first() -> int:
        return 1

    @app.task(queue="flows", priority=2)
    def second(x: int) -> int:
        return x + 1

    flow = jobq.chain(first.s(), second.s()).delay()
    k = app.broker.ns.queue("flows")
    assert app.broker.client.xlen(k.level_stream(7)) == 1
    parent = first.delay()
    child = second.enqueue(args=(0,), after=[parent])
    run_in_steps(app, ["flows"], 6)
    assert flow.result(timeout=5) == 2
    assert child.result(timeout=5) == 1
    assert [app.broker.client.xlen(k.level_stream(level)) for level in (7, 2)] == [0, 0]


def test_a_rate_limit_deferral_keeps_the_jobs_level(app: jobq.App) -> None:
    @app.task(queue="limited", priority=8, rate_limit="1/m")
    def call() -> None: ...

    first, second = call.delay(), call.delay()
    with BackgroundWorker(app, ["limited"], concurrency=2):
        wait_for(lambda: (first.status(), second.status()) == ("succeeded", "scheduled"), 10, "a deferral")
    assert level_of(app, "limited", second.id) == 8


def test_one_fetch_takes_no_more_than_asked_highest_level_first(app: jobq.App) -> None:
    @app.task(queue="bounded")
    def noop() -> None: ...

    for level in (0, 5, 9):
        noop.delay_many([()] * 10, priority=level)

    async def fetch() -> list[Any]:
        worker = Worker(app, ["bounded"], 2)
        try:
            await worker.setup()
            return await worker.fetcher.read(3, 20)
        finally:
            await worker.close()

    entries = asyncio.run(fetch())
    refs = [ref for _, items in entries for ref, _ in items]
    assert len(refs) == 3 and all(records.level_of(ref)[0] == 9 for ref in refs)
    levelled = app.broker.ns.queue("bounded").level_stream
    assert [app.broker.client.xlen(levelled(level)) for level in (0, 5, 9)] == [10, 10, 10]


def test_the_enqueue_command_takes_a_priority_and_refuses_a_bad_one(app: jobq.App) -> None:
    where = ["--redis-url", app.config.redis_url, "--namespace", app.config.namespace]
    proc = run_main(["enqueue", "tests.apps.core_app", "work", "0.01", "--priority", "9", *where])
    assert proc.returncode == 0, proc.stderr
    assert level_of(app, "default", proc.stdout.strip()) == 9
    bad = run_main(["enqueue", "tests.apps.core_app", "work", "0.01", "--priority", "10", *where])
    assert bad.returncode == 2 and "--priority" in one_error_line(bad)
    assert app.broker.client.xlen(app.broker.ns.queue("default").level_stream(9)) == 1


def test_an_idle_worker_blocks_on_every_level_and_wakes_for_any(app: jobq.App) -> None:
    @app.task(queue="idle")
    def noop() -> None: ...

    noop.enqueue(priority=9)
    run_in_steps(app, ["idle"], 1)  # the queue now uses level 9, and every stream is empty

    async def fetch() -> list[Any]:
        worker = Worker(app, ["idle"], 2)
        try:
            await worker.setup()
            assert await worker.fetcher.read(2, 50) == []
            later = asyncio.get_running_loop().call_later(0.2, lambda: noop.enqueue(priority=9))
            try:
                return await worker.fetcher.read(2, 5000)  # blocks on level 9 and level 5 at once
            finally:
                later.cancel()
        finally:
            await worker.close()

    (stream, [(ref, _)]), *rest = asyncio.run(fetch())
    assert not rest and stream == app.broker.ns.queue("idle").level_stream(9)
    assert records.level_of(ref)[0] == 9
