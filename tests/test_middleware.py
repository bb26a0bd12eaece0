"""Middleware and job headers on a real Redis with a real Worker (stepped in this process):
order, outcomes, refusals, broken middleware, bad input, signing."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
import structlog

import jobq
from jobq.envelope import decode
from jobq.keys import NamespaceKeys
from jobq.middleware import MAX_HEADER_BYTES, EnqueueInfo, RunOutcome
from tests.support.inproc import work_until


def stream_texts(app: jobq.App, queue: str = "default") -> list[str]:
    client = redis.Redis.from_url(app.config.redis_url, decode_responses=True)
    return [f["j"] for _, f in client.xrange(NamespaceKeys(app.config.namespace).queue(queue).stream)]


class Recorder(jobq.Middleware):
    """Records every hook call as (name, hook, detail)."""

    def __init__(self, name: str, events: list[tuple[str, str, Any]]) -> None:
        self.name, self.events = name, events

    def before_enqueue(self, job: EnqueueInfo) -> None:
        job.headers[f"seen_by_{self.name}"] = True
        self.events.append((self.name, "before_enqueue", job.task))

    def after_enqueue(self, job: EnqueueInfo, error: BaseException | None) -> None:
        self.events.append((self.name, "after_enqueue", type(error).__name__ if error else None))

    def before_run(self, job: jobq.JobInfo) -> None:
        self.events.append((self.name, "before_run", job.attempt))

    def on_error(self, job: jobq.JobInfo, error: BaseException) -> None:
        self.events.append((self.name, "on_error", type(error).__name__))

    def on_retry(self, job: jobq.JobInfo, error: BaseException | None, delay: float) -> None:
        self.events.append((self.name, "on_retry", round(delay, 2)))

    def on_dead_letter(self, job: jobq.JobInfo, reason: str, error: BaseException | None) -> None:
        self.events.append((self.name, "on_dead_letter", reason))

    def after_run(self, job: jobq.JobInfo, outcome: RunOutcome) -> None:
        self.events.append((self.name, "after_run", outcome.status))


def test_hooks_run_in_order_around_sync_and_async_runs_and_headers_reach_the_task(app: jobq.App) -> None:
    events: list[tuple[str, str, Any]] = []
    app.add_middleware(Recorder("a", events))
    app.add_middleware(Recorder("b", events))

    @app.task(name="flaky", retries=1, backoff=0.01)
    def flaky() -> dict[str, Any]:
        if jobq.current_job().attempt == 1:
            raise ConnectionError("once")
        return dict(jobq.current_job().headers)

    @app.task(name="aecho")
    async def aecho() -> dict[str, Any]:
        return dict(jobq.current_job().headers)

    job = flaky.enqueue(headers={"request_id": "r-1"})
    assert events == [
        ("a", "before_enqueue", "flaky"),
        ("b", "before_enqueue", "flaky"),
        ("b", "after_enqueue", None),
        ("a", "after_enqueue", None),
    ]
    events.clear()
    work_until(app, lambda: job.status() == "succeeded", timeout=30)
    expected = {"request_id": "r-1", "seen_by_a": True, "seen_by_b": True}
    assert job.result() == expected, "headers must survive the retry"
    assert [e for e in events if e[1] != "before_run"][:5] == [
        ("b", "on_error", "ConnectionError"),
        ("a", "on_error", "ConnectionError"),
        ("b", "on_retry", pytest.approx(0.01, abs=0.01)),
        ("a", "on_retry", pytest.approx(0.01, abs=0.01)),
        ("b", "after_run", "retrying"),
    ]
    assert events[:2] == [("a", "before_run", 1), ("b", "before_run", 1)]
    assert events[-2:] == [("b", "after_run", "succeeded"), ("a", "after_run", "succeeded")]

    later = aecho.enqueue(headers={"n": [1, 2]})
    work_until(app, lambda: later.status() == "succeeded", timeout=30)
    assert later.result() == {"n": [1, 2], "seen_by_a": True, "seen_by_b": True}


def test_dead_letters_and_timeouts_reach_the_hooks(app: jobq.App) -> None:
    events: list[tuple[str, str, Any]] = []
    app.add_middleware(Recorder("m", events))

    @app.task(name="doomed")
    def doomed() -> None:
        raise jobq.Reject("no such customer")

    @app.task(name="sleepy", timeout=0.2, retries=0)
    async def sleepy() -> None:
        import asyncio

        await asyncio.sleep(10)

    jobs = [doomed.delay(), sleepy.delay()]
    work_until(app, lambda: all(j.status() == "dead" for j in jobs), timeout=30)
    run_events = [e for e in events if "enqueue" not in e[1]]
    assert ("m", "on_dead_letter", "rejected: no such customer") in run_events
    assert ("m", "on_error", "JobTimeout") in run_events
    reason = "retries exhausted after 1 attempts: JobTimeout: timed out after 0.2s (task timeout)"
    assert ("m", "on_dead_letter", reason) in run_events
    assert [e[2] for e in run_events if e[1] == "after_run"] == ["dead", "dead"]


class Broken(jobq.Middleware):
    def before_run(self, job: jobq.JobInfo) -> None:
        raise ValueError("metrics backend down")

    def on_retry(self, job: jobq.JobInfo, error: BaseException | None, delay: float) -> None:
        raise ValueError("metrics backend down")

    def after_run(self, job: jobq.JobInfo, outcome: RunOutcome) -> None:
        raise ValueError("metrics backend down")


def test_a_broken_middleware_is_logged_and_never_loses_or_repeats_a_job(app: jobq.App) -> None:
    app.add_middleware(Broken)  # a subclass is made with no arguments
    runs: list[int] = []

    @app.task(name="counted", retries=2, backoff=0.01)
    def counted() -> str:
        runs.append(jobq.current_job().attempt)
        if len(runs) == 1:
            raise ConnectionError("once")
        return "done"

    job = counted.delay()
    with structlog.testing.capture_logs() as logs:
        work_until(app, lambda: job.status() == "succeeded", timeout=30)
    assert job.result() == "done" and runs == [1, 2]
    failed = [e for e in logs if e["event"] == "middleware.failed"]
    assert {e["hook"] for e in failed} == {"Broken.before_run", "Broken.on_retry", "Broken.after_run"}
    assert all(e["job_id"] == job.id for e in failed)


class Gate(jobq.Middleware):
    """Refuses on purpose: enqueue without a tenant, and runs of blocked tenants."""

    def before_enqueue(self, job: EnqueueInfo) -> None:
        if "tenant" not in job.headers:
            raise PermissionError("no tenant header")

    def before_run(self, job: jobq.JobInfo) -> None:
        if job.headers.get("tenant") == "blocked":
            raise jobq.Reject("tenant is blocked")


def test_middleware_refuses_an_enqueue_or_a_run_on_purpose(app: jobq.App) -> None:
    app.add_middleware(Gate())
    ran: list[str] = []

    @app.task(name="work")
    def work() -> None:
        ran.append(jobq.current_job().headers["tenant"])

    with pytest.raises(PermissionError, match="no tenant header"):
        work.delay()
    with pytest.raises(PermissionError):
        work.delay_many([(), ()])
    assert stream_texts(app) == [], "a refused enqueue must leave nothing behind"

    ok, blocked = work.enqueue(headers={"tenant": "acme"}), work.enqueue(headers={"tenant": "blocked"})
    work_until(app, lambda: ok.status() == "succeeded" and blocked.status() == "dead", timeout=30)
    assert ran == ["acme"]
    with pytest.raises(jobq.JobFailed, match="tenant is blocked"):
        blocked.result()


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"when": object()}, "headers are not JSON"),
        ({"ratio": float("nan")}, "headers are not JSON"),
        ({1: "x"}, "header names must be strings"),
        (["request_id"], "headers must be a dict"),
        ({"blob": "x" * MAX_HEADER_BYTES}, f"over the {MAX_HEADER_BYTES} byte limit"),
    ],
)
def test_bad_headers_fail_at_enqueue_and_nothing_is_enqueued(
    app: jobq.App, headers: Any, message: str
) -> None:
    @app.task(name="noop")
    def noop() -> None: ...

    with pytest.raises(jobq.SerializationError, match=message):
        noop.enqueue(headers=headers)
    with pytest.raises(jobq.SerializationError, match=message):
        app.submit("noop", headers=headers)
    assert stream_texts(app) == []


def test_headers_are_covered_by_the_signature(redis_url: str, namespace: str) -> None:
    signed = jobq.App(redis_url, namespace=namespace, signing_key="k" * 32)
    ran: list[str] = []

    @signed.task(name="pay")
    def pay() -> None:
        ran.append(jobq.current_job().headers["amount_cap"])

    pay.enqueue(headers={"amount_cap": "10"})
    (text,) = stream_texts(signed)
    assert decode(text, "k" * 32).headers == {"amount_cap": "10"}
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    stream = NamespaceKeys(namespace).queue("default").stream
    client.delete(stream)
    forged = text.replace('"amount_cap":"10"', '"amount_cap":"99999"')
    assert forged != text and json.loads(forged)["h"] == {"amount_cap": "99999"}
    client.xadd(stream, {"j": forged})
    work_until(signed, lambda: client.xlen(NamespaceKeys(namespace).queue("default").dead) == 1)
    assert ran == []


def test_bad_middleware_is_refused_at_registration() -> None:
    app = jobq.App(namespace="unused")

    class WrongArity(jobq.Middleware):
        def before_run(self) -> None:  # type: ignore[override]
            ...

    class Async(jobq.Middleware):
        async def after_run(self, job: jobq.JobInfo, outcome: RunOutcome) -> None:  # type: ignore[override]
            ...

    class NeedsArgs(jobq.Middleware):
        def __init__(self, dsn: str) -> None: ...

    with pytest.raises(jobq.ConfigError, match=r"expects a jobq\.Middleware subclass, got function"):
        app.add_middleware(lambda job: None)  # type: ignore[arg-type]
    with pytest.raises(jobq.ConfigError, match=r"WrongArity\.before_run must accept \(job\)"):
        app.add_middleware(WrongArity())
    with pytest.raises(jobq.ConfigError, match=r"Async\.after_run must be a plain def"):
        app.add_middleware(Async())
    with pytest.raises(jobq.ConfigError, match=r"cannot make NeedsArgs\(\)"):
        app.add_middleware(NeedsArgs)
    with pytest.raises(jobq.ConfigError, match="log_headers must be a list"):
        jobq.App(namespace="unused", log_headers="request_id")
    assert app.middleware.items == [] and not app.middleware.runs and not app.middleware.enqueues


def test_without_worker_side_hooks_the_worker_runs_tasks_directly(app: jobq.App) -> None:
    from jobq.worker import Worker

    assert Worker(app).runner.hooks is None
    app.add_middleware(Gate())
    assert Worker(app).runner.hooks is not None
