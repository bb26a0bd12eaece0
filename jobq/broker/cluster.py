"""Redis Cluster clients that fail like one-server clients.

redis-py raises RedisClusterException (no RedisError at all) when no node answers, and
ClusterDownError (a ResponseError, which the worker takes for a bug) while restarted nodes
agree again. Both are a lost server, so both become redis.ConnectionError/RedisError here.
"""

from __future__ import annotations

import functools
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.exceptions import ClusterDownError, RedisClusterException

CLUSTER_OUTAGE = (RedisClusterException, ClusterDownError)


def as_redis_error(exc: Exception) -> redis.RedisError:
    """What a Cluster outage looks like to callers: a lost connection or a plain RedisError."""
    if isinstance(exc, ClusterDownError) or "cannot be connected" in str(exc):
        return redis.ConnectionError(str(exc))
    return redis.RedisError(str(exc))


def _with_time(pipe: Any) -> Any:
    """Pipelines on a Cluster also take TIME (answered by the default node): redis-py refuses it."""
    pipe.time = functools.partial(pipe.execute_command, "TIME")
    return pipe


class Cluster(redis.RedisCluster):
    """A Cluster client that fails like a one-server client, and whose pipelines take TIME."""

    def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().execute_command(*args, **kwargs)  # type: ignore[no-untyped-call]
        except CLUSTER_OUTAGE as exc:
            raise as_redis_error(exc) from exc

    def pipeline(self, transaction: Any = None, shard_hint: Any = None) -> Any:
        pipe = _with_time(super().pipeline(transaction, shard_hint))  # type: ignore[no-untyped-call]
        run = pipe.execute

        def execute(*args: Any, **kwargs: Any) -> Any:
            try:
                return run(*args, **kwargs)
            except CLUSTER_OUTAGE as exc:
                raise as_redis_error(exc) from exc

        pipe.execute = execute
        return pipe


class AsyncCluster(aioredis.RedisCluster):
    """The asyncio twin of `Cluster`."""

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().execute_command(*args, **kwargs)
        except CLUSTER_OUTAGE as exc:
            raise as_redis_error(exc) from exc

    def pipeline(self, transaction: Any = None, shard_hint: Any = None) -> Any:
        pipe = _with_time(super().pipeline(transaction, shard_hint))  # type: ignore[no-untyped-call]
        run = pipe.execute

        async def execute(*args: Any, **kwargs: Any) -> Any:
            try:
                return await run(*args, **kwargs)
            except CLUSTER_OUTAGE as exc:
                raise as_redis_error(exc) from exc

        pipe.execute = execute
        return pipe
