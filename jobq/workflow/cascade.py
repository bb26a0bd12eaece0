"""A cancel tells the workflows at once: the drain a worker would run later (its sweep,
seconds after) runs in the caller, on the sync broker, before `cancel()` returns.

The worker's Drainer is reused as it is: its broker calls are given here as coroutines
that never suspend, so the whole drain runs to its end on the first step, without an
event loop (and so also from inside a caller's running one). Every step is idempotent,
so a worker draining the same records at the same time does no harm.
"""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from typing import Any, cast

from jobq.broker import AsyncBroker, Broker
from jobq.job import JobOwner
from jobq.protocol import Admit, Applied, Member, Outboxed
from jobq.workflow.drain import Drainer

OUTBOX_COUNT = 1000


class _Now:
    """The calls a Drainer makes, on the sync broker."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker

    async def wf_apply(self, workflow_id: str, records: Sequence[Member]) -> Applied:
        return self.broker.wf_apply(workflow_id, records)

    async def wf_results(self, workflow_id: str, n: int) -> str:
        return self.broker.wf_results(workflow_id, n)

    async def wf_admit(self, queue: str, items: Sequence[Admit], ttl: int) -> list[Any]:
        return self.broker.wf_admit(queue, items, ttl)

    async def outbox_delete(self, queue: str, entry_ids: Sequence[str]) -> None:
        self.broker.outbox_delete(queue, entry_ids)

    async def outbox_entries(self, queue: str, entry_ids: Sequence[str]) -> list[Outboxed]:
        wanted = set(entry_ids)
        return [r for r in self.broker.outbox_read(queue, "+", OUTBOX_COUNT) if r.entry_id in wanted]


def _run(step: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine that never suspends to its end."""
    try:
        step.send(None)
    except StopIteration:
        return
    step.close()
    raise RuntimeError("a drain on the sync broker suspended")


def cascade(app: JobOwner, queue: str) -> None:
    """Drain `queue`'s outbox now: what a cancel just wrote there reaches its workflows
    (dependents cancelled, chord callbacks closed) before the cancel returns."""
    records = app.broker.outbox_read(queue, "+", OUTBOX_COUNT)
    if records:
        drainer = Drainer(cast(AsyncBroker, _Now(app.broker)), app.config)
        _run(drainer.drain(queue, records))
