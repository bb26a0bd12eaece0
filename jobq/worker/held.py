"""What a worker knows about one stream entry it holds, from delivery until settled."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from jobq.envelope import Envelope
from jobq.task import Task
from jobq.worker.threads import RunSlot


@dataclass(eq=False, slots=True)
class Held:
    queue: str
    stream_id: str
    raw: str
    env: Envelope
    task: Task[Any, Any]
    attempt: int
    confirmed: float  # monotonic time this worker last knew it owned the entry
    received: float  # monotonic time this worker took the entry
    started: float = 0.0
    finished_at: float = 0.0  # monotonic; its outcome then waits to be written
    slot: RunSlot | None = None
    atask: asyncio.Task[None] | None = None
    timer: asyncio.TimerHandle | None = None
    stop_reason: str = ""  # "timeout" or "cancelled" once the worker asks the run to stop
    finished: bool = False
    lost: bool = False

    def finish(self, now: float | None = None) -> None:
        """Its run is over (or it is handed back unrun): what is left is writing the outcome,
        which the watchdog times from here (`now`: a burst's one clock reading)."""
        self.finished = True
        self.finished_at = time.monotonic() if now is None else now

    def log_fields(self) -> dict[str, Any]:
        """What every log line about this run names."""
        return {"job_id": self.env.id, "task": self.env.task, "queue": self.queue, "attempt": self.attempt}


def running_since(held: Iterable[Held]) -> dict[str, float]:
    """Job id -> Unix time its run started, for heartbeats (`jobq explain` says since when)."""
    offset = time.time() - time.monotonic()
    return {h.env.id: round(h.started + offset, 3) for h in held if h.started and not h.finished}
