"""A deep backlog (issue 3, scenario 7): memory per queued job, bounded prefetch, and only
bounded commands behind `stats` and the dashboard (no KEYS, SCAN or XINFO STREAM FULL)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from jobq.keys import GROUP
from jobq.stats import snapshot
from tests.support import runlog
from tests.support.corepool import Start, producer, start_pool
from tests.support.processes import env_for, jobq_executable
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_for

BACKLOG = 100_000
ALLOWED = {
    "xlen",
    "hello",
    "config|resetstat",
    "xinfo|groups",
    "xrange",
    "zcard",
    "hgetall",
    "smembers",
    "zrange",
    "time",
    "hget",
    "hlen",
    "xpending",
    "exists",
    "get",  # the queue's paused key (flow control): O(1), one per queue
    "ping",
    "client|setinfo",
    "info",
    "config|get",
    "hmget",
    "scard",
    "zrangebyscore",
    "zscore",
    "zrevrange",
    "select",
}


def commandstats(server: RedisServer) -> dict[str, int]:
    stats = server.client().info("commandstats")
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}


def test_deep_backlog_is_cheap_to_hold_and_to_watch(
    private_redis: Callable[..., RedisServer],
    jobq_cli: Start,
    namespace: str,
    runs: Path,
    report: dict[str, object],
) -> None:
    server = private_redis()
    app, tasks = producer(server.url, namespace, 5.0)
    tasks["work"].delay(0.0)
    client = server.client()
    before = int(client.info("memory")["used_memory"])
    for _start in range(0, BACKLOG, 10_000):
        tasks["work"].delay_many([(0.0,)] * 10_000)
    per_job = (int(client.info("memory")["used_memory"]) - before) / BACKLOG
    assert per_job <= 300, f"{per_job:.0f} bytes of Redis memory per queued job"

    client.config_resetstat()
    snap = snapshot(app.broker)
    [queue] = snap.queues
    assert queue.backlog == BACKLOG + 1 and queue.in_flight == 0 and queue.oldest_age_s >= 0
    done = subprocess.run(
        [*jobq_executable(), "stats", "--json", "--namespace", namespace],
        env=env_for(server.url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    used = {name: calls for name, calls in commandstats(server).items() if calls}
    assert set(used) <= ALLOWED, f"unexpected commands behind stats: {set(used) - ALLOWED}"
    assert sum(used.values()) < 100, f"stats should cost a bounded number of commands: {used}"

    pool = start_pool(jobq_cli, server.url, namespace, runs, 5.0, "-p", "1", "-c", "4")
    stream = app.broker.queue_keys("default").stream
    held: list[int] = []

    def drained_some() -> bool:
        held.append(int(client.xpending(stream, GROUP)["pending"]))
        return len(runlog.ended(runs)) >= 2000

    wait_for(drained_some, 60, "the worker to work through part of the backlog")
    # Read-ahead takes two bursts of -c 4 while sync jobs come back quick (Runner.room),
    # and finished jobs stay held until their settle lands: at most twice that.
    assert max(held) <= 2 * 2 * 4, "a worker holds at most twice its two bursts (running + settling)"
    pool.kill_group()
    report.update(backlog=BACKLOG, redis_bytes_per_job=round(per_job), stats_commands=sum(used.values()))
