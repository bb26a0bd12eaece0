"""stats.snapshot against a real Redis and a real in-process worker; parsing table-tested."""

from __future__ import annotations

import asyncio
import json
import math
import time

import pytest

import jobq
from jobq import stats
from jobq.broker.rows import GroupRow, QueueRow
from jobq.errors import BrokerError
from jobq.keys import NamespaceKeys
from jobq.worker import Worker
from tests.support.holding import hold_entries
from tests.support.redis_server import RedisServer, free_port
from tests.support.snapshots import run_then_beat, stats_tasks
from tests.support.waiting import wait_for

# pure parsing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stream_id", "ms"),
    [("1700000000000-3", 1700000000000), ("5-0", 5), ("junk", 0)],
)
def test_stream_id_ms(stream_id: str, ms: int) -> None:
    assert stats.stream_id_ms(stream_id) == ms


def test_queue_stats_from_row() -> None:
    row = QueueRow(
        name="mail",
        length=7,
        group=GroupRow(pending=2, last_delivered_id="1000-0"),
        scheduled=3,
        dead=1,
        counters={"processed": "10", "failed": "4", "processed:send": "10"},
        oldest_id="1500-0",
    )
    q = stats.queue_stats(row, now=4.0)
    assert (q.backlog, q.in_flight, q.scheduled, q.dead) == (5, 2, 3, 1)
    assert (q.processed, q.failed) == (10, 4)
    assert q.oldest_age_s == pytest.approx(2.5)
    assert [t.name for t in q.tasks] == ["send"]


def test_queue_stats_without_group_or_stream() -> None:
    row = QueueRow(name="q", length=0, group=None, scheduled=0, dead=0, counters={})
    q = stats.queue_stats(row, now=100.0)
    assert (q.backlog, q.in_flight, q.oldest_age_s, q.tasks) == (0, 0, 0.0, ())


def test_task_stats_histogram_is_per_bucket_and_tolerates_colons() -> None:
    counters = {
        "processed": "3",
        "processed:a.b": "3",
        "failed:x:y": "1",
        "dcount:a.b": "3",
        "dsum_us:a.b": "1500000",
        "dle:a.b:0.005": "1",
        "dle:a.b:1": "1",
        "dle:a.b:inf": "1",
        "dle:x:y:2.5": "1",
        "dle:a.b:notanumber": "9",
    }
    by_name = {t.name: t for t in stats.task_stats(counters)}
    a = by_name["a.b"]
    assert (a.processed, a.failed, a.duration_count) == (3, 0, 3)
    assert a.duration_sum_s == pytest.approx(1.5)
    buckets = dict(a.duration_buckets)
    assert buckets[0.005] == 1 and buckets[1.0] == 1 and buckets[math.inf] == 1
    assert buckets[0.01] == 0 and len(buckets) == len(stats.DURATION_BOUNDS)
    assert by_name["x:y"].failed == 1 and dict(by_name["x:y"].duration_buckets)[2.5] == 1


def test_worker_stats_from_hash() -> None:
    h = {
        "id": "h:1",
        "host": "h",
        "pid": "1",
        "queues": '["a", "b"]',
        "busy": "2",
        "concurrency": "8",
        "processed": "40",
        "latency": '{"a": [1.5, 9.0], "b": "bad"}',
    }
    w = stats.worker_stats(h, beat_ms=9000, now=10.0)
    assert (w.id, w.pid, w.queues, w.busy, w.concurrency, w.processed) == ("h:1", 1, ["a", "b"], 2, 8, 40)
    assert w.last_seen_s == pytest.approx(1.0)
    assert w.latency_ms == {"a": (1.5, 9.0)}


def test_worker_stats_survives_garbage() -> None:
    w = stats.worker_stats({"queues": "{not json", "pid": "x", "latency": "[]"}, beat_ms=0, now=1.0)
    assert (w.queues, w.pid, w.latency_ms, w.concurrency) == ([], 0, {}, 1)


# real Redis --------------------------------------------------------------------------


def test_empty_namespace(app: jobq.App) -> None:
    snap = stats.snapshot(app.broker)
    assert snap.queues == [] and snap.workers == []
    assert abs(snap.taken_at - time.time()) < 3600
    assert stats.to_json(snap)["queues"] == []


