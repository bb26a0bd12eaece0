"""The dashboard's job view (`j`, an id, enter): what `jobq explain` says of the job, with
its progress and, for a workflow's job, its workflow and what it waits on."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

import jobq
from jobq.dashboard.job_view import JobIdScreen, JobScreen
from jobq.dashboard.tui import DashboardApp
from jobq.testing import drain
from tests.test_dashboard_tui import drive, until, visible_text


async def open_job(tui: DashboardApp, pilot: Pilot[Any], job_id: str) -> None:
    await pilot.press("j")
    assert isinstance(tui.screen, JobIdScreen)
    await pilot.press(*job_id, "enter")
    await until(pilot, lambda: isinstance(tui.screen, JobScreen), "the job screen")
    await until(pilot, lambda: tui.screen.lines, f"job {job_id} loaded")  # type: ignore[attr-defined]


def test_the_job_view_shows_progress_and_the_workflow(app: jobq.App) -> None:
    @app.task(name="dj.part", queue="parts")
    def part(i: int) -> int:
        jobq.current_job().set_progress(0.5, "half way")
        return i

    @app.task(name="dj.slow", queue="slow")
    def slow(i: int) -> int:
        return i

    @app.task(name="dj.total", queue="totals")
    def total(xs: list[int]) -> int:
        return sum(xs)

    job = jobq.chord([part.s(1), slow.s(2)], total.s()).delay()
    drain(app, ["parts"])  # the first member only: the callback still waits for the second
    done = job.group.jobs[0]

    async def script(tui: DashboardApp, pilot: Pilot[Any]) -> None:
        await open_job(tui, pilot, done.id)
        text = visible_text(tui)
        assert "progress: 50% half way" in text
        assert f"in chord workflow {job.workflow_id} (1 of 2 succeeded, 0 failed); then job {job.id}" in text
        await pilot.press("escape")
        await open_job(tui, pilot, job.id)
        text = visible_text(tui)
        assert f"waits on chord workflow {job.workflow_id} (1 of 2 succeeded, 0 failed)" in text
        await pilot.press("escape")
        await open_job(tui, pilot, "no-such-job")
        assert "no job 'no-such-job'" in visible_text(tui)

    drive(app, (120, 30), script)
