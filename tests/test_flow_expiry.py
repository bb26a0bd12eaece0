"""Expiry: a job not started by its `expires` never runs; it ends "expired", is counted,
and is not dead-lettered (real Redis, in-process worker)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

import jobq
from jobq import explain, stats
from jobq.testing import drain


def queue_row(app: jobq.App, name: str = "default") -> stats.QueueStats:
    return stats.snapshot(app.broker, [name]).queues[0]


def test_a_job_not_started_by_its_expiry_never_runs(app: jobq.App) -> None:
    ran: list[int] = []

    @app.task(expires=timedelta(seconds=0.3))
    def stale(x: int) -> None:
        ran.append(x)

    by_task = stale.delay(1)
    by_call = stale.enqueue(args=(2,), expires=datetime.now(timezone.utc) + timedelta(seconds=0.3))
    by_seconds = stale.enqueue(args=(3,), expires=0.3)
    fresh = stale.enqueue(args=(4,), expires=60)
    time.sleep(0.5)
    drain(app)
    assert ran == [4]
    for job in (by_task, by_call, by_seconds):
        assert job.status() == "expired"
        with pytest.raises(jobq.JobExpired, match="expired before it started"):
            job.result(timeout=1)
    assert fresh.status() == "succeeded"
    row = queue_row(app)
    assert (row.expired, row.dead, row.failed, row.processed) == (3, 0, 0, 1)
    assert stats.queue_json(row)["expired"] == 3
    lines = explain.explain(explain.gather(app, by_call.id))
    assert lines[1].startswith("expired: it was not started"), lines


def test_bad_expiry_is_refused_and_nothing_is_enqueued(app: jobq.App) -> None:
    with pytest.raises(jobq.ConfigError, match="expires must be in the future"):

        @app.task(expires=0)
        def never() -> None: ...

    @app.task
    def fine() -> None: ...

    past = datetime.now(timezone.utc) - timedelta(seconds=1)
    with pytest.raises(jobq.ConfigError, match="is in the past"):
        fine.enqueue(expires=past)
    with pytest.raises(jobq.ConfigError, match="aware datetime"):
        fine.enqueue(expires=datetime.now() + timedelta(hours=1))
    with pytest.raises(jobq.ConfigError, match="expires must be in the future"):
        fine.enqueue(expires=-5)
    assert app.broker.known_queues() == []  # nothing reached Redis
