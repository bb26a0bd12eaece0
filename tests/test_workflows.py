"""Chains, groups and chords on a real Redis: results, failures, bad input, operations."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

import jobq
import jobq.workflow.start
from jobq.cli import cli
from jobq.testing import BackgroundWorker, drain


@pytest.fixture
def t(app: jobq.App) -> dict[str, Any]:
    @app.task(name="wf.add")
    def add(x: int, y: int) -> int:
        return x + y

    @app.task(name="wf.total", queue="callbacks")
    def total(xs: list[Any], bonus: int = 0) -> Any:
        return sum(x if isinstance(x, int) else 1000 for x in xs) + bonus

    @app.task(name="wf.boom", retries=0)
    def boom(x: int) -> int:
        raise jobq.Reject("no")

    @app.task(name="wf.never", queue="other")
    def never() -> int:
        return 0

    return {"add": add, "total": total, "boom": boom, "never": never}


def test_a_chain_passes_each_result_on_and_si_takes_none(app: jobq.App, t: dict[str, Any]) -> None:
    add = t["add"]
    job = jobq.chain(add.s(1, 2), add.s(10), add.si(5, 5), add.s(100)).delay()
    assert [j.status() for j in job.jobs[1:]] == ["waiting"] * 3
    drain(app, ["default", "callbacks"])
    assert job.result(5) == 110
    assert [j.result(1) for j in job.jobs] == [3, 13, 10, 110]


def test_a_group_gives_results_in_order_and_counts(app: jobq.App, t: dict[str, Any]) -> None:
    add, boom = t["add"], t["boom"]
    g = jobq.group(add.s(i, i) for i in range(20)).delay()
    drain(app)
    assert g.results(5) == [2 * i for i in range(20)]
    assert g.counts() == jobq.GroupCounts(20, 20, 0)
    bad = jobq.group([add.s(1, 1), boom.s(1)]).delay()
    drain(app)
    assert bad.counts() == jobq.GroupCounts(2, 2, 1)
    with pytest.raises(jobq.JobFailed):
        bad.results(5)


def test_a_big_group_over_two_queues_keeps_its_members_in_order(
    app: jobq.App, t: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Members are enqueued in rounds that double up to a cap (here 100, 200, 400, 400,
    400, then the last 100), one call a queue each: every member of every round and queue
    is there once, in the order given."""
    add, never = t["add"], t["never"]
    monkeypatch.setattr(jobq.workflow.start, "FIRST_CHUNK", 100)
    monkeypatch.setattr(jobq.workflow.start, "LAST_CHUNK", 400)
    sent: list[int] = []
    enqueue = app.broker.enqueue

    def counted(queue: str, jobs: list[Any]) -> list[bool]:
        sent.append(len(jobs))
        return enqueue(queue, jobs)

    monkeypatch.setattr(app.broker, "enqueue", counted)
    g = jobq.group(add.s(i, 0) if i % 3 else never.s() for i in range(1600)).delay()
    assert [sent[i] + sent[i + 1] for i in range(0, len(sent), 2)] == [100, 200, 400, 400, 400, 100]
    assert len({job.id for job in g.jobs}) == 1600
    assert [job.queue for job in g.jobs[:3]] == ["other", "default", "default"]
    drain(app, ["default", "other"])
    assert g.results(10) == [i if i % 3 else 0 for i in range(1600)]
    assert g.counts() == jobq.GroupCounts(1600, 1600, 0)


def test_a_succeeded_member_is_applied_by_its_own_settle(app: jobq.App, t: dict[str, Any]) -> None:
    """On one server a settle applies its succeeded members to their workflow's state in
    the same step: the members of a chord, settled a job or two at a time, write one outbox
    record between them (the last one's, which releases the callback), not one a settle."""
    add, total = t["add"], t["total"]
    job = jobq.chord([add.s(i, 1) for i in range(30)], total.s()).delay()
    drain(app, ["default", "callbacks"], concurrency=1)
    assert job.result(5) == sum(range(30)) + 30
    assert job.group.counts() == jobq.GroupCounts(30, 30, 0)
    outbox = app.broker.ns.queue("default").outbox
    assert app.broker.client.xinfo_stream(outbox)["entries-added"] == 1


def test_a_chord_calls_back_once_with_the_results(app: jobq.App, t: dict[str, Any]) -> None:
    add, total = t["add"], t["total"]
    job = jobq.chord([add.s(i, 1) for i in range(10)], total.s(bonus=1000)).delay()
    assert job.status() == "waiting"
    drain(app, ["default", "callbacks"])
    assert job.result(5) == 55 + 1000
    assert job.group.results(1) == [i + 1 for i in range(10)]


