"""Real `jobq scheduler` and `jobq worker --beat` processes on a two-second entry: every
tick enqueued exactly once, however many run, across a kill -9 and a restart.

Ticks are counted in Redis (entries of the `cron` queue's stream, by job id = tick id);
no worker consumes that queue, so nothing is taken away before it is counted.
"""

from __future__ import annotations

import json
import re
import signal
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone

import redis

from tests.support.processes import JobqProcess
from tests.support.redis_server import RedisServer, redis_time
from tests.support.waiting import wait_for

Start = Callable[..., JobqProcess]
RUN_S = 12.5  # the three schedulers run at least twelve seconds
TICK_S = 2
SETTLE_S = 2.0  # a tick due this close to the stop may not be fired yet on a loaded machine


def tick_counts(client: redis.Redis, namespace: str) -> Counter[float]:
    """How many jobs each tick of `beat` has in the stream, by due time (Unix seconds)."""
    counts: Counter[float] = Counter()
    for _, fields in client.xrange(f"{namespace}:{{cron}}:stream"):
        job_id = json.loads(fields["j"])["id"]
        stamp = datetime.strptime(job_id.split(":")[2], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        counts[stamp.timestamp()] += 1
    return counts


def every_tick(after: float, until: float) -> list[float]:
    """The due times of `beat` (every even second) in (after, until]."""
    first = (int(after) // TICK_S + 1) * TICK_S
    return [float(t) for t in range(first, int(until) + 1, TICK_S)]


def started(*procs: JobqProcess) -> bool:
    return all("scheduler.started" in p.output() for p in procs)


def stop_all(procs: list[JobqProcess]) -> list[int]:
    for p in procs:
        p.signal(signal.SIGTERM)
    return [p.wait(30) for p in procs]


def test_three_schedulers_enqueue_every_tick_exactly_once(
    jobq_cli: Start, redis_url: str, redis_server: RedisServer, namespace: str
) -> None:
    client = redis_server.client()
    procs = [jobq_cli(["scheduler", "cron_app"], redis_url, JOBQ_NAMESPACE=namespace) for _ in range(3)]
    wait_for(lambda: started(*procs), 60, "three schedulers to start")
    t0 = redis_time(client)
    wait_for(lambda: redis_time(client) >= t0 + RUN_S, RUN_S + 10, "the schedulers to run", interval=0.2)
    t_stop = redis_time(client)
    assert stop_all(procs) == [0, 0, 0]

    counts = tick_counts(client, namespace)
    expected = every_tick(t0, t_stop - SETTLE_S)  # each due while all three ran
    enqueued = [t for t in expected if counts[t]]
    fired_by = [p.output().count("cron.tick_fired") for p in procs]
    late = [int(m) for p in procs for m in re.findall(r"cron\.tick_fired .*late_ms=(\d+)", p.output())]
    print(
        f"\nthree schedulers, {t_stop - t0:.1f} s: ticks expected {len(expected)}, enqueued "
        f"{len(enqueued)}, jobs for them {sum(counts[t] for t in expected)}; all ticks seen "
        f"{len(counts)}, jobs {sum(counts.values())}; fired by each scheduler {fired_by}; "
        f"ms late: median {sorted(late)[len(late) // 2] if late else '-'}, max {max(late, default='-')}"
    )
    assert len(expected) >= 5
    assert enqueued == expected, "a tick due while three schedulers ran was not enqueued"
    assert set(counts.values()) == {1}, f"ticks enqueued more than once: {counts}"
    assert sum(fired_by) == sum(counts.values())


def test_a_scheduler_killed_and_restarted_fires_no_tick_twice_and_leaves_no_gap(
    jobq_cli: Start, redis_url: str, redis_server: RedisServer, namespace: str
) -> None:
    client = redis_server.client()
    env = {"JOBQ_NAMESPACE": namespace}
    first = jobq_cli(["scheduler", "cron_app"], redis_url, **env)
    wait_for(lambda: len(tick_counts(client, namespace)) >= 2, 60, "two ticks from the first scheduler")
    seen = len(tick_counts(client, namespace))
    wait_for(lambda: len(tick_counts(client, namespace)) > seen, 10, "a fresh tick")
    first.kill_group()  # kill -9, right after it fired a tick
    killed_at = redis_time(client)

    second = jobq_cli(["scheduler", "cron_app"], redis_url, **env)
    wait_for(lambda: started(second), 60, "the restarted scheduler to start")
    restarted = redis_time(client)
    wait_for(
        lambda: len([t for t in tick_counts(client, namespace) if t > restarted]) >= 2,
        20,
        "two ticks after the restart",
    )
    assert stop_all([second]) == [0]

    counts = tick_counts(client, namespace)
    assert set(counts.values()) == {1}, f"a tick enqueued twice across the restart: {counts}"
    first_tick, last_tick = min(counts), max(counts)
    # every tick from the first to the last is there, except ones that fell due while no
    # scheduler ran and were already past the 5 s grace when the new one started
    gap = [t for t in every_tick(first_tick - 1, last_tick) if not counts[t]]
    assert all(killed_at < t < restarted - 5.0 for t in gap), (gap, killed_at, restarted)


def test_beat_in_two_worker_pools_still_enqueues_each_tick_once(
    jobq_cli: Start, redis_url: str, redis_server: RedisServer, namespace: str
) -> None:
    client = redis_server.client()
    args = ["worker", "cron_app", "-q", "default", "--beat", "--shutdown-timeout", "5"]
    pools = [jobq_cli(args, redis_url, JOBQ_NAMESPACE=namespace) for _ in range(2)]
    wait_for(lambda: started(*pools), 60, "the schedulers of both pools to start")
    t0 = redis_time(client)
    wait_for(lambda: redis_time(client) >= t0 + 8.0, 20, "the pools to run", interval=0.2)
    t_stop = redis_time(client)
    assert stop_all(pools) == [0, 0]

    counts = tick_counts(client, namespace)
    expected = every_tick(t0, t_stop - SETTLE_S)
    assert len(expected) >= 3
    assert [t for t in expected if counts[t]] == expected
    assert set(counts.values()) == {1}, f"ticks enqueued more than once: {counts}"
    assert sum(p.output().count("cron.tick_fired") for p in pools) == sum(counts.values())
    assert all("scheduler.stopped" in p.output() for p in pools)  # stopped on SIGTERM, not killed
