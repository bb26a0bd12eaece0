"""What a worker publishes every heartbeat, for `jobq stats`, the dashboard and `jobq explain`."""

from __future__ import annotations

import json
import os
from typing import Any, Protocol

from jobq.worker.held import Held, running_since
from jobq.worker.latency import LatencyWindow
from jobq.worker.watchdog import Stalls, census


class Beating(Protocol):
    """What the heartbeat reads of its worker (the `Worker` is the one)."""

    id: str
    host: str
    queues: list[str]
    concurrency: int
    done: int
    started_at: float
    latency: LatencyWindow
    held: dict[str, Held]

    @property
    def running(self) -> int: ...

    def stalls(self) -> Stalls: ...


def heartbeat_fields(w: Beating) -> dict[str, Any]:
    """The worker's heartbeat hash (see jobq.keys: ns:worker:<id>)."""
    held = census(w.stalls())
    return {
        "id": w.id,
        "host": w.host,
        "pid": os.getpid(),
        "queues": json.dumps(w.queues),
        "busy": w.running,
        "concurrency": w.concurrency,
        "processed": w.done,
        "started_at": w.started_at,
        "latency": json.dumps(w.latency.percentiles()),
        "running": json.dumps(running_since(w.held.values())),
        "held": held.held,
        "ready": held.ready,
        "stalled": json.dumps(held.stalled),
    }
