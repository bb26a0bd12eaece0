"""The task threads grow for slow jobs and shrink back for quick ones: after a hiccup grew
the pool, short jobs run on one thread again and the others leave (they do not each get a
job now and then, which kept them alive and bounced the interpreter lock between them)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from jobq.execute import OK_NULL, Finished
from jobq.worker import threads
from jobq.worker.threads import RunSlot, ThreadRunner

DEADLINE_S = 10.0


async def _until(check: Any, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.005)


def test_slow_jobs_grow_the_pool_and_quick_ones_shrink_it_to_one_thread(monkeypatch: Any) -> None:
    monkeypatch.setattr(threads, "IDLE_EXIT_S", 0.3)
    monkeypatch.setattr(threads, "LEND_S", DEADLINE_S)  # a busy machine: time enough
    gate = threading.Event()
    ran_on: dict[str, int] = {}

    def run(task: Any, env: Any, info: Any) -> Finished:
        ran_on[task] = threading.get_ident()
        if task.startswith("slow"):
            gate.wait(DEADLINE_S)
        return OK_NULL

    async def main() -> None:
        delivered: list[Any] = []
        runner = ThreadRunner(
            8, asyncio.get_running_loop(), lambda done: delivered.extend(token for token, _ in done), run
        )
        slow = [f"slow-{i}" for i in range(8)]
        for token in slow:
            runner.submit(token, RunSlot(), token, None, None)  # type: ignore[arg-type]
        await _until(lambda: len(ran_on) == 8, "all eight slow jobs to start, one thread each")
        assert runner.live == 8
        gate.set()
        await _until(lambda: set(slow) <= set(delivered), "the slow jobs to come back")

        monkeypatch.setattr(threads, "GROW_AFTER_S", DEADLINE_S)  # only the hand-over wakes
        threads_per_burst = []
        for burst in range(1000):
            tokens = [f"quick-{burst}-{i}" for i in range(20)]
            for token in tokens:
                runner.submit(token, RunSlot(), token, None, None)  # type: ignore[arg-type]
            assert runner.lend() is True
            assert delivered[-20:] == tokens
            threads_per_burst.append(len({ran_on[t] for t in tokens}))
            if runner.live == 1:
                break
            await asyncio.sleep(0.02)
        assert runner.live == 1, "idle threads never left: quick jobs kept waking them"
        assert set(threads_per_burst) == {1}, threads_per_burst
        runner.shutdown()

    asyncio.run(main())
