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
import time
from collections import defaultdict
from collections.abc import Callable, Sequence

import structlog

from jobq.broker import AsyncBroker
from jobq.config import Config
from jobq.errors import BrokerError
from jobq.protocol import Admit, Member, Outboxed, Settlement
from jobq.records import parse_outcome, unlink
from jobq.states import JobStatus, SettleOp
from jobq.workflow.steps import Admits, follow, member_value, workflow_gone

log = structlog.get_logger("jobq.worker")
SUCCEEDED = JobStatus.SUCCEEDED.value

SWEEP_AGE_MS = 3000  # an outbox record this old was left by a drain that did not finish
SWEEP_COUNT = 1000
GATHER_S = 0.005  # a drain waits this long for more records: one batch, fewer round trips;
GATHER_MAX_S = 0.04  # while records keep coming in bursts, up to this long (doubling); but
# only while the worker holds jobs: once it holds none, no settle is coming to join
BURST = 16  # records: a batch this big is a burst
UNSTICK_S = 10.0  # how often a worker looks for jobs left waiting (one page a queue)
UNSTICK_COUNT = 500
GONE_TTL = 86400  # s: the cancelled outcome of a job whose workflow is gone is kept this long
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

    def __init__(self, broker: AsyncBroker, config: Config, busy: Callable[[], bool] = lambda: True) -> None:
        self.broker = broker
        self.config = config
        self.busy = busy  # does the worker hold jobs (whose settles would join a batch)?
        self.gather = GATHER_S  # the next batch's wait: kept from one drain task to the next
        self.fault = os.environ.get(FAULT_ENV, "")
        self.pending: dict[str, list[Outboxed]] = defaultdict(list)
        self.task: asyncio.Task[None] | None = None
        self.cursors: dict[str, int] = {}  # unstick: where each queue's scan of job records is
        self.unstick_at = time.monotonic() + UNSTICK_S

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
        await self._apply(by_workflow, admits)
        cascades = await self._admit(admits)
        await self.broker.outbox_delete(queue, [rec.entry_id for rec in records])
        await self._cascade(cascades)

    async def _apply(self, by_workflow: dict[str, list[Member]], admits: Admits) -> set[str]:
        """Apply members to their workflows, adding to `admits` what follows; returns the
        workflows whose state is gone (finished and expired, or never fully created)."""
        gone = set()
        for workflow_id, members in by_workflow.items():
            applied = await self.broker.wf_apply(workflow_id, members)
            if not applied.members:
                gone.add(workflow_id)
            actions = applied.actions
            if any(op == "collect" for op, _, _ in actions):  # a chord is complete
                results = await self.broker.wf_results(workflow_id, applied.members)
                actions = [("run", s, results) if op == "collect" else (op, s, x) for op, s, x in actions]
            follow(admits, actions, self.config)
        return gone

    async def _admit(self, admits: Admits) -> dict[str, list[str]]:
        """Release or cancel; returns the outbox records of cancelled jobs that were parents."""
        cascades: dict[str, list[str]] = defaultdict(list)
        for (target, ttl), items in admits.items():
            replies = await self.broker.wf_admit(target, items, ttl)
            cascades[target] += [str(r) for r in replies if isinstance(r, str) and "-" in r]
        return cascades

    async def _cascade(self, cascades: dict[str, list[str]]) -> None:
        for target, entry_ids in cascades.items():  # cancelled jobs that were parents too
            if entry_ids:
                await self.drain(target, await self.broker.outbox_entries(target, entry_ids))

    async def unstick(self, queues: Sequence[str]) -> None:
        """Jobs left waiting by a producer that died creating their workflow: one page of
        each queue's job records a call (a cursor per queue, so every record is seen in
        turn). A waiter whose workflow state is gone is cancelled; one whose workflow is
        complete is released (wf_admit.lua acts only on a job that still waits)."""
        for queue in queues:
            cursor, waiting = await self.broker.waiting_page(queue, self.cursors.get(queue, 0), UNSTICK_COUNT)
            self.cursors[queue] = cursor
            by_workflow: dict[str, list[str]] = defaultdict(list)
            for job_id, workflow_id in waiting:
                by_workflow[workflow_id].append(job_id)
            admits: Admits = defaultdict(list)
            gone = await self._apply({w: [] for w in by_workflow}, admits)
            for workflow_id in gone:
                why = workflow_gone(workflow_id)
                admits[(queue, GONE_TTL)] += [Admit("cancel", j, "", why) for j in by_workflow[workflow_id]]
                log.warning("workflow.waiters_cancelled", queue=queue, workflow=workflow_id)
            await self._cascade(await self._admit(admits))

    async def sweep(self, queues: Sequence[str]) -> None:
        """Finish drains that a dead worker left behind (records older than SWEEP_AGE_MS),
        and now and then look for jobs left waiting on workflows (`unstick`)."""
        now_ms = await self.broker.server_time_ms()
        if time.monotonic() >= self.unstick_at:
            self.unstick_at = time.monotonic() + UNSTICK_S
            await self.unstick(queues)
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
        while self.pending:
            await self._gather(self.gather)
            batch, self.pending = self.pending, defaultdict(list)
            burst = sum(map(len, batch.values())) >= BURST
            self.gather = min(GATHER_MAX_S, self.gather * 2) if burst else GATHER_S
            for queue, records in batch.items():
                try:
                    await self.drain(queue, records)
                except BrokerError as exc:
                    log.warning(
                        "workflow.drain_failed", queue=queue, error=str(exc), note="a sweep retries it"
                    )

    async def _gather(self, seconds: float) -> None:
        """Let the settles of the next `seconds` join this batch, while the worker holds
        jobs: the last member of a chord is drained at once, not after a burst's wait."""
        waited = 0.0
        while waited < seconds and self.busy():
            await asyncio.sleep(GATHER_S)
            waited += GATHER_S
