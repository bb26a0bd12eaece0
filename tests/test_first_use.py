"""What a new user hits first (issue 12): bad input refused where it is written, with the
rule or the close matches in one line, instead of jobs that wait or die later."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import jobq
from jobq.config import QUEUE_NAME_RULE
from jobq.worker import Worker
from tests.support.jobq_run import one_error_line, run_jobq, run_main

CORE_APP = "tests.apps.core_app"
BAD_QUEUES = ["bad queue", "a:b", "", "{x}", "tab\tq"]


def cli(args: list[str], app: jobq.App) -> Any:
    return run_main([*args, "--redis-url", app.config.redis_url, "--namespace", app.config.namespace])


@pytest.mark.parametrize("queue", BAD_QUEUES)
def test_a_queue_no_worker_may_consume_is_refused_at_decoration(app: jobq.App, queue: str) -> None:
    with pytest.raises(jobq.ConfigError, match=f"invalid queue name .*{QUEUE_NAME_RULE}"):

        @app.task(queue=queue)
        def f() -> None: ...

    assert app.tasks == {}


@pytest.mark.parametrize("queue", BAD_QUEUES)
def test_a_queue_no_worker_may_consume_is_refused_at_enqueue(app: jobq.App, queue: str) -> None:
    @app.task
    def f() -> None: ...

    with pytest.raises(jobq.ConfigError, match=f"invalid queue name .*{QUEUE_NAME_RULE}"):
        f.enqueue(queue=queue)
    with pytest.raises(jobq.ConfigError, match=QUEUE_NAME_RULE):
        app.submit("anything", queue=queue)
    assert app.broker.known_queues() == []  # nothing was enqueued anywhere


def test_enqueue_command_refuses_a_bad_queue_with_the_workers_rule(app: jobq.App) -> None:
    where = ["--namespace", app.config.namespace]
    for proc in (
        cli(["enqueue", CORE_APP, "work", "0.01", "--queue", "bad queue"], app),
        # the worker in a process of its own: it configures logging for its whole process
        run_jobq(["worker", "core_app", "-q", "bad queue", *where], app.config.redis_url),
    ):
        assert proc.returncode == 2, proc.stderr
        line = one_error_line(proc)
        assert "invalid queue name 'bad queue'" in line and QUEUE_NAME_RULE in line, line
    assert app.broker.known_queues() == []


def test_enqueue_command_refuses_an_unknown_task_naming_close_matches(app: jobq.App) -> None:
    proc = cli(["enqueue", CORE_APP, "wrok", "0.01"], app)
    assert proc.returncode == 2, proc.stderr
    assert "has no task 'wrok'; did you mean 'work' or 'awork'?" in one_error_line(proc)
    proc = cli(["enqueue", CORE_APP, "nosuch.task"], app)
    assert proc.returncode == 2, proc.stderr
    line = one_error_line(proc)
    assert "has no task 'nosuch.task'; its tasks: awork, crash," in line, line
    assert app.broker.known_queues() == []


def test_enqueue_command_refuses_an_empty_job_id(app: jobq.App) -> None:
    proc = cli(["enqueue", CORE_APP, "work", "0.01", "--job-id", ""], app)
    assert proc.returncode == 2, proc.stderr
    assert "--job-id" in one_error_line(proc) and "must not be empty" in proc.stderr
    proc = cli(["enqueue", CORE_APP, "work", "0.01", "--job-id", "order-7"], app)
    assert proc.returncode == 0 and proc.stdout.strip() == "order-7", proc.stderr


def live_worker_on(app: jobq.App, queues: list[str]) -> str:
    """A worker that has published its heartbeat (so it is live) and then left it be."""

    async def go() -> str:
        worker = Worker(app, queues, 1)
        await worker.maintenance.heartbeat()
        await worker.broker.close()
        worker.runner.shutdown()
        return worker.id

    return asyncio.run(go())


def test_explain_says_when_no_live_worker_consumes_the_queue(app: jobq.App) -> None:
    @app.task(queue="reports")
    def report() -> None: ...

    job = report.delay()
    out = cli(["explain", job.id], app)
    assert out.returncode == 0 and "no worker is live, so nothing consumes queue reports" in out.stdout
    live_worker_on(app, ["default", "mail"])
    out = cli(["explain", job.id], app)
    assert out.returncode == 0, out.stderr
    assert (
        "queued behind no other job; no live worker consumes queue reports;"
        " the live workers consume: default, mail (start one with: jobq worker APP -q reports)"
    ) in out.stdout, out.stdout
    live_worker_on(app, ["reports"])
    assert "waiting for a free worker on queue reports" in cli(["explain", job.id], app).stdout


def test_stats_of_an_unknown_queue_fails_as_dlq_and_purge_do(app: jobq.App) -> None:
    app.submit("x", queue="default")
    app.submit("x", queue="mail")
    lines = set()
    for command in (["stats", "-q", "nosuchq"], ["dlq", "list", "nosuchq"], ["purge", "nosuchq", "--yes"]):
        proc = cli(command, app)
        assert proc.returncode == 1, (command, proc.stdout)
        lines.add(one_error_line(proc))
    assert lines == {
        f"error: no queue 'nosuchq' in namespace '{app.config.namespace}' (known queues: default, mail)"
    }
    assert cli(["stats", "-q", "mail", "--json"], app).returncode == 0
