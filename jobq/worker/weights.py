"""Weighted queues (`-q critical:6 -q default:3 -q bulk:1`): how many entries to ask of each
queue per fetch, so that while all have backlog each gets its share of the slots.

Smooth weighted round robin over slots (as nginx balances upstreams): every slot, each
queue earns its weight in credit, the richest queue takes the slot and pays the total.
Credit carries over between fetches, so shares hold even when each fetch fills one slot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import structlog

from jobq.broker import AsyncBroker
from jobq.worker.priorities import Levels

log = structlog.get_logger("jobq.worker")


class WeightedShares:
    def __init__(self, weights: Mapping[str, int]) -> None:
        self.weights = dict(weights)
        self.credit = dict.fromkeys(self.weights, 0)

    @property
    def uniform(self) -> bool:
        """All weights equal: plain fetching is already fair, no plan needed."""
        return len(set(self.weights.values())) <= 1

    def plan(self, slots: int, queues: Sequence[str]) -> dict[str, int]:
        """Queue -> entries to ask for, `slots` in all, among `queues` (those not paused)."""
        counts = dict.fromkeys(queues, 0)
        total = sum(self.weights.get(q, 1) for q in queues)
        for _ in range(slots):
            for q in queues:
                self.credit[q] = self.credit.get(q, 0) + self.weights.get(q, 1)
            best = max(queues, key=lambda q: self.credit[q])
            self.credit[best] -= total
            counts[best] += 1
        return {q: n for q, n in counts.items() if n}


class Fetcher:
    """Which streams a worker reads and how: not those of paused queues (`paused` is kept
    current by the worker's pause checks), by weight when the weights differ, and highest
    priority level first in queues that use levels (jobq.worker.priorities)."""

    def __init__(self, broker: AsyncBroker, queues: Sequence[str], weights: Mapping[str, int] | None) -> None:
        self.broker = broker
        self.defaults = {broker.ns.queue(q).stream: q for q in queues}
        self.streams = dict(self.defaults)  # every stream read -> its queue (levels too)
        self.stream_of = {q: s for s, q in self.defaults.items()}
        shares = WeightedShares({q: (weights or {}).get(q, 1) for q in queues})
        self.shares = None if shares.uniform else shares
        self.paused: frozenset[str] = frozenset()
        self.levels = Levels(broker, list(queues), self.streams)

    def pause_only(self, queues: set[str]) -> bool:
        """Read no queue of `queues` (and every other); True if that changed anything."""
        if queues == self.paused:
            return False
        log.info("worker.paused_queues", queues=sorted(queues))
        self.paused = frozenset(queues)
        return True

    def active(self) -> dict[str, str]:
        """The default-level streams to read: those of queues not paused."""
        paused = self.paused
        return {s: ">" for s, q in self.defaults.items() if not paused or q not in paused}

    async def read(self, count: int, block_ms: int) -> list[Any]:
        """New entries for this worker, up to `count` (per stream); [] if all are paused."""
        streams = self.active()
        if not streams:
            return []
        if self.levels.used:
            return await self._levelled(streams, count, block_ms)
        entries = await self._weighted(streams, count) if self.shares else []
        return entries or await self.broker.read(streams, count, block_ms)

    async def delivered(self, count: int) -> list[Any]:
        """Entries delivered to this worker and not acknowledged, up to `count` per stream
        (every stream it reads, every level), highest level first."""
        return self.levels.refs(await self.broker.read_counts(dict.fromkeys(self.streams, count), "0"))

    async def _levelled(self, streams: dict[str, str], count: int, block_ms: int) -> list[Any]:
        """Some queue uses priority levels: a bounded read without blocking, highest level
        first (by weight across queues); when it finds nothing, one blocking read of every
        level stream of every active queue (Redis answers it with the stream that got work)."""
        queues = [self.streams[s] for s in streams]
        counts = self.shares.plan(count, queues) if self.shares else dict.fromkeys(queues, count)
        found = await self.levels.read(counts)
        if found:
            return found
        every = {s: ">" for q in queues for s in self.levels.streams_of(q)}
        return self.levels.refs(await self.broker.read(every, count, block_ms))

    async def _weighted(self, streams: dict[str, str], count: int) -> list[Any]:
        """Ask each queue for its share of `count` (no blocking); when none has anything, the
        caller falls back to a blocking read of them all."""
        assert self.shares is not None
        plan = self.shares.plan(count, [self.streams[s] for s in streams])
        return await self.broker.read_counts({self.stream_of[q]: n for q, n in plan.items()})
