"""Workflow crashes on a real three-master Redis Cluster: a member's queue, the callback's
queue and the workflow's state in slots of their own, so no script sees two of them and
only the outbox and its sweep carry a member's end to the workflow across a kill -9."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import jobq
from tests.apps.workflow_app import register
from tests.support import runlog
from tests.support.cluster import CLUSTER_VT, RedisClusterSet
from tests.support.processes import JobqProcess
from tests.support.waiting import wait_for

Start = Callable[..., JobqProcess]
VT = CLUSTER_VT


def test_a_worker_killed_after_each_members_settle_on_a_cluster(
    capp: jobq.App, cluster: RedisClusterSet, jobq_cli: Start, runs: Path
) -> None:
    """Each member's worker dies (SIGKILL) right after its settle wrote the outbox record
    and before the workflow heard of it: sweeps of the replacements finish every update
    across the shards, and the callback runs once, with every result."""
    tasks: dict[str, Any] = register(capp)
    job = jobq.chord([tasks["member"].s(i) for i in range(4)], tasks["collect"].s()).delay()
    slots = {
        cluster.port_of(capp.broker.queue_keys("members").stream),
        cluster.port_of(capp.broker.queue_keys("callbacks").stream),
        cluster.port_of(capp.broker.ns.workflow(job.workflow_id)),
    }
    assert len(slots) >= 2, "the members, the callback and the state all on one shard"
    env = {"JOBQ_NAMESPACE": capp.config.namespace, "JOBQ_RUN_LOG": str(runs), "JOBQ_VT": str(VT)}
    jobq_cli(
        ["worker", "workflow_app", "-p", "1", "-c", "1"],
        cluster.url,
        JOBQ_TEST_FAULT="kill-before-drain",
        **env,
    )
    assert job.result(60) == 6
    assert {j.id for j in job.group.jobs} <= set(runlog.ended(runs))
    assert len({r.pid for r in runlog.read(runs) if r.kind == "E"}) >= 2, "no worker was killed"
    outbox = capp.broker.queue_keys("members").outbox
    wait_for(lambda: not capp.broker.client.xlen(outbox), 20, "the members' outbox to empty")
    assert sum(1 for r in runlog.read(runs) if r.kind == "C") == 1
