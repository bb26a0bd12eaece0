"""Drain weighted queues with a real Worker and check each queue's share of the work."""

from __future__ import annotations

import asyncio

import jobq
from jobq import stats
from jobq.worker import Worker

WEIGHTS = {"critical": 6, "default": 3, "bulk": 1}


def fill_and_drain(app: jobq.App, per_queue: int, until: int) -> dict[str, int]:
    """Queue `per_queue` no-op jobs on each of WEIGHTS' queues, run one weighted worker until
    `until` of them are done; returns jobs done per queue."""
    queues = list(WEIGHTS)
    for q in queues:
        app.task(name=f"noop.{q}", queue=q)(lambda: None).delay_many([()] * per_queue)

    async def work() -> None:
        worker = Worker(app, queues, 10, weights=WEIGHTS)
        try:
            while sum(q.processed for q in stats.snapshot(app.broker, queues).queues) < until:
                for _ in range(20):
                    await worker.step(block_ms=20)
        finally:
            await worker.close()

    asyncio.run(work())
    return {q.name: q.processed for q in stats.snapshot(app.broker, queues).queues}


def assert_shares(done: dict[str, int]) -> None:
    """Each queue's share of the work within 5 % of its weight's share."""
    total, weights = sum(done.values()), sum(WEIGHTS.values())
    for queue, weight in WEIGHTS.items():
        assert abs(done[queue] / total - weight / weights) <= 0.05 * weight / weights, (done, queue)
