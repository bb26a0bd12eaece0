"""Structured logs: job fields bound inside tasks, JSON output, quiet success at info."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import structlog
from structlog.testing import capture_logs

import jobq
import jobq.log
from jobq.log import add_job_context
from tests.support import runlog
from tests.support.corepool import Start, producer, start_pool
from tests.support.inproc import work_until
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_for


def test_lines_logged_inside_a_task_carry_the_job(app: jobq.App) -> None:
    @app.task(name="chatty")
    def chatty() -> None:
        structlog.get_logger("user").info("user.inside_task", step=1)

    job = chatty.delay()
    with capture_logs(processors=[add_job_context]) as logs:
        work_until(app, lambda: job.status() == "succeeded")
    [inside] = [e for e in logs if e["event"] == "user.inside_task"]
    assert inside["job_id"] == job.id and inside["task"] == "chatty"
    assert inside["queue"] == "default" and inside["attempt"] == 1


def test_worker_events_are_dotted_with_fields(app: jobq.App) -> None:
    @app.task(name="fails", retries=1, backoff=0.01)
    def fails() -> None:
        raise ValueError("nope")

    job = fails.delay()
    with capture_logs() as logs:
        work_until(app, lambda: job.status() == "dead")
    events = {e["event"]: e for e in logs}
    assert events["job.retry_scheduled"]["attempt"] == 1
    assert events["job.dead_lettered"]["job_id"] == job.id
    assert "retries exhausted" in events["job.dead_lettered"]["reason"]


def test_a_second_configure_reaches_loggers_already_used(capsys: pytest.CaptureFixture[str]) -> None:
    """A logger used under one configuration follows the next one: before, the first use
    cached it with the old processors, and capture_logs after a second configure in the same
    process (a CLI command run in-process) missed every line of the worker."""
    worker_log = structlog.get_logger("jobq.worker")
    saved = structlog.get_config()
    try:
        jobq.log.configure("json", "info")
        worker_log.info("first.configuration")
        jobq.log.configure("json", "info")
        with capture_logs() as logs:
            worker_log.info("job.retry_scheduled", attempt=1)
    finally:
        structlog.configure(**saved)
    assert [e["event"] for e in logs] == ["job.retry_scheduled"]
    assert "first.configuration" in capsys.readouterr().err


def test_json_log_format_and_max_jobs_per_child(
    jobq_cli: Start, redis_server: RedisServer, namespace: str, runs: Path
) -> None:
    _, tasks = producer(redis_server.url, namespace, 5.0)
    jobs = tasks["work"].delay_many([(0.0,)] * 20)
    pool = start_pool(
        jobq_cli,
        redis_server.url,
        namespace,
        runs,
        5.0,
        "-p",
        "1",
        "-c",
        "1",
        "--max-jobs-per-child",
        "5",
        "--log-format",
        "json",
    )
    wait_for(lambda: all(j.status() == "succeeded" for j in jobs), 30, "every job")
    assert len({r.pid for r in runlog.read(runs)}) >= 4, "a child is replaced every 5 jobs"
    lines = [json.loads(line) for line in pool.output().splitlines() if line.startswith("{")]
    assert any(line["event"] == "pool.child_recycled" for line in lines)
    assert all({"event", "level", "timestamp"} <= set(line) for line in lines)
    assert not any(line["event"] == "job.succeeded" for line in lines), "success is debug-level"
