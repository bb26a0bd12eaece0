"""Flow control on a real three-master Redis Cluster: weighted queues read from shards of
their own, and fleet-wide concurrency caps and rate limits decided in the queue's slot."""

from __future__ import annotations

import threading
import time

import jobq
from jobq import stats
from jobq.keys import limiter_id
from jobq.testing import BackgroundWorker
from tests.support.cluster import RedisClusterSet
from tests.support.priorities import level_of, run_in_steps
from tests.support.weights import WEIGHTS, assert_shares, fill_and_drain


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


def test_priorities_on_a_cluster(capp: jobq.App, cluster: RedisClusterSet) -> None:
    order: list[str] = []

    @capp.task(name="levelled", queue="prio-a")
    def levelled(label: str) -> None:
        order.append(label)

    @capp.task(name="elsewhere", queue="prio-b", priority=8)
    def elsewhere() -> str:
        return "done"

    k = capp.broker.queue_keys("prio-a")
    assert capp.broker.client.keyslot(k.level_stream(9)) == capp.broker.client.keyslot(k.stream)
    levelled.delay_many([("five",)] * 2)
    levelled.enqueue(args=("zero",), priority=0)
    levelled.enqueue(args=("nine",), priority=9)
    dropped = levelled.enqueue(args=("dropped",), priority=2)
    assert dropped.cancel() is True and dropped.status() == "cancelled"
    row = stats.queue_json(stats.snapshot(capp.broker, ["prio-a"]).queues[0])
    assert row["backlog"] == 4 and row["priorities"] == {"9": 1, "5": 2, "2": 0, "0": 1}
    run_in_steps(capp, ["prio-a"], 5)
    assert order == ["nine", "five", "five", "zero"]
    other = elsewhere.delay()
    with BackgroundWorker(capp, ["prio-a", "prio-b"], concurrency=2):
        assert other.result(timeout=20) == "done"
    aging = jobq.App(cluster.url, namespace=capp.config.namespace, priority_aging=0.05)
    aged = aging.task(name="aged", queue="prio-c")(lambda: None)
    late = aged.enqueue(priority=0)
    aging.pause("prio-c")  # the worker below ages the job but starts nothing
    time.sleep(0.1)  # past the aging time
    run_in_steps(aging, ["prio-c"], 1)
    assert level_of(aging, "prio-c", late.id) == 1 and late.status() == "queued"
