"""Drive a real Worker inside the test process, one step at a time, until a condition holds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

import jobq
from jobq.worker import Worker


def work_until(
    app: jobq.App,
    condition: Callable[[], object],
    timeout: float = 15.0,
    *,
    queues: Sequence[str] | None = None,
    concurrency: int = 4,
) -> int:
    """Step a worker until `condition()` is truthy; returns the jobs it settled."""

    async def go() -> int:
        worker = Worker(app, queues, concurrency)
        deadline = time.monotonic() + timeout
        settled = 0
        try:
            while not condition():
                if time.monotonic() > deadline:
                    raise AssertionError(f"worker did not reach the condition within {timeout}s")
                settled += await worker.step(block_ms=20)
        finally:
            await worker.close()
        return settled

    return asyncio.run(go())
