"""Real redis-server processes for tests: `jobq.localredis.LocalRedis` under the names the
fault tests use (`stop()` is SIGSTOP, `resume()` SIGCONT, `kill()` kill -9), plus a
redis-py client of it."""

from __future__ import annotations

from collections.abc import Sequence

import redis

from jobq.localredis import LocalRedis, free_port

__all__ = ["RedisServer", "free_port"]


class RedisServer(LocalRedis):
    """One redis-server on loopback, owned by the test that made it."""

    def __init__(
        self,
        *,
        aof: bool = False,
        extra: list[str] | None = None,
        port: int | None = None,
        config: Sequence[str] = (),
    ) -> None:
        super().__init__(port=port, aof=aof, extra=extra or (), config=config)

    def stop(self) -> None:
        """SIGSTOP: the process hangs, the port stays open (clients time out)."""
        self.pause()

    def client(self) -> redis.Redis:
        """A redis-py client of this server (over TLS when it is TLS-only)."""
        return redis.Redis(
            host="127.0.0.1",
            port=self.port,
            decode_responses=True,
            socket_timeout=5,
            ssl=self.tls is not None,
            ssl_ca_certs=str(self.tls.ca) if self.tls is not None else None,
        )


def redis_time(client: redis.Redis) -> float:
    """The server's clock (Unix seconds): what scripts and heartbeats are scored by."""
    sec, usec = client.time()
    return float(sec) + usec / 1e6
