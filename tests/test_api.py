"""The Python API the README shows, against a real redis-server, with an in-process worker."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import pytest
import redis

import jobq
from jobq.keys import NamespaceKeys
from tests.support.inproc import work_until


def dead_entries(app: jobq.App, queue: str = "default") -> list[dict[str, object]]:
    client = redis.Redis.from_url(app.config.redis_url, decode_responses=True)
    entries = client.xrange(NamespaceKeys(app.config.namespace).queue(queue).dead)
    return [json.loads(fields["d"]) for _, fields in entries]  # type: ignore[union-attr]


def test_plain_call_runs_inline(app: jobq.App) -> None:
    @app.task
    def add(x: int, y: int) -> int:
        return x + y

    assert add(1, 2) == 3
    assert add.name.endswith("add")


def test_delay_status_and_result(app: jobq.App) -> None:
    @app.task
    def add(x: int, y: int) -> int:
        return x + y

    job = add.delay(2, 3)
    assert job.status() == "queued"
    assert app.job(job.id).status() == "queued"
    work_until(app, lambda: job.status() == "succeeded")
    assert job.result(timeout=1) == 5
    assert app.job(job.id).result() == 5


def test_a_settle_wakes_every_caller_waiting_for_its_jobs(app: jobq.App) -> None:
    """Callers blocked in Job.result() are counted per job; the settle that finishes a job
    pushes one wake-up for each of them (and none for a job nobody waits for)."""

    @app.task(name="api.echo")
    def echo(x: int) -> int:
        return x

    jobs = echo.delay_many([(i,) for i in range(3)])
    k = app.broker.ns.queue("default")
    app.broker.client.hincrby(k.waiters, jobs[0].id, 2)
    app.broker.client.hincrby(k.waiters, jobs[2].id, 1)
    work_until(app, lambda: all(j.status() == "succeeded" for j in jobs))
    assert [app.broker.client.llen(k.notify(j.id)) for j in jobs] == [2, 0, 1]


def test_async_task_and_current_job(app: jobq.App) -> None:
    seen: list[jobq.JobInfo] = []

    @app.task(name="who", queue="q2")
    async def who(x: int) -> dict[str, object]:
        await asyncio.sleep(0)
        seen.append(jobq.current_job())
        return {"x": x}

    job = who.delay(7)
    work_until(app, lambda: seen, queues=["q2"])
    assert job.result(timeout=5) == {"x": 7}
    info = seen[0]
    assert (info.id, info.task, info.queue, info.attempt) == (job.id, "who", "q2", 1)
    assert info.enqueued_at > 0


def test_retry_then_success_counts_attempts(app: jobq.App) -> None:
    attempts: list[int] = []

    @app.task(retries=3, backoff=0.01)
    def flaky() -> str:
        attempts.append(jobq.current_job().attempt)
        if len(attempts) < 3:
            raise ConnectionError("transient")
        return "ok"

    job = flaky.delay()
    work_until(app, lambda: job.status() == "succeeded")
    assert attempts == [1, 2, 3]
    assert job.result() == "ok"


def test_retries_exhausted_dead_letters_with_traceback(app: jobq.App) -> None:
    @app.task(retries=1, backoff=0.01)
    def broken() -> None:
        raise ValueError("always")

    job = broken.delay()
    work_until(app, lambda: job.status() == "dead")
    with pytest.raises(jobq.JobFailed) as info:
        job.result(timeout=1)
    assert "ValueError: always" in str(info.value)
    assert "Traceback" in info.value.traceback
    [dead] = dead_entries(app)
    assert dead["id"] == job.id and dead["attempts"] == 2
    assert "retries exhausted" in str(dead["reason"])
    assert dead["worker"] and dead["host"] and dead["time"]
    assert "ValueError: always" in str(dead["traceback"])


def test_retry_on_filters_exceptions(app: jobq.App) -> None:
    @app.task(retries=5, retry_on=(ConnectionError,), backoff=0.01)
    def picky() -> None:
        raise KeyError("not retried")

    job = picky.delay()
    work_until(app, lambda: job.status() == "dead")
    assert dead_entries(app)[0]["attempts"] == 1
    assert "not retryable" in str(dead_entries(app)[0]["reason"])


def test_explicit_retry_and_reject(app: jobq.App) -> None:
    runs: list[int] = []

    @app.task(retries=2)
    def asks_again() -> str:
        runs.append(1)
        if len(runs) == 1:
            raise jobq.Retry(delay=0.05)
        return "second time"

    @app.task(retries=5)
    def refuses() -> None:
        raise jobq.Reject("bad input")

    again, refused = asks_again.delay(), refuses.delay()
    work_until(app, lambda: again.status() == "succeeded" and refused.status() == "dead")
    assert again.result() == "second time"
    [dead] = dead_entries(app)
    assert dead["reason"] == "rejected: bad input" and dead["attempts"] == 1


def test_base_exceptions_from_tasks_do_not_kill_the_worker(app: jobq.App) -> None:
    @app.task(retries=0)
    def exits() -> None:
        raise SystemExit(3)

    @app.task(retries=0)
    def interrupts() -> None:
        raise KeyboardInterrupt

    @app.task
    def fine() -> int:
        return 1

    jobs = [exits.delay(), interrupts.delay(), fine.delay()]
    work_until(app, lambda: [j.status() for j in jobs] == ["dead", "dead", "succeeded"])


def test_job_id_is_an_idempotency_key(app: jobq.App) -> None:
    @app.task
    def once(x: int) -> int:
        return x

    first = once.enqueue(args=(1,), job_id="order-42")
    second = once.enqueue(args=(2,), job_id="order-42")
    assert first.id == second.id == "order-42"
    work_until(app, lambda: first.status() == "succeeded")
    assert first.result() == 1
    third = once.enqueue(args=(3,), job_id="order-42")  # finished: a new run under that id
    assert third.status() == "queued"
    work_until(app, lambda: third.status() == "succeeded")
    assert third.result() == 3


def test_delay_and_eta_are_scheduled(app: jobq.App) -> None:
    @app.task
    def later() -> str:
        return "done"

    delayed = later.enqueue(delay=0.3)
    eta = later.enqueue(at=datetime.now(timezone.utc) + timedelta(seconds=0.3))
    past = later.enqueue(at=datetime.now(timezone.utc) - timedelta(seconds=5))
    assert delayed.status() == "scheduled" and eta.status() == "scheduled"
    assert past.status() == "queued"
    work_until(app, lambda: delayed.status() == "succeeded" and eta.status() == "succeeded")


def test_bad_enqueue_arguments_fail_in_the_caller(app: jobq.App) -> None:
    @app.task
    def add(x: int, y: int) -> int:
        return x + y

    with pytest.raises(TypeError):
        add.delay(1)  # type: ignore[call-arg]
    with pytest.raises(jobq.SerializationError):
        add.delay(1, object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="either delay or at"):
        add.enqueue(args=(1, 2), delay=1, at=datetime.now(timezone.utc))
    with pytest.raises(ValueError, match="aware"):
        add.enqueue(args=(1, 2), at=datetime.now())
    big = jobq.App(app.config.redis_url, namespace=app.config.namespace, max_payload_bytes=64)
    big_task = big.task(name="big")(lambda s: s)
    with pytest.raises(jobq.SerializationError, match="byte limit"):
        big_task.delay("x" * 100)
    assert app.broker.client.xlen(app.broker.queue_keys("default").stream) == 0


def test_delay_many_and_enqueue_by_name(app: jobq.App) -> None:
    @app.task(name="sq")
    def sq(x: int) -> int:
        return x * x

    jobs = sq.delay_many([(i,) for i in range(1200)])
    assert len({j.id for j in jobs}) == 1200
    by_name = app.enqueue("sq", 9)
    work_until(
        app, lambda: by_name.status() == "succeeded" and jobs[-1].status() == "succeeded", concurrency=32
    )
    assert [j.result() for j in jobs[:3]] == [0, 1, 4]
    assert by_name.result() == 81


def test_cancel_queued_and_scheduled_jobs(app: jobq.App) -> None:
    ran: list[int] = []

    @app.task
    def record(x: int) -> None:
        ran.append(x)

    queued, scheduled, kept = record.delay(1), record.enqueue(args=(2,), delay=0.2), record.delay(3)
    assert queued.cancel() and scheduled.cancel()
    assert queued.status() == "cancelled" and scheduled.status() == "cancelled"
    work_until(app, lambda: kept.status() == "succeeded")
    assert ran == [3]
    with pytest.raises(jobq.JobFailed, match="cancelled"):
        queued.result(timeout=1)
    assert not kept.cancel()  # finished: nothing to cancel


def test_cancel_running_async_job(app: jobq.App) -> None:
    started = asyncio.Event()

    @app.task
    async def slow() -> None:
        started.set()
        await asyncio.sleep(30)

    job = slow.delay()

    async def go() -> None:
        from jobq.worker import Worker

        worker = Worker(app, concurrency=2)
        await worker.setup()
        run = asyncio.create_task(worker.run())
        await asyncio.wait_for(started.wait(), 10)
        assert job.status() == "running"
        assert job.cancel()
        for _ in range(200):
            if job.status() == "cancelled":
                break
            await asyncio.sleep(0.05)
        worker.stop()
        await asyncio.wait_for(run, 10)

    asyncio.run(go())
    assert job.status() == "cancelled"


def test_unknown_task_undecodable_and_wrong_arguments_are_dead_lettered(app: jobq.App) -> None:
    @app.task(name="two")
    def two(a: int, b: int) -> int:
        return a + b

    unknown = app.enqueue("nobody.knows", 1)
    wrong = app.enqueue("two", 1, 2, 3)
    stream = app.broker.queue_keys("default").stream
    app.broker.client.xadd(stream, {"j": "{not json"})
    app.broker.client.xadd(stream, {"other": "field"})
    good = two.delay(1, 1)
    work_until(app, lambda: good.status() == "succeeded" and len(dead_entries(app)) == 4)
    reasons = sorted(str(d["reason"]) for d in dead_entries(app))
    assert any(r.startswith("unknown task 'nobody.knows'") for r in reasons)
    assert any(r.startswith("wrong arguments for two") for r in reasons)
    assert sum(r.startswith("undecodable payload") for r in reasons) == 2
    assert unknown.status() == "dead" and wrong.status() == "dead"
    assert app.broker.client.xlen(stream) == 0


def test_result_timeout_and_unknown_job(app: jobq.App) -> None:
    @app.task
    def never_run() -> None: ...

    job = never_run.delay()
    with pytest.raises(TimeoutError):
        job.result(timeout=0.2)
    with pytest.raises(jobq.JobNotFound):
        app.job("no-such-id").status()


def test_async_timeout_is_a_failure_naming_the_timeout(app: jobq.App) -> None:
    @app.task(timeout=0.2, retries=0)
    async def sleepy() -> None:
        await asyncio.sleep(30)

    job = sleepy.delay()
    work_until(app, lambda: job.status() == "dead")
    with pytest.raises(jobq.JobFailed, match=r"timed out after 0.2s"):
        job.result()


def test_unreachable_redis_raises_broker_error_quickly() -> None:
    from tests.support.redis_server import free_port

    lost = jobq.App(f"redis://127.0.0.1:{free_port()}/0")

    @lost.task
    def nothing() -> None: ...

    with pytest.raises(jobq.BrokerError, match=r"cannot reach Redis at redis://127\.0\.0\.1"):
        nothing.delay()


def test_passwords_never_appear_in_errors() -> None:
    from tests.support.redis_server import free_port

    lost = jobq.App(f"redis://user:hunter2@127.0.0.1:{free_port()}/0")
    with pytest.raises(jobq.BrokerError) as info:
        lost.enqueue("x")
    assert "hunter2" not in str(info.value) and "***" in str(info.value)