def test_backlog_oldest_age_and_scheduled_before_any_worker(app: jobq.App) -> None:
    ok, _, later = stats_tasks(app)
    ok.delay_many([(i,) for i in range(5)])
    later.enqueue(delay=3600)
    # the age is measured on the Redis clock: it grows from 0 as soon as a ms has passed
    snap = wait_for(
        lambda: (s := stats.snapshot(app.broker)).queues and s.queues[0].oldest_age_s > 0 and s,
        10,
        "the oldest entry to age",
    )
    by_name = {q.name: q for q in snap.queues}
    assert set(by_name) == {"default", "other"}
    d = by_name["default"]
    assert (d.backlog, d.in_flight, d.scheduled, d.dead) == (5, 0, 0, 0)
    assert 0.0 < d.oldest_age_s < 60
    o = by_name["other"]
    assert (o.backlog, o.scheduled, o.oldest_age_s) == (0, 1, 0.0)
    only = stats.snapshot(app.broker, ["other"])
    assert [q.name for q in only.queues] == ["other"]


def test_counts_after_a_worker_ran(app: jobq.App) -> None:
    ok, boom, _ = stats_tasks(app)
    ok.delay_many([(i,) for i in range(3)])
    boom.delay()
    worker = Worker(app, ["default"], concurrency=4)
    asyncio.run(run_then_beat(worker, 4))
    snap = stats.snapshot(app.broker, ["default"])
    (q,) = snap.queues
    assert (q.backlog, q.in_flight, q.dead, q.processed, q.failed) == (0, 0, 1, 3, 1)
    assert q.oldest_age_s == 0.0
    tasks = {t.name: t for t in q.tasks}
    assert tasks["ok"].processed == 3 and tasks["boom"].failed == 1
    assert tasks["ok"].duration_count == 3 and sum(n for _, n in tasks["ok"].duration_buckets) == 3
    (w,) = snap.workers
    assert (w.id, w.queues, w.concurrency, w.processed) == (worker.id, ["default"], 4, 4)
    assert 0 <= w.last_seen_s < 60
    assert "default" in w.latency_ms


def test_in_flight_counts_taken_entries(app: jobq.App) -> None:
    ok, _, _ = stats_tasks(app)
    ok.delay_many([(i,) for i in range(4)])
    hold_entries(app, "default", 3)
    (q,) = stats.snapshot(app.broker).queues
    assert (q.backlog, q.in_flight) == (1, 3)


def test_expired_worker_hash_is_dropped(app: jobq.App) -> None:
    ns = NamespaceKeys(app.config.namespace)
    client = app.broker.client
    client.zadd(ns.workers, {"gone:1": 1, "live:2": int(time.time() * 1000)})
    client.hset(ns.worker("live:2"), mapping={"id": "live:2", "host": "live", "pid": 2, "queues": "[]"})
    snap = stats.snapshot(app.broker)
    assert [w.id for w in snap.workers] == ["live:2"]


def test_to_json_matches_contract_schema(app: jobq.App) -> None:
    ok, _, _ = stats_tasks(app)
    ok.delay(1)
    data = json.loads(json.dumps(stats.to_json(stats.snapshot(app.broker))))
    (q,) = data["queues"]
    assert set(q) >= {"name", "backlog", "in_flight", "scheduled", "dead", "processed", "failed"}
    assert isinstance(q["oldest_age_s"], float)


def test_unreachable_redis_is_a_broker_error() -> None:
    app = jobq.App(f"redis://127.0.0.1:{free_port()}/0", namespace="x")
    with pytest.raises(BrokerError, match=r"cannot reach Redis at redis://127\.0\.0\.1"):
        stats.snapshot(app.broker)


def test_snapshot_uses_only_bounded_commands(app: jobq.App, redis_server: RedisServer) -> None:
    """MONITOR the server while a snapshot is taken: no KEYS, SCAN or XINFO STREAM."""
    ok, _, _ = stats_tasks(app)
    ok.delay(1)
    seen: list[str] = []
    with redis_server.client().monitor() as m:
        stats.snapshot(app.broker)
        app.broker.client.ping()
        for event in m.listen():
            command = str(event.get("command", ""))
            if app.config.namespace in command or command.upper().startswith(("KEYS", "SCAN", "XINFO")):
                seen.append(command.upper())
            if command.upper() == "PING":
                break
    assert seen, "MONITOR saw none of the snapshot's commands"
    assert not [c for c in seen if c.startswith(("KEYS", "SCAN", "XINFO STREAM"))]
