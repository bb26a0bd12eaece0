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
    """The read runs in the fetch loop's own task, with nothing added on its path: an
    interrupt cancels that task while it waits inside the read, and the cancellation is
    taken back here (a stop from inside the fetch loop needs none: the loop sees it)."""

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
        self._reading: asyncio.Task[Any] | None = None  # the task waiting inside a read
        self._interrupted = False

    async def read(self, count: int, block_ms: int) -> Entries:
        """The read's entries; after an interrupt, those it may have delivered unseen."""
        task = asyncio.current_task()
        self._reading, self._interrupted = task, False
        try:
            return await self._read(count, block_ms)
        except asyncio.CancelledError:
            if not self._interrupted or task is None or not _take_back(task):
                raise  # cancelled from outside as well: that one stands
        finally:
            self._reading = None
        return await self._unseen(count)

    def interrupt(self) -> None:
        reading = self._reading
        if reading is not None and not self._interrupted and asyncio.current_task() is not reading:
            self._interrupted = True
            reading.cancel()

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


def _take_back(task: asyncio.Task[Any]) -> bool:
    """Withdraw the interrupt's cancellation request (Python 3.11+ counts them); False if
    another one is still pending."""
    uncancel = getattr(task, "uncancel", None)
    return uncancel is None or uncancel() == 0
