"""Turn finished attempts into settlements and write them in batches (one script per queue)."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from jobq.broker import AsyncBroker, RedisError
from jobq.envelope import Envelope, encode
from jobq.execute import Finished
from jobq.job import outcome_blob
from jobq.protocol import Settlement
from jobq.retry import Ack, Cancel, DeadLetter, Decision, RetryIn, decide
from jobq.worker.held import Held
from jobq.worker.outage import Outage

log = structlog.get_logger("jobq.worker")

CANCELLED_BLOB = outcome_blob("cancelled")
DURATION_BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


def duration_counters(task: str, seconds: float) -> dict[str, int]:
    """Histogram fields for one run: count, sum in microseconds, and its (non-cumulative) bucket."""
    bound = next((str(b) for b in DURATION_BOUNDS if seconds <= b), "inf")
    return {f"dcount:{task}": 1, f"dsum_us:{task}": int(seconds * 1e6), f"dle:{task}:{bound}": 1}


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
) -> Settlement:
    """A settlement that moves an entry to the dead-letter stream."""
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
    blob = outcome_blob("dead", e=error or reason, tb=traceback, why=reason, n=attempts)
    return Settlement("dead", stream_id, job_id, ttl, raw, details, blob)


def settlement_for(h: Held, fin: Finished, decision: Decision, origin: Origin) -> Settlement:
    ttl = h.task.options.result_ttl
    if isinstance(decision, Ack):
        return Settlement("ok", h.stream_id, h.env.id, ttl, '{"s":"succeeded","r":' + fin.result_json + "}")
    if isinstance(decision, RetryIn):
        again = encode(h.env.with_prior_attempts(h.attempt), NO_LIMIT, h.task.app.config.signing_key)
        return Settlement(
            "retry", h.stream_id, h.env.id, ttl, again, str(int(decision.delay * 1000)), CANCELLED_BLOB
        )
    if isinstance(decision, Cancel):
        return Settlement("cancel", h.stream_id, h.env.id, ttl, CANCELLED_BLOB)
    assert isinstance(decision, DeadLetter)
    return dead_letter(
        h.queue, h.stream_id, h.raw, h.env, h.attempt, decision.reason, fin.error, fin.traceback, origin, ttl
    )


def _log_decision(h: Held, fin: Finished, decision: Decision) -> None:
    fields = {"job_id": h.env.id, "task": h.env.task, "queue": h.queue, "attempt": h.attempt}
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
        self.pending: list[tuple[str, Settlement, dict[str, int]]] = []
        self.wake = asyncio.Event()
        self.outage = outage
        self.closing = False

    def add_finished(self, h: Held, fin: Finished, seconds: float) -> None:
        decision = decide(fin.outcome, h.attempt, h.task.options.policy, self.rng)
        if h.stop_reason == "cancelled" and not isinstance(decision, Ack):
            decision = Cancel()
        _log_decision(h, fin, decision)
        kind = (
            "processed"
            if isinstance(decision, Ack)
            else ("failed" if fin.outcome.kind in ("error", "retry", "reject") else "")
        )
        counters = duration_counters(h.env.task, seconds)
        if kind:
            counters[kind] = 1
            counters[f"{kind}:{h.env.task}"] = 1
        self.add(h.queue, settlement_for(h, fin, decision, self.origin), counters)

    def add(self, queue: str, settlement: Settlement, counters: dict[str, int]) -> None:
        self.pending.append((queue, settlement, counters))
        self.wake.set()

    async def run(self) -> None:
        """Flush whenever woken, until closed. Stopped by `closing`, never by cancellation:
        a cancel landing inside a Redis call can be swallowed by the client's retry."""
        while not self.closing:
            await self.wake.wait()
            self.wake.clear()
            await self.flush()

    async def flush(self) -> bool:
        """Write everything pending; False (and keep it) if Redis could not be reached."""
        while self.pending:
            batch, self.pending = self.pending, []
            try:
                await self._write(batch)
            except (RedisError, OSError) as exc:
                self.pending = batch + self.pending
                await asyncio.sleep(self.outage.failed(exc))
                return False
            self.outage.ok()
        return True

    async def _write(self, batch: list[tuple[str, Settlement, dict[str, int]]]) -> None:
        by_queue: dict[str, list[Settlement]] = defaultdict(list)
        counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for queue, settlement, counters in batch:
            by_queue[queue].append(settlement)
            for field, n in counters.items():
                counts[queue][field] += n
        for queue, settlements in by_queue.items():
            lost = await self.broker.settle(queue, settlements, dict(counts[queue]))
            if lost:
                log.warning("job.settle_skipped_not_owner", queue=queue, stream_ids=lost)
            self.on_settled([s.stream_id for s in settlements])
