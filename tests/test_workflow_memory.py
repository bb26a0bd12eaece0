"""Workflow state expires with the results: 10,000 finished chords leave nothing behind
once their results' TTL has passed (Redis memory back to its baseline)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import jobq
from jobq.testing import drain
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_for

WORKFLOWS = 10_000
TTL_S = 3


def test_ten_thousand_finished_workflows_leave_nothing_after_the_ttl(
    private_redis: Callable[..., RedisServer], report: dict[str, object]
) -> None:
    server = private_redis()
    app = jobq.App(server.url, namespace="mem")

    @app.task(name="mem.part", result_ttl=TTL_S)
    def part(i: int) -> int:
        return i

    @app.task(name="mem.whole", result_ttl=TTL_S)
    def whole(xs: list[int]) -> int:
        return sum(xs)

    client: Any = server.client()
    warm = jobq.chord([part.s(0)], whole.s()).delay()  # streams, groups, counters exist
    drain(app, timeout=30)
    assert warm.result(5) == 0
    wait_for(lambda: client.dbsize() == _dbsize_at_rest(client), 30, "warm-up keys to expire")
    baseline_keys, baseline_bytes = client.dbsize(), client.info("memory")["used_memory"]
    expired_before = client.info("stats")["expired_keys"]

    handles = [jobq.chord([part.s(i), part.s(1)], whole.s()).delay() for i in range(WORKFLOWS)]
    with PeakMemory(client) as peak:
        drain(app, timeout=600, concurrency=128)  # 32 took 19 s for these 30,000 jobs, 128 takes 10 s
        assert handles[-1].result(5) == WORKFLOWS
    peak_keys, peak_bytes = client.dbsize(), peak.bytes

    wait_for(lambda: client.dbsize() <= baseline_keys, 120, "every result and workflow state to expire")
    # They went by expiring, not by never being written: three results per chord at least
    # (on a loaded machine the first ones may be gone before the drain ends).
    assert client.info("stats")["expired_keys"] - expired_before >= 3 * WORKFLOWS
    after_bytes = client.info("memory")["used_memory"]
    report.update(
        baseline=baseline_bytes, peak=peak_bytes, after=after_bytes, keys=(baseline_keys, peak_keys)
    )
    assert after_bytes - baseline_bytes < (peak_bytes - baseline_bytes) / 10
    assert after_bytes - baseline_bytes < 1_000_000


class PeakMemory:
    """Samples used_memory in the background while the block runs, keeping the highest."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.bytes = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            self.bytes = max(self.bytes, self.client.info("memory")["used_memory"])
            if self._done.wait(0.05):
                return

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        self.bytes = max(self.bytes, self.client.info("memory")["used_memory"])


def _dbsize_at_rest(client: Any) -> int:
    """Keys without a TTL: the queues' own (streams, hashes), which stay."""
    return sum(1 for key in client.scan_iter(count=1000) if client.ttl(key) == -1)