def test_a_failed_member_cancels_the_callback_unless_failures_are_included(
    app: jobq.App, t: dict[str, Any]
) -> None:
    add, total, boom = t["add"], t["total"], t["boom"]
    job = jobq.chord([add.s(1, 1), boom.s(1)], total.s()).delay()
    with_failures = jobq.chord([add.s(1, 1), boom.s(1)], total.s(), include_failures=True).delay()
    drain(app, ["default", "callbacks"])
    failed = job.group.jobs[1].id
    with pytest.raises(jobq.JobCancelled, match=f"dependency {failed} failed"):
        job.result(5)
    assert job.status() == "cancelled"
    assert with_failures.result(5) == 2 + 1000  # the failure is a dict in the list


def test_a_failed_chain_step_cancels_the_steps_after_it(app: jobq.App, t: dict[str, Any]) -> None:
    add, boom = t["add"], t["boom"]
    job = jobq.chain(add.s(1, 2), boom.s(), add.s(1), add.s(1)).delay()
    drain(app)
    assert [j.status() for j in job.jobs] == ["succeeded", "dead", "cancelled", "cancelled"]
    with pytest.raises(jobq.JobCancelled, match=f"dependency {job.jobs[1].id} failed"):
        job.result(1)


def test_bad_input_raises_and_enqueues_nothing(app: jobq.App, t: dict[str, Any]) -> None:
    add, _total, never = t["add"], t["total"], t["never"]
    with pytest.raises(jobq.BadStep, match=r"wf\.add"):
        jobq.chain(add.s(1, 2), add.s(1, 2)).delay()  # the second gets 3 arguments
    with pytest.raises(jobq.BadStep):
        jobq.chord([add.s(1, 2)], never.s()).delay()  # never() cannot take the results
    with pytest.raises(jobq.EmptyWorkflow):
        jobq.group([]).delay()
    with pytest.raises(jobq.EmptyWorkflow):
        jobq.chain().delay()
    with pytest.raises(jobq.SerializationError):
        jobq.chain(add.s(1, 2), add.s(object())).delay()
    with pytest.raises(jobq.SerializationError):  # found before the first member is enqueued
        jobq.group([add.s(1, 2), add.s(1, object())]).delay()
    with pytest.raises(jobq.SerializationError):
        jobq.group([add.s(1, 2), add.s(1, "x" * app.config.max_payload_bytes)]).delay()
    for not_json in (float("nan"), float("inf"), 10**5000):  # plain values JSON cannot hold
        with pytest.raises(jobq.SerializationError):
            jobq.group([add.s(1, 2), add.s(1, not_json)]).delay()
    assert isinstance(jobq.BadStep("x"), jobq.JobqError)
    client = app.broker.client
    assert not client.keys(f"{app.config.namespace}:*stream") or all(
        client.xlen(k) == 0 for k in client.keys(f"{app.config.namespace}:*stream")
    )
    assert client.keys(f"{app.config.namespace}:{{wf:*") == []


def test_cancelling_a_workflow_cancels_its_unfinished_jobs(app: jobq.App, t: dict[str, Any]) -> None:
    add, total = t["add"], t["total"]
    job = jobq.chord([add.s(i, 1) for i in range(3)], total.s()).delay()
    assert job.cancel() is True
    assert [j.status() for j in job.jobs] == ["cancelled"] * 4
    with BackgroundWorker(app, ["default", "callbacks"]), pytest.raises(jobq.JobCancelled):
        job.result(5)


def test_cancelling_a_member_closes_the_callback_and_later_steps_at_once(
    app: jobq.App, t: dict[str, Any]
) -> None:
    add, total = t["add"], t["total"]
    job = jobq.chord([add.s(i, 1) for i in range(3)], total.s()).delay()
    assert job.group.jobs[1].cancel()
    assert job.status() == "cancelled"  # by the time cancel() returned; no worker ran
    steps = jobq.chain(add.s(1, 2), add.s(3), add.s(4)).delay()
    assert steps.jobs[0].cancel()
    assert [j.status() for j in steps.jobs] == ["cancelled"] * 3


def test_job_show_and_explain_name_workflow_parents_and_children(app: jobq.App, t: dict[str, Any]) -> None:
    add, total = t["add"], t["total"]
    job = jobq.chain(add.s(1, 2), add.s(1)).delay()
    first, last = job.jobs
    base = ["--redis-url", app.config.redis_url, "--namespace", app.config.namespace]

    def show(*args: str) -> str:
        done = CliRunner().invoke(cli, [*args, *base])
        assert done.exit_code == 0, done.output
        return done.output

    waiting = show("job", "show", last.id)
    assert "state:       waiting" in waiting
    assert f"waits on chain workflow {job.workflow_id} (0 of 2 succeeded, 0 failed)" in waiting
    assert f"parents: {first.id}\n" in waiting
    member = show("job", "show", first.id)
    assert f"in chain workflow {job.workflow_id} (0 of 2 succeeded, 0 failed); then job {last.id}" in member
    assert f"then job {last.id}" in show("explain", first.id)
    chord = jobq.chord([add.s(1, 1)], total.s()).delay()
    data = json.loads(show("job", "show", chord.group.jobs[0].id, "--json"))
    assert data["workflows"][0]["next_job"] == chord.id
    assert data["workflows"][0]["kind"] == "chord"
