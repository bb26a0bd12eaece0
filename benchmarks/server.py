"""The private redis-server every workload runs on, and the INFO figures read from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from jobq.localredis import LocalRedis


@dataclass(frozen=True, slots=True)
class Counters:
    """Server-side totals at one moment (differences of two give per-job costs)."""

    commands: int
    cpu_s: float
    used_memory: int


class BenchServer:
    """A redis-server on a free loopback port, no persistence, stopped when done.

    It is FLUSHALLed before every measurement, so it must never be a server anyone else
    uses: the runner only ever starts its own.
    """

    def __init__(self) -> None:
        self.local = LocalRedis()
        self.client: redis.Redis | None = None

    def start(self) -> BenchServer:
        self.local.start()
        self.client = redis.Redis.from_url(self.local.url, decode_responses=True)
        return self

    @property
    def url(self) -> str:
        return self.local.url

    @property
    def port(self) -> int:
        return self.local.port

    @property
    def redis(self) -> redis.Redis:
        assert self.client is not None, "server not started"
        return self.client

    def flush(self) -> None:
        self.redis.flushall()

    def counters(self) -> Counters:
        info: Any = self.redis.info()
        return Counters(
            commands=int(info["total_commands_processed"]),
            cpu_s=float(info["used_cpu_user"]) + float(info["used_cpu_sys"]),
            used_memory=int(info["used_memory"]),
        )

    def version(self) -> str:
        info: Any = self.redis.info("server")
        return str(info["redis_version"])

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        self.local.close()

    def __enter__(self) -> BenchServer:
        """`with BenchServer().start() as server` starts it once: a second start would leave
        the first server running after the block, on a port the second could not take."""
        return self if self.client is not None else self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
