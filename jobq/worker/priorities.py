"""Priority levels on the worker side: which level streams each queue uses, and a bounded
fetch that takes the highest level first.

A queue that never used a level other than the default is read exactly as before (one
XREADGROUP over the plain streams). A queue that did is read through fetch_levels.lua:
highest level first, at most the free slots in all, without blocking; only when every
stream is empty does the worker block, on all of them at once. Entries of another level
are held under their reference "<level>/<stream id>" (jobq.records.at_level), which every
script that settles, renews or cancels them understands.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from jobq import records
from jobq.broker import AsyncBroker
from jobq.flow import DEFAULT_PRIORITY
from jobq.keys import QueueKeys

Entries = list[tuple[str, list[tuple[str, dict[str, str]]]]]


class Levels:
    """The levels each queue uses (refreshed with the pause checks) and how to read them."""

    def __init__(self, broker: AsyncBroker, queues: list[str], streams: dict[str, str]) -> None:
        self.broker = broker
        self.keys: dict[str, QueueKeys] = {q: broker.ns.queue(q) for q in queues}
        self.streams = streams  # stream key -> queue, shared with the worker's admission
        self.used: dict[str, tuple[int, ...]] = {}  # queue -> levels to read, highest first
        self.level_of: dict[str, int] = {}  # stream key of a level but the default -> level

    def update(self, levels: Mapping[str, tuple[int, ...]]) -> None:
        """The levels other than the default each queue uses now (from Redis)."""
        used = {
            q: tuple(sorted({*found, DEFAULT_PRIORITY}, reverse=True))
            for q, found in levels.items()
            if q in self.keys
        }
        if used == self.used:
            return
        self.used = used
        for q, found in used.items():
            for level in found:
                key = self.keys[q].level_stream(level)
                self.streams[key] = q
                if level != DEFAULT_PRIORITY:
                    self.level_of[key] = level

    def streams_of(self, queue: str) -> list[str]:
        k = self.keys[queue]
        return [k.level_stream(level) for level in self.used.get(queue, (DEFAULT_PRIORITY,))]

    async def read(self, counts: Mapping[str, int]) -> Entries:
        """Without blocking: up to counts[q] entries of each queue, highest level first."""
        calls = [self._read_queue(q, n) for q, n in counts.items() if q in self.used]
        plain = {self.keys[q].stream: n for q, n in counts.items() if q not in self.used}
        if plain:
            calls.append(self.broker.read_counts(plain))
        replies = await asyncio.gather(*calls, return_exceptions=True)
        found = [e for r in replies if isinstance(r, list) for e in r]
        errors = [r for r in replies if isinstance(r, BaseException)]
        if errors and not found:  # entries read are never dropped: raise only when none came
            raise errors[0]
        return found

    async def _read_queue(self, queue: str, count: int) -> Entries:
        levels = self.used[queue]
        k = self.keys[queue]
        rows = await self.broker.read_levels(queue, levels, count)
        field = records.ENTRY_ENVELOPE
        return [
            (k.level_stream(level), [(records.at_level(level, sid), {field: env} if env is not None else {})])
            for level, sid, env in rows
        ]

    def refs(self, entries: list[Any]) -> Entries:
        """Entries of a blocking read, their stream ids made references at their level, the
        highest level first (a Cluster answers each stream's read apart, in any order)."""
        level_of = self.level_of
        out: list[tuple[int, str, list[tuple[str, dict[str, str]]]]] = []
        for stream, items in entries:
            level = level_of.get(stream, DEFAULT_PRIORITY)
            if level != DEFAULT_PRIORITY:
                items = [(records.at_level(level, sid), fields) for sid, fields in items]
            out.append((level, stream, items))
        out.sort(key=lambda found: -found[0])
        return [(stream, items) for _, stream, items in out]
