"""A bug while a worker turns a finished attempt into its settlement must be loud and must
not leave the entry held: the job is dead-lettered at once, with the error, and the worker
says so as an error naming the job (before, asyncio kept the exception to itself and the
entry stayed held until the watchdog gave up on the whole process)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from structlog.testing import capture_logs

import jobq
from jobq.dlq import list_dead
from jobq.keys import GROUP
from jobq.worker import settler
from jobq.worker.observed import watch
from tests.support.inproc import work_until


def _broken(*_: Any) -> Any:
    raise RuntimeError("settlement bug")


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_failure_building_the_outcome_dead_letters_the_job_loudly(
    app: jobq.App, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if kind == "sync":

        @app.task(name="work")
        def work() -> int:
            return 1

    else:

        @app.task(name="work")
        async def work() -> int:
            await asyncio.sleep(0)
            return 1

    monkeypatch.setattr(settler, "settlement_for", _broken)
    job = work.delay()
    with capture_logs() as logs:
        work_until(app, lambda: job.status() == "dead", timeout=10.0)
    [failed] = [e for e in logs if e["event"] == "job.outcome_failed"]
    assert failed["log_level"] == "error" and failed["job_id"] == job.id
    assert failed["error"] == "RuntimeError: settlement bug"
    [dead] = list_dead(app.broker, "default", 10)
    assert dead.id == job.id and dead.reason == settler.OUTCOME_FAILED
    assert dead.error == "RuntimeError: settlement bug" and "settlement bug" in dead.traceback
    assert app.broker.client.xpending(app.broker.queue_keys("default").stream, GROUP)["pending"] == 0


def test_a_watched_task_that_fails_is_logged_at_once_and_reported() -> None:
    reasons: list[str] = []

    async def boom() -> None:
        raise ValueError("bad state")

    async def go() -> None:
        task = watch(asyncio.get_running_loop().create_task(boom()), "settler", reasons.append, queue="q")
        await asyncio.wait([task])  # its callbacks run in order: watch's came first

    with capture_logs() as logs:
        asyncio.run(go())
    [event] = [e for e in logs if e["event"] == "worker.task_failed"]
    assert event["log_level"] == "error" and event["what"] == "settler" and event["queue"] == "q"
    assert event["error"] == "ValueError: bad state"
    assert reasons == ["settler failed: ValueError: bad state"]
