"""The loop lends its time to a burst of sync jobs it just handed over (ThreadRunner.lend):
quick bursts come back delivered before the loop runs again; a slow one stops the lending
for a while and its result still arrives through the loop."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from jobq.execute import OK_NULL, Finished
from jobq.worker import threads
from jobq.worker.threads import RunSlot, ThreadRunner

DEADLINE_S = 5.0


def _runner(
    loop: asyncio.AbstractEventLoop, delivered: list[Any], gate: dict[str, threading.Event]
) -> ThreadRunner:
    def run(task: Any, env: Any, info: Any) -> Finished:
        if task in gate:  # a slow job: runs until the test lets it go
            gate[task].wait(DEADLINE_S)
        return OK_NULL

    return ThreadRunner(4, loop, lambda done: delivered.extend(token for token, _ in done), run)


def _hand_over(runner: ThreadRunner, tokens: list[str]) -> None:
    for token in tokens:
        runner.submit(token, RunSlot(), token, None, None)  # type: ignore[arg-type]


async def _until(check: Any) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.001)


def test_a_quick_burst_is_delivered_before_the_loop_runs_again(monkeypatch: Any) -> None:
    monkeypatch.setattr(threads, "LEND_S", DEADLINE_S)  # a busy machine: time enough

    async def main() -> None:
        delivered: list[Any] = []
        runner = _runner(asyncio.get_running_loop(), delivered, {})
        burst = [f"job-{i}" for i in range(32)]
        _hand_over(runner, burst)
        assert runner.lend() is True
        assert delivered == burst  # no loop turn in between: the lend delivered them
        runner.shutdown()

    asyncio.run(main())


def test_slow_bursts_stop_the_lending_and_their_results_still_arrive() -> None:
    async def main() -> None:
        delivered: list[Any] = []
        slow = threading.Event()
        runner = _runner(asyncio.get_running_loop(), delivered, {"slow": slow})
        _hand_over(runner, ["quick", "slow"])
        started = time.monotonic()
        assert runner.lend() is True
        assert time.monotonic() - started < 1.0  # waited about LEND_S, not for the job
        assert "slow" not in delivered and not runner.quick
        assert runner.lend_after <= time.monotonic()  # one slow burst may be a hiccup
        _hand_over(runner, ["later"])
        assert runner.lend() is True  # the slow job still runs: a second slow burst
        assert runner.lend_after > time.monotonic()  # backing off
        _hand_over(runner, ["last"])
        assert runner.lend() is False  # no waiting while it backs off
        slow.set()
        await _until(lambda: {"quick", "slow", "later", "last"} <= set(delivered))
        runner.shutdown()

    asyncio.run(main())


def test_the_lending_resumes_after_its_backoff(monkeypatch: Any) -> None:
    monkeypatch.setattr(threads, "LEND_BACKOFF_S", 0.0)
    monkeypatch.setattr(threads, "LEND_S", 0.2)  # the quick burst's time, on a busy machine

    async def main() -> None:
        delivered: list[Any] = []
        slow = threading.Event()
        runner = _runner(asyncio.get_running_loop(), delivered, {"slow": slow})
        _hand_over(runner, ["slow"])
        assert runner.lend() is True
        assert runner.lend() is True  # twice slow: backing off (for no time here)
        slow.set()
        await _until(lambda: "slow" in delivered)
        _hand_over(runner, ["next"])
        assert runner.lend() is True
        assert delivered[-1] == "next"
        runner.shutdown()

    asyncio.run(main())
