"""Turn finished attempts into settlements and write them in batches (one script per queue)."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from traceback import format_exc

import structlog

from jobq.broker import AsyncBroker
from jobq.envelope import Envelope, encode
from jobq.errors import BrokerError
from jobq.execute import Finished
from jobq.protocol import Settlement
from jobq.records import (
    DURATION_BOUNDS,
    FAILED,
    PROCESSED,
    TaskCounters,
    kept_text,
    outcome_blob,
    succeeded_blob,
)
from jobq.retry import Ack, Cancel, DeadLetter, Decision, RetryIn, decide
from jobq.states import JobStatus, OutcomeKind, SettleOp
from jobq.worker.held import Held
from jobq.worker.observed import watch
from jobq.worker.outage import Outage
from jobq.workflow.drain import Drainer, told

log = structlog.get_logger("jobq.worker")

ACK = Ack()
FAILED_KINDS = frozenset((OutcomeKind.ERROR, OutcomeKind.RETRY, OutcomeKind.REJECT))
OUTCOME_FAILED = "the worker failed to record its outcome"


def count_run(counts: dict[str, int], keys: TaskCounters, seconds: float, total: str | None) -> None:
    """Add one run to `counts`: the duration histogram (non-cumulative buckets, sum in
    microseconds) and, when given, the `total` (records.PROCESSED or FAILED) it adds to."""
    counts[keys.count] += 1
    counts[keys.sum_us] += int(seconds * 1e6)
    counts[keys.buckets[bisect_left(DURATION_BOUNDS, seconds)]] += 1
    if total == PROCESSED:
        counts[PROCESSED] += 1
        counts[keys.processed] += 1
    elif total == FAILED:
        counts[FAILED] += 1
        counts[keys.failed] += 1


NO_LIMIT = 1 << 62


@dataclass(frozen=True, slots=True)
class Origin:
    """Who settles: stamped on dead letters."""

    worker: str
    host: str


def dead_details(
    *,
    job_id: str,
    task: str,
    queue: str,
    reason: str,
    error: str,
    traceback: str,
    attempts: int,
    origin: Origin,
) -> str:
    return json.dumps(
        {
            "id": job_id,
            "task": task,
            "queue": queue,
            "reason": reason,
            "error": error,
            "traceback": traceback,
            "attempts": attempts,
            "worker": origin.worker,
            "host": origin.host,
            "time": time.time(),
        },
        separators=(",", ":"),
    )


def dead_letter(
    queue: str,
    stream_id: str,
    raw: str,
    env: Envelope | None,
    attempts: int,
    reason: str,
    error: str,
    traceback: str,
    origin: Origin,
    ttl: int,
    run: tuple[int, int] | None = None,
) -> Settlement:
    """A settlement that moves an entry to the dead-letter stream; `run` holds when the
    attempt that ended it ended (Unix ms) and how long it took (µs): none for entries that
    never ran."""
    job_id = env.id if env else ""
    details = dead_details(
        job_id=job_id,
        task=env.task if env else "",
        queue=queue,
        reason=reason,
        error=error or reason,
        traceback=traceback,
        attempts=attempts,
        origin=origin,
    )
    kept = kept_text(raw, env) if env is not None else None  # it decoded: a JSON object
    ended_ms, took_us = run or (None, None)
    blob = outcome_blob(
        JobStatus.DEAD,
        kept,
        error=error or reason,
        traceback=traceback,
        reason=reason,
        attempts=attempts,
        ended_ms=ended_ms,
        took_us=took_us,
    )
    return Settlement(SettleOp.DEAD, stream_id, job_id, ttl, raw, details, blob, env.workflow if env else "")


def cancelled_outcome(h: Held, attempts: int, run: tuple[int, int] | None = None) -> str:
    """The outcome stored if the job turns out cancelled when its settlement is written."""
    ended_ms, took_us = run or (None, None)
    kept = kept_text(h.raw, h.env)
    return outcome_blob(JobStatus.CANCELLED, kept, attempts=attempts, ended_ms=ended_ms, took_us=took_us)


def settlement_for(
    h: Held, fin: Finished, decision: Decision, origin: Origin, seconds: float, end_ms: int
) -> Settlement:
    """How to settle a finished attempt. Every outcome keeps the envelope (task, arguments),
    the attempts made, and when the last attempt ended (Unix ms, `end_ms`) after how long
    (µs): integers, which cost the hot path a fraction of what formatting floats does."""
    ttl = h.task.options.result_ttl
    took_us = int(seconds * 1_000_000)
    if isinstance(decision, Ack):  # the hot path
        blob = succeeded_blob(h.attempt, end_ms, took_us, kept_text(h.raw, h.env), fin.result_json)
        link, result = h.env.workflow, fin.result_json
        return Settlement(SettleOp.OK, h.stream_id, h.env.id, ttl, blob, link=link, result=result)
    run = (end_ms, took_us)
    cancelled = cancelled_outcome(h, h.attempt, run)
    if isinstance(decision, RetryIn):
        again = encode(h.env.with_prior_attempts(h.attempt), NO_LIMIT, h.task.app.config.signing_key)
        delay_ms = str(int(decision.delay * 1000))
        link = h.env.workflow
        return Settlement(SettleOp.RETRY, h.stream_id, h.env.id, ttl, again, delay_ms, cancelled, link)
    if isinstance(decision, Cancel):
        return Settlement(SettleOp.CANCEL, h.stream_id, h.env.id, ttl, cancelled, link=h.env.workflow)
    assert isinstance(decision, DeadLetter)
    why, error, tb = decision.reason, fin.error, fin.traceback
    return dead_letter(h.queue, h.stream_id, h.raw, h.env, h.attempt, why, error, tb, origin, ttl, run)


def _log_decision(h: Held, fin: Finished, decision: Decision) -> None:
    fields = h.log_fields()
    if isinstance(decision, Ack):
        log.debug("job.succeeded", **fields)
    elif isinstance(decision, RetryIn):
        log.info("job.retry_scheduled", delay_s=round(decision.delay, 3), error=fin.error, **fields)
    elif isinstance(decision, Cancel):
        log.info("job.cancelled", **fields)
    else:
        log.error("job.dead_lettered", reason=decision.reason, error=fin.error, **fields)


class Settler:
    """Collects settlements and flushes them: whatever piles up during one flush goes next."""

    def __init__(
        self,
        broker: AsyncBroker,
        origin: Origin,
        on_settled: Callable[[list[str]], None],
        outage: Outage,
        rng: random.Random | None = None,
    ) -> None:
        self.broker = broker
        self.origin = origin
        self.on_settled = on_settled
        self.rng = rng or random.Random()
        self.pending: list[tuple[str, Settlement]] = []
        self.progress: dict[tuple[str, str], tuple[str, int]] = {}
        self.drainer: Drainer | None = None  # the worker sets it: workflow outbox records
        self.drains: set[asyncio.Task[None]] = set()
        self.counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.task_keys: dict[str, TaskCounters] = {}
        self.wake = asyncio.Event()
        self.outage = outage
        self.closing = False
        self.log_successes = log.bind().is_enabled_for(logging.DEBUG)

    def add_finished(self, done: list[tuple[Held, Finished]]) -> None:
        """Queue the settlements of finished attempts (a burst ends on one clock reading).
        If making one fails (a bug), say so as an error naming the job and dead-letter the
        entry: it is never left held unsettled."""
        end_ms = time.time_ns() // 1_000_000
        for h, fin in done:
            try:
                self._add_finished(h, fin, h.finished_at - h.started, end_ms)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                log.error("job.outcome_failed", error=error, exc_info=True, **h.log_fields())
                ttl = h.task.options.result_ttl
                why = OUTCOME_FAILED
                tb = format_exc()
                dead = dead_letter(
                    h.queue, h.stream_id, h.raw, h.env, h.attempt, why, error, tb, self.origin, ttl
                )
                self.add(h.queue, dead, {FAILED: 1})
        self.wake.set()

    def _add_finished(self, h: Held, fin: Finished, seconds: float, end_ms: int) -> None:
        if fin.outcome.kind == OutcomeKind.OK and h.stop_reason != "cancelled":
            decision: Decision = ACK  # the common case, without the decision table
            if self.log_successes:
                _log_decision(h, fin, decision)
            total: str | None = PROCESSED
        else:
            decision = fin.decision or decide(fin.outcome, h.attempt, h.task.policy, self.rng)
            if h.stop_reason == "cancelled" and not isinstance(decision, Ack):
                decision = Cancel()
            _log_decision(h, fin, decision)
            total = FAILED if fin.outcome.kind in FAILED_KINDS else None
        settlement = settlement_for(h, fin, decision, self.origin, seconds, end_ms)  # first: it may fail
        keys = self.task_keys.get(h.env.task) or self.task_keys.setdefault(
            h.env.task, TaskCounters.of(h.env.task)
        )
        count_run(self.counts[h.queue], keys, seconds, total)
        self.pending.append((h.queue, settlement))

    def add_progress(self, h: Held, blob: str) -> None:
        """Keep a job's latest progress report for the next flush (an older one is replaced)."""
        self.progress[(h.queue, h.env.id)] = (blob, h.task.options.result_ttl or 60)
        self.wake.set()

    def add(self, queue: str, settlement: Settlement, counters: dict[str, int]) -> None:
        """Queue a settlement made elsewhere (dead letters of entries that never ran)."""
        queue_counts = self.counts[queue]
        for field, n in counters.items():
            queue_counts[field] += n
        self.pending.append((queue, settlement))
        self.wake.set()

    async def run(self) -> None:
        """Flush whenever woken, until closed. Stopped by `closing`, never by cancellation:
        a cancel landing inside a Redis call can be swallowed by the client's retry.

        A flush that failed is tried again (after the backoff `flush` waited out) without
        waiting for another job to finish: the entries it would settle stay held, and once
        they fill the fetch cap no job will ever finish to wake this loop."""
        while not self.closing:
            await self.wake.wait()
            self.wake.clear()
            if not await self.flush():
                self.wake.set()

    async def flush(self) -> bool:
        """Write everything pending, one script call per queue; False (and keep what was not
        written, with its counters) if Redis could not be reached."""
        if self.progress and not await self._flush_progress():
            return False
        while self.pending:
            batch, self.pending = self.pending, []
            counts, self.counts = self.counts, defaultdict(lambda: defaultdict(int))
            by_queue: dict[str, list[Settlement]] = defaultdict(list)
            for queue, settlement in batch:
                by_queue[queue].append(settlement)
            for queue, settlements in list(by_queue.items()):
                try:
                    lost, members = await self.broker.settle(queue, settlements, dict(counts.get(queue, {})))
                except BrokerError as exc:
                    self._keep_unwritten(by_queue, counts)
                    await asyncio.sleep(self.outage.failed(exc))
                    return False
                del by_queue[queue]
                counts.pop(queue, None)
                if lost:
                    log.warning("job.settle_skipped_not_owner", queue=queue, stream_ids=lost)
                if members:
                    self._drain(queue, members, settlements)
                self.on_settled([s.stream_id for s in settlements])
            self.outage.ok()
        return True

    def _drain(self, queue: str, members: list[tuple[str, str, str]], settled: list[Settlement]) -> None:
        """Hand the outbox records this settle wrote to the drainer, which runs beside the
        settles (a crash before it finishes is repaired by a sweep of the outbox)."""
        if self.drainer is None:
            return
        by_id = {s.job_id: s for s in settled}
        records = [told(e, j, w, by_id.get(j)) for e, j, w in members]
        task = self.drainer.after_settle(queue, records)
        if task not in self.drains:  # one drain task takes the records of several settles
            watch(task, "workflow drain")
        self.drains.add(task)
        task.add_done_callback(self.drains.discard)

    async def drained(self, timeout: float) -> None:
        """Wait (up to `timeout`) for the workflow drains under way."""
        if self.drains:
            await asyncio.wait(set(self.drains), timeout=timeout)

    async def _flush_progress(self) -> bool:
        """Progress first: a job's last report lands before its outcome."""
        reports, self.progress = self.progress, {}
        try:
            await self.broker.write_progress(reports)
        except BrokerError as exc:
            self.progress = {**reports, **self.progress}
            await asyncio.sleep(self.outage.failed(exc))
            return False
        return True

    async def flush_for(self, seconds: float) -> None:
        """Last flushes of a stopping worker: keep trying for up to `seconds`."""
        deadline = time.monotonic() + seconds
        while self.pending and time.monotonic() < deadline:
            await self.flush()
        await self.drained(max(0.1, deadline - time.monotonic()))

    def _keep_unwritten(
        self, by_queue: dict[str, list[Settlement]], counts: dict[str, dict[str, int]]
    ) -> None:
        self.pending = [(q, s) for q, items in by_queue.items() for s in items] + self.pending
        for queue, fields in counts.items():
            for field, n in fields.items():
                self.counts[queue][field] += n
