"""Move "member finished" records from a queue's outbox to their workflows.

Every step is idempotent, so the drain is a replay: apply the records to each workflow
(wf_apply.lua counts a member once), release or cancel what follows (wf_admit.lua runs a
waiting job only while it still waits), then delete the records. A worker that dies
anywhere in between leaves the records in the outbox, and any worker's sweep
(`sweep`, records older than SWEEP_AGE_MS) does the same steps again.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections import defaultdict
from collections.abc import Sequence

import structlog

from jobq.broker import AsyncBroker
from jobq.config import Config
from jobq.errors import BrokerError
from jobq.protocol import Member, Outboxed, Settlement
from jobq.records import parse_outcome
from jobq.states import JobStatus, SettleOp
from jobq.workflow.steps import Admits, follow, member_value, unlink

log = structlog.get_logger("jobq.worker")
SUCCEEDED = JobStatus.SUCCEEDED.value

SWEEP_AGE_MS = 3000  # an outbox record this old was left by a drain that did not finish
SWEEP_COUNT = 1000
GATHER_S = 0.005  # a drain waits this long for more records: one batch, fewer round trips;
GATHER_MAX_S = 0.04  # while records keep coming in bursts, up to this long (doubling)
BURST = 16  # records: a batch this big is a burst
FAULT_ENV = "JOBQ_TEST_FAULT"  # tests only: "kill-before-drain", "slow-drain" (after_settle)


def told(entry_id: str, job_id: str, workflows: str, s: Settlement | None) -> Outboxed:
    """What the workflows of a job just settled hear, as its outbox record says (the
    settler's copy: no need to read the record back)."""
    if s is None:
        return Outboxed(entry_id, job_id, workflows, "{}")
    if s.op == SettleOp.OK:
        return Outboxed(entry_id, job_id, workflows, s.x1, s.result)
    return Outboxed(entry_id, job_id, workflows, s.x3 if s.op in (SettleOp.DEAD, SettleOp.RETRY) else s.x1)


class Drainer:
    """Drains outbox records into workflows, for one worker."""

    def __init__(self, broker: AsyncBroker, config: Config) -> None:
        self.broker = broker
        self.config = config
        self.fault = os.environ.get(FAULT_ENV, "")
        self.pending: dict[str, list[Outboxed]] = defaultdict(list)
        self.task: asyncio.Task[None] | None = None

    async def drain(self, queue: str, records: Sequence[Outboxed]) -> None:
        """Apply, release, delete: raises BrokerError and leaves the records to a sweep."""
        by_workflow: dict[str, list[Member]] = defaultdict(list)
        for rec in records:
            if rec.result:  # it succeeded: its result is the value
                state, value = SUCCEEDED, rec.result
            else:
                state, value = member_value(rec.job_id, parse_outcome(rec.outcome))
            for link in rec.workflows.split():
                workflow_id, index = unlink(link)
                by_workflow[workflow_id].append((rec.job_id, index, state, value))
        admits: Admits = defaultdict(list)
        for workflow_id, members in by_workflow.items():
            applied = await self.broker.wf_apply(workflow_id, members)
            actions = applied.actions
            if any(op == "collect" for op, _, _ in actions):  # a chord is complete
                results = await self.broker.wf_results(workflow_id, applied.members)
                actions = [("run", s, results) if op == "collect" else (op, s, x) for op, s, x in actions]
            follow(admits, actions, self.config)
        cascades: dict[str, list[str]] = defaultdict(list)
        for (target, ttl), items in admits.items():
            replies = await self.broker.wf_admit(target, items, ttl)
            cascades[target] += [str(r) for r in replies if isinstance(r, str) and "-" in r]
        await self.broker.outbox_delete(queue, [rec.entry_id for rec in records])
        for target, entry_ids in cascades.items():  # cancelled jobs that were parents too
            if entry_ids:
                await self.drain(target, await self.broker.outbox_entries(target, entry_ids))

    async def sweep(self, queues: Sequence[str]) -> None:
        """Finish drains that a dead worker left behind (records older than SWEEP_AGE_MS)."""
        now_ms = await self.broker.server_time_ms()
        for queue in queues:
            records = await self.broker.outbox_read(queue, now_ms - SWEEP_AGE_MS, SWEEP_COUNT)
            if records:
                log.info("workflow.outbox_replayed", queue=queue, records=len(records))
                await self.drain(queue, records)

    def after_settle(self, queue: str, records: Sequence[Outboxed]) -> asyncio.Task[None]:
        """Drain what a settle just wrote, in the background; returns the task that does.
        Records of settles that land while a drain runs wait for it and go in one batch,
        so a burst of settles costs a few round trips, not a few per settle."""
        if self.fault == "kill-before-drain":  # a crash between the settle and the workflow
            os.kill(os.getpid(), signal.SIGKILL)
        self.pending[queue].extend(records)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._drain_pending())
        return self.task

    async def _drain_pending(self) -> None:
        """Drain until nothing is pending; a failure is left to a sweep."""
        if self.fault == "slow-drain":  # sweeps of other workers replay the same records
            await asyncio.sleep(SWEEP_AGE_MS / 1000 + 1.5)
        gather = GATHER_S
        while self.pending:
            await asyncio.sleep(gather)  # let the settles of the next few ms join this batch
            batch, self.pending = self.pending, defaultdict(list)
            burst = sum(map(len, batch.values())) >= BURST
            gather = min(GATHER_MAX_S, gather * 2) if burst else GATHER_S
            for queue, records in batch.items():
                try:
                    await self.drain(queue, records)
                except BrokerError as exc:
                    log.warning(
                        "workflow.drain_failed", queue=queue, error=str(exc), note="a sweep retries it"
                    )
