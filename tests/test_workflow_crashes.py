"""A chord's callback runs exactly once, whatever crashes between a member's settle and the
workflow's update: real worker processes, every callback run counted in the run log."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import jobq
from tests.apps.workflow_app import register
from tests.support import runlog
from tests.support.processes import JobqProcess
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_for

Start = Callable[..., JobqProcess]
VT = 3.0


@pytest.fixture
def wf_app(redis_server: RedisServer, namespace: str) -> jobq.App:
    return jobq.App(redis_server.url, namespace=namespace, visibility_timeout=VT)


@pytest.fixture
def tasks(wf_app: jobq.App) -> dict[str, Any]:
    return register(wf_app)


def pool(jobq_cli: Start, url: str, namespace: str, runs: Path, *args: str, **env: str) -> JobqProcess:
    return jobq_cli(
        ["worker", "workflow_app", *args],
        url,
        JOBQ_NAMESPACE=namespace,
        JOBQ_RUN_LOG=str(runs),
        JOBQ_VT=str(VT),
        **env,
    )


def killing_pool(jobq_cli: Start, url: str, namespace: str, runs: Path) -> JobqProcess:
    """One process of one slot whose worker dies (SIGKILL) right after each settle that
    wrote an outbox record, before the drain; the pool starts a replacement."""
    return pool(jobq_cli, url, namespace, runs, "-p", "1", "-c", "1", JOBQ_TEST_FAULT="kill-before-drain")


def callbacks(runs: Path) -> int:
    return sum(1 for r in runlog.read(runs) if r.kind == "C")


def drained_with_one_callback(app: jobq.App, runs: Path) -> None:
    """Every outbox record was drained, and the chord's callback ran exactly once."""
    outbox = app.broker.ns.queue("members").outbox
    wait_for(lambda: not app.broker.client.xlen(outbox), 20, "outbox empty")
    assert callbacks(runs) == 1


def test_a_worker_killed_after_every_settle_that_writes_the_outbox(
    jobq_cli: Start,
    redis_server: RedisServer,
    namespace: str,
    runs: Path,
    wf_app: jobq.App,
    tasks: dict[str, Any],
) -> None:
    """A worker dies (SIGKILL) right after each settle that wrote an outbox record and
    before the drain: on one server, the settle of a chord's last member (the others'
    settles applied them to the workflow's state themselves) and of each chain step that
    releases the next. The replacement workers' sweeps finish every update: the callback
    runs once, and the chain runs to its end."""
    job = jobq.chord([tasks["member"].s(i) for i in range(4)], tasks["collect"].s()).delay()
    killing_pool(jobq_cli, redis_server.url, namespace, runs)
    assert job.result(30) == 6
    assert {j.id for j in job.group.jobs} <= set(runlog.ended(runs))
    assert len({r.pid for r in runlog.read(runs)}) >= 2, "no worker was killed"
    # After the chord (a kill while its callback is in flight would run that again: a
    # worker's crash before a settle re-runs what it held, by design).
    steps = jobq.chain(*(tasks["member"].si(i) for i in (7, 8, 9))).delay()
    assert steps.result(30) == 9
    # the chord's last member, and the chain's first two steps: three kills at least
    assert len({r.pid for r in runlog.read(runs)}) >= 4, "a worker was not killed after each outbox write"
    drained_with_one_callback(wf_app, runs)


def test_failed_and_succeeded_members_with_a_worker_killed_after_each_outbox_write(
    jobq_cli: Start,
    redis_server: RedisServer,
    namespace: str,
    runs: Path,
    wf_app: jobq.App,
    tasks: dict[str, Any],
) -> None:
    """Half the members fail (their settles write the outbox; the others' settles count
    them in the state): a worker dies after each outbox write, and the callback, which takes
    failures, still runs once with every member in its place."""
    job = jobq.chord(
        [tasks["refuse"].s(i) for i in range(6)], tasks["collect"].s(), include_failures=True
    ).delay()
    killing_pool(jobq_cli, redis_server.url, namespace, runs)
    assert job.result(60) == 0 + 2 + 4 + 3 * 1000
    assert job.group.counts() == jobq.GroupCounts(6, 6, 3)
    assert len({r.pid for r in runlog.read(runs)}) >= 4, (
        "a worker was not killed after each failure's outbox write"
    )
    drained_with_one_callback(wf_app, runs)


def test_two_last_members_finishing_at_once_enqueue_one_callback(
    jobq_cli: Start,
    redis_server: RedisServer,
    namespace: str,
    runs: Path,
    tmp_path: Path,
    wf_app: jobq.App,
    tasks: dict[str, Any],
) -> None:
    """Two processes finish the last two members at the same instant; their drains are held
    back past the sweep age, so both sweeps and both drains replay the same records."""
    flags = tmp_path / "flags"
    flags.mkdir()
    for round_ in range(3):
        round_flags = flags / str(round_)
        round_flags.mkdir()
        job = jobq.chord(
            [tasks["together"].s(i, str(round_flags), 2) for i in range(2)], tasks["collect"].s()
        ).delay()
        if round_ == 0:
            pool(
                jobq_cli,
                redis_server.url,
                namespace,
                runs,
                "-p",
                "2",
                "-c",
                "1",
                JOBQ_TEST_FAULT="slow-drain",
            )
        assert job.result(60) == 1
    starts = [r for r in runlog.read(runs) if r.kind == "S"]
    assert len({r.pid for r in starts}) == 2, "the members did not run on two processes"
    wait_for(lambda: callbacks(runs) >= 3, 10, "three callbacks")
    assert callbacks(runs) == 3  # one per chord


def test_a_member_redelivered_after_its_lease_lapsed_counts_once(
    jobq_cli: Start,
    redis_server: RedisServer,
    namespace: str,
    runs: Path,
    wf_app: jobq.App,
    tasks: dict[str, Any],
) -> None:
    """A member's worker is frozen past the visibility timeout: another runs the member
    again; when the frozen one wakes, its settle is refused. One callback."""
    job = jobq.chord([tasks["member"].s(0, 2.0), tasks["member"].s(1)], tasks["collect"].s()).delay()
    pool(jobq_cli, redis_server.url, namespace, runs, "-p", "2", "-c", "1")
    slow = job.group.jobs[0].id
    first = wait_for(lambda: next((r for r in runlog.read(runs) if r.job_id == slow), None), 30, "slow start")
    os.kill(first.pid, signal.SIGSTOP)
    try:
        wait_for(lambda: runlog.started(runs)[slow] >= 2, 30, "the member to run again elsewhere")
        assert job.result(30) == 1
    finally:
        os.kill(first.pid, signal.SIGCONT)
    wait_for(lambda: runlog.ended(runs)[slow] >= 2, 30, "the woken worker to finish its run too")
    drained_with_one_callback(wf_app, runs)
