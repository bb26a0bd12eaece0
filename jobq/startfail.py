"""Pools whose worker processes fail to start (an `on_worker_start` hook raised).

The failing process records itself before it exits, under its supervisor's id
(host:supervisor pid), so `jobq stats` and the dashboard can say which pool is stuck and
why; a process of that pool that starts cleanly clears the record. A record left behind
by a pool that was stopped lapses after RECORD_TTL_S.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jobq.keys import NamespaceKeys

RECORD_TTL_S = 90  # longer than the supervisor's longest wait between two starts
MAX_LISTED = 100


@dataclass(frozen=True)
class StartFailure:
    pool: str
    host: str
    pid: int
    hook: str
    error: str
    failures: int
    last_failed_s: float


async def record(client: Any, ns: NamespaceKeys, pool: str, fields: Mapping[str, Any]) -> None:
    """Add one failed start to `pool`'s record (plain commands: works on Cluster too)."""
    key = ns.start_failure(pool)
    await client.hset(key, mapping={**fields, "pool": pool, "at": time.time()})
    await client.hincrby(key, "failures", 1)
    await client.expire(key, RECORD_TTL_S)
    await client.zadd(ns.start_failures, {pool: time.time()})


async def clear(client: Any, ns: NamespaceKeys, pool: str) -> None:
    if await client.delete(ns.start_failure(pool)):
        await client.zrem(ns.start_failures, pool)


def read(client: Any, ns: NamespaceKeys, now: float) -> list[StartFailure]:
    """The live records, newest first (bounded: at most MAX_LISTED pools)."""
    pools = [_s(p) for p in client.zrevrange(ns.start_failures, 0, MAX_LISTED - 1)]
    if not pools:
        return []
    replies = [client.hgetall(ns.start_failure(p)) for p in pools]
    gone = [p for p, h in zip(pools, replies, strict=True) if not h]
    if gone:
        client.zrem(ns.start_failures, *gone)
    return [parse(h, now) for h in replies if h]


def parse(h: Mapping[Any, Any], now: float) -> StartFailure:
    """A StartFailure from its hash (pure: table-tested)."""
    text = {_s(k): _s(v) for k, v in h.items()}

    def number(name: str) -> float:
        try:
            return float(text.get(name, 0))
        except ValueError:
            return 0.0

    return StartFailure(
        pool=text.get("pool", ""),
        host=text.get("host", ""),
        pid=int(number("pid")),
        hook=text.get("hook", ""),
        error=text.get("error", ""),
        failures=int(number("failures")),
        last_failed_s=round(max(0.0, now - number("at")), 3),
    )


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def to_json(f: StartFailure) -> dict[str, Any]:
    return dataclasses.asdict(f)


def describe(f: StartFailure) -> str:
    """One line for the dashboard."""
    return (
        f"pool {f.pool} failing to start: {f.hook} raised {f.error} "
        f"({f.failures} failed start{'s' if f.failures != 1 else ''}, last {f.last_failed_s:.0f}s ago)"
    )
