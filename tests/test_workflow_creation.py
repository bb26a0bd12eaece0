"""A producer that dies while creating a workflow leaves nothing for ever: the state was
written with a TTL that only a finished creation lifts, and a worker's sweep cancels the
jobs left waiting on a workflow whose state is gone."""

from __future__ import annotations

from typing import Any

import pytest

import jobq
from jobq.errors import BrokerUnavailable
from jobq.testing import BackgroundWorker
from jobq.workflow import drain, start
from tests.support.waiting import wait_for


def test_a_creation_that_dies_half_way_leaves_no_state_and_no_job_waiting_for_ever(
    app: jobq.App, monkeypatch: pytest.MonkeyPatch
) -> None:
    @app.task(name="wc.part")
    def part(i: int) -> int:
        return i

    @app.task(name="wc.total", queue="wc-totals")
    def total(xs: list[int]) -> int:
        return sum(xs)

    monkeypatch.setattr(start, "CREATING_S", 1)
    monkeypatch.setattr(drain, "UNSTICK_S", 0.0)  # every outbox sweep (1 s) looks for waiters

    def dies_before_the_members(queue: str, jobs: list[Any]) -> list[bool]:
        raise BrokerUnavailable("injected: the producer died here")

    monkeypatch.setattr(app.broker, "enqueue", dies_before_the_members)
    with pytest.raises(BrokerUnavailable):
        jobq.chord([part.s(1), part.s(2)], total.s()).delay()
    client: Any = app.broker.client
    waiting = client.hgetall(app.broker.queue_keys("wc-totals").jobs)
    assert len(waiting) == 1, "the callback waits on its chord"
    ((callback_id, record),) = waiting.items()
    state = app.broker.ns.workflow(record[1:])
    assert client.ttl(state) > 0, "a half-created state must expire"
    wait_for(lambda: not client.exists(state), 10, "the half-created state to expire")

    callback = app.job(callback_id)
    with BackgroundWorker(app, ["wc-totals"]):
        wait_for(lambda: callback.status() == "cancelled", 15, "the waiting callback to be cancelled")
    with pytest.raises(jobq.JobCancelled, match="never completely created"):
        callback.result(1)


def test_a_created_workflow_keeps_its_state_until_it_finishes(app: jobq.App) -> None:
    @app.task(name="wc.add")
    def add(a: int, b: int) -> int:
        return a + b

    job = jobq.chain(add.s(1, 2), add.s(3)).delay()
    client: Any = app.broker.client
    assert client.ttl(app.broker.ns.workflow(job.workflow_id)) == -1  # no TTL while it runs
