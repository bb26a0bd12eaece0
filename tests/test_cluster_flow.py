"""Flow control on a real three-master Redis Cluster: weighted queues read from shards of
their own, and fleet-wide concurrency caps and rate limits decided in the queue's slot."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

import jobq
from jobq import stats
from jobq.keys import limiter_id
from jobq.testing import BackgroundWorker
from tests.support.cluster import RedisClusterSet
from tests.support.weights import WEIGHTS, assert_shares, fill_and_drain


@pytest.fixture(scope="module")
def cluster() -> Iterator[RedisClusterSet]:
    topology = RedisClusterSet().start()
    yield topology
    topology.close()


@pytest.fixture
def capp(cluster: RedisClusterSet, namespace: str) -> jobq.App:
    return jobq.App(cluster.url, namespace=namespace, visibility_timeout=3.0)


def test_weighted_queues_on_shards_of_their_own(capp: jobq.App, cluster: RedisClusterSet) -> None:
    assert len({cluster.port_of(capp.broker.queue_keys(q).stream) for q in WEIGHTS}) > 1
    assert_shares(fill_and_drain(capp, 1500, 1000))


def test_a_concurrency_cap_and_a_rate_limit_on_a_cluster(capp: jobq.App) -> None:
    spans: list[tuple[float, float]] = []
    lock = threading.Lock()

    @capp.task(name="capped", queue="exports", concurrency=2)
    def capped() -> None:
        start = time.time()
        time.sleep(0.1)
        with lock:
            spans.append((start, time.time()))

    @capp.task(name="rated", queue="calls", rate_limit="10/s")
    def rated() -> float:
        return time.time()

    caps = capped.delay_many([()] * 10)
    calls = rated.delay_many([()] * 25)
    with BackgroundWorker(capp, ["exports", "calls"], concurrency=8) as worker:
        worker.wait_until_idle(timeout=60)
    assert {j.status() for j in caps + calls} == {"succeeded"}
    edges = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    running = [sum(step for _, step in edges[: i + 1]) for i in range(len(edges))]
    assert max(running) == 2, running
    starts = sorted(j.result(timeout=1) for j in calls)
    assert starts[-1] - starts[0] >= 1.0  # 25 starts at 10/s take over a second
    rows = {q.name: stats.queue_json(q) for q in stats.snapshot(capp.broker, ["exports", "calls"]).queues}
    assert rows["exports"]["capped"] > 0 and rows["calls"]["throttled"] > 0
    assert capp.broker.client.keyslot(capp.broker.queue_keys("calls").rate(limiter_id("rated", ""))) == (
        capp.broker.client.keyslot(capp.broker.queue_keys("calls").stream)
    )
