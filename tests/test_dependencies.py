"""`enqueue(..., after=[...])`: a job waits ("waiting") until every parent succeeded; a
parent that fails cancels it with "dependency <id> failed"; bad input enqueues nothing."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import jobq
from jobq.testing import BackgroundWorker, drain


@pytest.fixture
def t(app: jobq.App) -> dict[str, Any]:
    gate = threading.Event()

    @app.task(name="dep.add")
    def add(x: int, y: int) -> int:
        return x + y

    @app.task(name="dep.slow", queue="slow")
    def slow(x: int) -> int:
        gate.wait(10)
        return x

    @app.task(name="dep.boom", retries=0)
    def boom() -> None:
        raise jobq.Reject("no")

    return {"add": add, "slow": slow, "boom": boom, "gate": gate}


def test_a_job_waits_for_all_its_parents_on_other_queues(app: jobq.App, t: dict[str, Any]) -> None:
    add, slow, gate = t["add"], t["slow"], t["gate"]
    with BackgroundWorker(app, ["default", "slow"]):
        a = add.delay(1, 1)
        b = slow.delay(5)
        child = add.enqueue(args=(10, 20), after=[a, b.id])
        a.result(5)
        assert child.status() == "waiting"
        gate.set()
        assert child.result(10) == 30


def test_a_parent_finished_already_counts_at_once(app: jobq.App, t: dict[str, Any]) -> None:
    add = t["add"]
    a = add.delay(1, 1)
    drain(app)
    child = add.enqueue(args=(1, 2), after=[a])
    assert child.status() == "queued"
    drain(app)
    assert child.result(1) == 3


def test_a_failed_parent_cancels_its_dependents_down_the_line(app: jobq.App, t: dict[str, Any]) -> None:
    add, boom = t["add"], t["boom"]
    bad = boom.delay()
    child = add.enqueue(args=(1, 2), after=[bad])
    grandchild = add.enqueue(args=(3, 4), after=[child])
    drain(app)
    assert child.status() == "cancelled"
    with pytest.raises(jobq.JobCancelled, match=f"dependency {bad.id} failed"):
        child.result(1)
    assert grandchild.status() == "cancelled"
    with pytest.raises(jobq.JobCancelled, match=f"dependency {child.id} failed"):
        grandchild.result(1)


def test_cancelling_a_parent_cancels_its_dependents_before_cancel_returns(
    app: jobq.App, t: dict[str, Any]
) -> None:
    """No worker runs: the cancel itself drains what it told the workflows."""
    add = t["add"]
    parent = add.enqueue(args=(1, 1), delay=60)
    child = add.enqueue(args=(1, 2), after=[parent])
    grandchild = add.enqueue(args=(1, 3), after=[child])
    assert parent.cancel()
    assert child.status() == "cancelled"
    assert grandchild.status() == "cancelled"
    with pytest.raises(jobq.JobCancelled, match=f"dependency {child.id} failed"):
        grandchild.result(1)
    assert app.broker.outbox_read("default", "+", 10) == []


def test_bad_after_raises_and_enqueues_nothing(app: jobq.App, t: dict[str, Any]) -> None:
    add = t["add"]
    a = add.delay(1, 1)
    with pytest.raises(jobq.DependencyCycle):
        add.enqueue(args=(1, 2), job_id="me", after=[a, "me"])
    with pytest.raises(jobq.UnknownParent):
        add.enqueue(args=(1, 2), after=[a, "no-such-job"])
    with pytest.raises(jobq.WorkflowError):
        add.enqueue(args=(1, 2), after=[a], delay=5)
    assert isinstance(jobq.UnknownParent("x"), jobq.JobqError)
    client = app.broker.client
    assert client.hlen(app.broker.queue_keys("default").jobs) == 1  # only a
    assert client.keys(f"{app.config.namespace}:{{wf:*") == []


def test_a_chord_member_that_is_a_parent_tells_both(app: jobq.App, t: dict[str, Any]) -> None:
    """A member's settle counts it in its chord; one that jobs wait on (after=) goes by the
    outbox instead, which tells the chord and the waiting job alike."""
    add = t["add"]
    album = jobq.chord([add.s(i, 0) for i in range(6)], add.si(100, 1)).delay()
    members = album.group.jobs
    child = add.enqueue(args=(7, 8), after=[members[2], members[4]])
    assert child.status() == "waiting"
    drain(app)
    assert child.result(5) == 15
    assert album.result(5) == 101
    assert album.group.results(5) == list(range(6))
    assert album.group.counts() == jobq.GroupCounts(6, 6, 0)
