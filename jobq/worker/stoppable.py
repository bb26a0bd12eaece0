"""A fetch that a stop cuts short, so an idle worker stops at once, not after its block.

An idle worker waits in a blocking XREADGROUP of up to `block_ms`. A stop cancels that
read. The cancel can land after Redis delivered entries and before their reply was read:
those entries are then this consumer's, pending, and unseen by it. They are read back
from the group's pending list (XREADGROUP from 0) and run like any others, so none waits
out a visibility timeout or has a run counted that never happened.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from jobq.errors import BrokerError
from jobq.worker.held import Held
from jobq.worker.settler import Settler
from jobq.worker.weights import Fetcher

Entries = list[Any]


class StoppableRead:
    def __init__(
        self,
        read: Callable[[int, int], Awaitable[Entries]],
        fetcher: Fetcher,
        held: Mapping[str, Held],
        settler: Settler,
    ) -> None:
        self._read = read
        self.fetcher = fetcher
        self.held = held
        self.settler = settler
        self._reading: asyncio.Future[Entries] | None = None

    async def read(self, count: int, block_ms: int) -> Entries:
        """The read's entries; after an interrupt, those it may have delivered unseen."""
        reading = self._reading = asyncio.ensure_future(self._read(count, block_ms))
        try:
            await asyncio.wait((reading,))
        except asyncio.CancelledError:  # the worker's own task is cancelled: take the read along
            reading.cancel()
            raise
        finally:
            self._reading = None
        if not reading.cancelled():
            return reading.result()
        return await self._unseen(count)

    def interrupt(self) -> None:
        if self._reading is not None:
            self._reading.cancel()

    async def _unseen(self, count: int) -> Entries:
        known = {*self.held, *(s.stream_id for _, s in self.settler.pending)}  # the worker has these
        try:
            pending = await self.fetcher.delivered(count + len(known))
        except BrokerError:  # still pending: reclaimed after the visibility timeout
            return []
        unseen = []
        for stream, items in pending:
            fresh = [(sid, fields) for sid, fields in items if fields and sid not in known]
            if fresh:
                unseen.append((stream, fresh))
        return unseen
