"""Accuracy of a fleet-wide rate limit: ``python -m benchmarks.flow_limits [--seconds 60]``.

Four worker processes (`jobq worker benchmarks.flow_app -p 4 -c 8`) drain a backlog that
outlasts the run under `rate_limit="20/s"`. Printed: starts per 1 s window counted two
ways, on the Redis clock where the limiter decides (read from the limit's own window every
0.2 s) and by the tasks' own clocks (which add the host's scheduling delays), the largest
window, and the total against seconds x 20. The target: every window within 20, the total
within 2 % of the limit. tests/test_flow_limits.py runs the same for 10 s.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from benchmarks.procs import jobq_command
from benchmarks.server import BenchServer
from jobq.keys import NamespaceKeys, limiter_id

RATE, PER_S = "20/s", 20
NAMESPACE = "flowbench"


def decisions(client: redis.Redis, key: str, seconds: float) -> list[float]:
    """Redis times of the starts the limit allowed, from its first start for `seconds` (a
    start stays in the window for a whole period, so reading it every 0.2 s misses none)."""
    seen: dict[bytes, float] = {}
    until = None
    while until is None or time.monotonic() < until:
        sec, usec = client.time()
        now_ms = sec * 1000 + usec // 1000
        for member, score in client.zrange(key, 0, -1, withscores=True):
            if score <= now_ms:
                seen[member] = score / 1000
        if until is None and seen:
            until = time.monotonic() + seconds + 1.5
        time.sleep(0.2)
    return sorted(seen.values())


def per_second(times: list[float], seconds: int) -> list[int]:
    first = times[0] if times else 0.0
    return [sum(1 for t in times if first + s <= t < first + s + 1) for s in range(seconds)]


def run(seconds: int) -> int:
    server = BenchServer().start()
    starts = Path(tempfile.mkdtemp()) / "starts"
    env = {
        **os.environ,
        "JOBQ_REDIS_URL": server.url,
        "JOBQ_NAMESPACE": NAMESPACE,
        "FLOW_STARTS": str(starts),
    }
    env["FLOW_RATE"] = RATE
    os.environ.update(env)
    from benchmarks.flow_app import rated

    rated.app.reconfigure(redis_url=server.url)
    rated.delay_many([()] * (PER_S * (seconds + 15)))
    argv = [*jobq_command(), "worker", "benchmarks.flow_app", "-p", "4", "-c", "8"]
    pool = subprocess.Popen(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        key = NamespaceKeys(NAMESPACE).queue("default").rate(limiter_id("flow.rated", ""))
        decided = decisions(server.redis, key, seconds)
    finally:
        os.killpg(pool.pid, signal.SIGTERM)
        pool.wait(30)
        server.local.close()
    started = sorted(float(line) for line in starts.read_text().split())
    by_redis, by_task = per_second(decided, seconds), per_second(started, seconds)
    for name, windows in (("Redis clock", by_redis), ("task clocks", by_task)):
        total = sum(windows)
        off = 100 * (total - PER_S * seconds) / (PER_S * seconds)
        print(f"{name}: max {max(windows)} per 1 s window, total {total} in {seconds} s ({off:+.1f} %)")
        print(f"  windows: {windows}")
    ok = max(by_redis) <= PER_S and abs(sum(by_redis) - PER_S * seconds) <= 0.02 * PER_S * seconds
    print("target met" if ok else "target missed")
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    raise SystemExit(run(parser.parse_args().seconds))


if __name__ == "__main__":
    main()
