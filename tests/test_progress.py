"""Progress: a running task reports how far it got (sync and async); producers read it, and
`jobq job show` / `jobq explain` show it."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from click.testing import CliRunner

import jobq
from jobq.cli import cli
from jobq.testing import BackgroundWorker
from tests.support.waiting import wait_for


def test_sync_and_async_tasks_report_progress_a_producer_reads(app: jobq.App) -> None:
    gate = threading.Event()

    @app.task(name="p.sync")
    def resize(n: int) -> int:
        jobq.current_job().set_progress(0.25, "started")
        jobq.current_job().set_progress(n / 10, f"resized {n} of 10")
        gate.wait(10)
        return n

    @app.task(name="p.async")
    async def album(n: int) -> int:
        jobq.current_job().set_progress(0.5, "half")
        await asyncio.sleep(0)
        jobq.current_job().set_progress(1.0)
        return n

    with BackgroundWorker(app, concurrency=2):
        sync_job = resize.delay(4)
        wait_for(lambda: sync_job.progress() == jobq.Progress(0.4, "resized 4 of 10"), 10, "progress")
        assert sync_job.status() == "running"
        gate.set()
        assert sync_job.result(10) == 4
        async_job = album.delay(7)
        assert async_job.result(10) == 7
        wait_for(lambda: async_job.progress() == jobq.Progress(1.0, ""), 10, "progress")
    assert sync_job.progress() == jobq.Progress(0.4, "resized 4 of 10")  # kept with the result


def test_a_job_that_reported_nothing_has_no_progress(app: jobq.App) -> None:
    @app.task(name="p.quiet")
    def quiet() -> None:
        return None

    job = quiet.delay()
    assert job.progress() is None


@pytest.mark.parametrize("bad", [1.5, -0.1, float("nan"), "half"])
def test_a_fraction_outside_0_to_1_is_refused_in_the_task(bad: object) -> None:
    info = jobq.JobInfo("j", "t", "q", 1, 0.0, report=lambda blob: None)
    with pytest.raises(jobq.ProgressError):
        info.set_progress(bad, "x")  # type: ignore[arg-type]


def test_job_show_and_explain_print_progress(app: jobq.App) -> None:
    gate = threading.Event()

    @app.task(name="p.shown")
    def slow() -> None:
        jobq.current_job().set_progress(0.4, "resized 4 of 10")
        gate.wait(10)

    with BackgroundWorker(app):
        job = slow.delay()
        wait_for(lambda: job.progress() is not None, 10, "progress")
        base = ["--redis-url", app.config.redis_url, "--namespace", app.config.namespace]
        shown = CliRunner().invoke(cli, ["job", "show", job.id, *base])
        assert shown.exit_code == 0, shown.output
        assert "progress:    40% resized 4 of 10" in shown.output
        data = json.loads(CliRunner().invoke(cli, ["job", "show", job.id, "--json", *base]).output)
        assert data["progress"] == {"fraction": 0.4, "message": "resized 4 of 10"}
        told = CliRunner().invoke(cli, ["explain", job.id, *base])
        assert "progress: 40% resized 4 of 10" in told.output, told.output
        gate.set()
        job.result(10)
