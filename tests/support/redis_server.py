"""Real redis-server processes for tests: `jobq.localredis.LocalRedis` under the names the
fault tests use (`stop()` is SIGSTOP, `resume()` SIGCONT, `kill()` kill -9)."""

from __future__ import annotations

from jobq.localredis import LocalRedis, free_port

__all__ = ["RedisServer", "free_port"]


class RedisServer(LocalRedis):
    """One redis-server on loopback, owned by the test that made it."""

    def __init__(self, *, aof: bool = False, extra: list[str] | None = None, port: int | None = None) -> None:
        super().__init__(port=port, aof=aof, extra=extra or ())

    def stop(self) -> None:
        """SIGSTOP: the process hangs, the port stays open (clients time out)."""
        self.pause()
