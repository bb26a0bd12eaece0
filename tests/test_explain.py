"""`jobq explain`: pure sentences from facts (table tests), and facts from a real Redis."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import jobq
from jobq import explain, jobtext
from jobq.envelope import Envelope
from jobq.errors import JobNotFound
from tests.apps.inspect_app import register
from tests.support.holding import hold_entries
from tests.support.inproc import work_until
from tests.support.jobq_run import run_jobq
from tests.support.processes import JobqProcess
from tests.support.waiting import wait_for

NOW = 1_700_000_000.0
ENV = Envelope("j1", "mail.send", (), {}, NOW - 100)
RETRY_ENV = Envelope("j1", "mail.send", (), {}, NOW - 100, prior_attempts=2)


def facts(state: str, **kw: Any) -> explain.JobFacts:
    kw.setdefault("envelope", ENV)
    return explain.JobFacts(id="j1", queue="mail", now=NOW, state=state, **kw)


@pytest.mark.parametrize(
    ("f", "max_attempts", "expected"),
    [
        (facts("queued", ahead=0), None, "next in line: queued behind no other job"),
        (facts("queued", ahead=1), None, "queued behind 1 other job;"),
        (facts("queued", ahead=42), None, "queued behind 42 other jobs;"),
        (facts("queued", ahead=1001), None, "queued behind more than 1000 other jobs"),
        (facts("queued", ahead=3, stream_id=f"{int(NOW * 1000) - 90_000}-0"), None, "(1m30s ago)"),
        (facts("queued", ahead=0, envelope=RETRY_ENV), 4, "it will be attempt 3 of 4"),
        (facts("scheduled", due_at=NOW + 30), None, "scheduled: may run at 2023-11-14 22:13:50Z (in 30.0s)"),
        (facts("scheduled", due_at=NOW - 1), None, "due now"),
        (
            facts("scheduled", due_at=NOW + 7200, envelope=RETRY_ENV),
            4,
            "waiting to retry: attempt 3 of 4 due at 2023-11-15 00:13:20Z (in 2h00m)",
        ),
        (facts("scheduled", due_at=NOW + 5, envelope=RETRY_ENV), None, "attempt 3 due at"),
        (
            facts("running", worker="h:1", worker_alive=True, worker_host="h", worker_pid=1, deliveries=1),
            3,
            "running on worker h:1 (host h, pid 1), attempt 1 of 3",
        ),
        (
            facts("running", worker="h:1", worker_alive=True, deliveries=1, started_at=NOW - 65),
            None,
            "since 2023-11-14 22:12:15Z (1m05s), attempt 1",
        ),
        (facts("running", worker="h:1", deliveries=2, idle_s=12), 3, "no live heartbeat"),
        (facts("running", worker="h:1", deliveries=2, idle_s=12), 3, "attempt 2 of 3"),
        (facts("cancelling", worker="h:1", worker_alive=True, deliveries=1), None, "cancel requested"),
        (
            facts(
                "dead",
                dead={"reason": "retries exhausted", "error": "ValueError: x", "attempts": 4, "time": NOW},
                outcome={"s": "dead", "n": 4},
            ),
            None,
            "dead because retries exhausted",
        ),
        (
            facts("dead", dead={"reason": "r", "error": "ValueError: x", "attempts": 4}),
            None,
            "last error: ValueError",
        ),
        (facts("dead", dead={"reason": "r", "attempts": 4}), None, "attempts made: 4"),
        (facts("dead", dead={"reason": "r"}), None, "jobq dlq requeue mail j1"),
        (facts("dead", outcome={"s": "dead", "why": "rejected: spam", "n": 1}), None, "entry is gone"),
        (facts("cancelled"), None, "cancelled: it will not run"),
        (facts("succeeded", result_ttl_s=3600), None, "succeeded: finished (result kept 1h00m more)"),
    ],
)
def test_explain_sentences(f: explain.JobFacts, max_attempts: int | None, expected: str) -> None:
    lines = explain.explain(f, max_attempts)
    assert lines[0] == f"job j1 ({f.task or 'task unknown'}) in queue mail:"
    assert expected in "\n".join(lines)


def test_running_on_a_silent_worker_names_the_visibility_timeout() -> None:
    f = facts("running", worker="h:1", deliveries=1, idle_s=3)
    assert "visibility timeout 30.0s (idle 3.0s now)" in "\n".join(explain.explain(f, None, 30.0))


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.04, "0.0s"), (59.9, "59.9s"), (61, "1m01s"), (3 * 3600 + 120, "3h02m"), (2 * 86400 + 7200, "2d02h")],
)
def test_span(seconds: float, text: str) -> None:
    assert jobtext.span(seconds) == text


# facts from a real Redis ----------------------------------------------------------------


@pytest.fixture
def tasks(app: jobq.App) -> dict[str, Any]:
    return register(app)


def test_queued_behind_others(app: jobq.App, tasks: dict[str, Any]) -> None:
    jobs = tasks["ok"].delay_many([(i,) for i in range(4)])
    f = explain.gather(app, jobs[3].id)
    assert (f.state, f.ahead, f.task, f.queue, f.attempts) == ("queued", 3, "ok", "default", 0)
    hold_entries(app, "default", 2, consumer="someone")
    assert explain.gather(app, jobs[3].id).ahead == 1
    held = explain.gather(app, jobs[0].id)
    assert (held.state, held.worker, held.worker_alive, held.deliveries) == ("running", "someone", False, 1)
    assert held.attempts == 1


def test_running_on_a_live_worker(
    app: jobq.App, tasks: dict[str, Any], jobq_cli: Callable[..., JobqProcess]
) -> None:
    job = tasks["slow"].delay(60)
    jobq_cli(["worker", "inspect_app", "-c", "1"], app.config.redis_url, JOBQ_NAMESPACE=app.config.namespace)

    def running() -> explain.JobFacts | None:
        f = explain.gather(app, job.id)
        return f if f.state == "running" and f.worker_alive and f.started_at else None

    f = wait_for(running, 60, "the job to run on a worker with a heartbeat")
    assert f.worker_pid > 0 and f.attempts == 1
    line = explain.explain(f)[1]
    assert line.startswith(f"running on worker {f.worker} (host {f.worker_host}, pid ")
    assert " since " in line and f.now - 60 < f.started_at <= f.now + 1


def test_retry_waiting_and_scheduled(app: jobq.App, tasks: dict[str, Any]) -> None:
    job = tasks["flaky"].delay()
    work_until(app, lambda: job.status() == "scheduled")
    f = explain.gather(app, job.id)
    assert (f.state, f.envelope.prior_attempts if f.envelope else None) == ("scheduled", 1)
    assert f.due_at > f.now + 60  # backoff of an hour, with jitter: at least half of it
    lines = explain.explain(f, tasks["flaky"].options.retries + 1)
    assert lines[1].startswith("waiting to retry: attempt 2 of 3 due at ")
    later = tasks["ok"].enqueue(args=(1,), delay=90)
    assert explain.explain(explain.gather(app, later.id))[1].startswith("scheduled: may run at ")


def test_dead_cancelled_succeeded_and_unknown(app: jobq.App, tasks: dict[str, Any]) -> None:
    dead = tasks["boom"].delay("no way")
    good = tasks["ok"].delay(1)
    work_until(app, lambda: dead.status() == "dead" and good.status() == "succeeded")
    f = explain.gather(app, dead.id)
    assert (f.state, f.attempts, f.task) == ("dead", 1, "boom")
    assert "last error" not in "\n".join(explain.explain(f))  # the reason already quotes it
    assert explain.gather(app, good.id).state == "succeeded"
    gone = tasks["ok"].enqueue(args=(1,), delay=600)
    gone.cancel()
    assert explain.gather(app, gone.id).state == "cancelled"
    with pytest.raises(JobNotFound):
        explain.gather(app, "nope")


def test_explain_command_with_app(app: jobq.App, tasks: dict[str, Any]) -> None:
    job = tasks["flaky"].delay()
    work_until(app, lambda: job.status() == "scheduled")
    proc = run_jobq(
        ["explain", job.id, "--app", "inspect_app", "--namespace", app.config.namespace], app.config.redis_url
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == f"job {job.id} (flaky) in queue default:"
    assert "waiting to retry: attempt 2 of 3 due at" in proc.stdout
