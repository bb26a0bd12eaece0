"""Workflow state expires with the results: 10,000 finished chords leave nothing behind
once their results' TTL has passed (Redis memory back to its baseline)."""

from __future__ import annotations

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

    handles = [jobq.chord([part.s(i), part.s(1)], whole.s()).delay() for i in range(WORKFLOWS)]
    drain(app, timeout=600, concurrency=32)
    assert handles[-1].result(5) == WORKFLOWS
    peak_keys, peak_bytes = client.dbsize(), client.info("memory")["used_memory"]
    assert peak_keys > WORKFLOWS  # results and workflow states were kept

    wait_for(lambda: client.dbsize() <= baseline_keys, 120, "every result and workflow state to expire")
    after_bytes = client.info("memory")["used_memory"]
    report.update(
        baseline=baseline_bytes, peak=peak_bytes, after=after_bytes, keys=(baseline_keys, peak_keys)
    )
    assert after_bytes - baseline_bytes < (peak_bytes - baseline_bytes) / 10
    assert after_bytes - baseline_bytes < 1_000_000


def _dbsize_at_rest(client: Any) -> int:
    """Keys without a TTL: the queues' own (streams, hashes), which stay."""
    return sum(1 for key in client.scan_iter(count=1000) if client.ttl(key) == -1)
