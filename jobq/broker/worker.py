"""The worker's connection: read, settle, renew, reclaim, promote, heartbeat.

It runs the same Lua scripts as the synchronous roles, with arguments built by
`jobq.protocol`, so each server-side step is written once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any

import redis
import redis.asyncio as aioredis

from jobq import protocol, protocol_levels, startfail
from jobq.broker.connection import connect_async, connect_checked, register_scripts
from jobq.broker.errors import Translating
from jobq.broker.workflows import AsyncWorkflowCalls
from jobq.config import Config
from jobq.errors import BrokerRefused
from jobq.flow import DEFAULT_PRIORITY
from jobq.keys import GROUP, NamespaceKeys, QueueKeys

CLUSTER_BLOCK_SLICE_MS = 100


class AsyncBroker(AsyncWorkflowCalls):
    """The worker's Redis access: read, settle, renew, reclaim, promote, heartbeat."""

    def __init__(self, config: Config, consumer: str) -> None:
        self.config = config
        self.url = config.redis_url
        self.consumer = consumer
        self.ns = NamespaceKeys(config.namespace)
        self.client: aioredis.Redis = connect_checked(connect_async, self.url)
        self.cluster = isinstance(self.client, aioredis.RedisCluster)
        # One server holds every key: a settle applies succeeded workflow members itself
        # (in a Cluster, a workflow's state is in a slot of its own: the outbox carries them).
        self._workflow_key = None if self.cluster else self.ns.workflow
        self._scripts = register_scripts(self.client)
        self._errors = Translating(self.url)

    async def _run(self, name: str, call: protocol.Call) -> Any:
        keys, args = call
        with self._errors:
            return await self._scripts[name](keys=keys, args=args)

    async def close(self) -> None:
        await self.client.aclose()

    async def ensure_groups(self, queues: Sequence[str]) -> None:
        """Create each queue's consumer group at 0 (so nothing enqueued earlier is skipped)."""
        with self._errors:
            pipe = self.client.pipeline(transaction=False)
            for q in queues:
                pipe.sadd(self.ns.queues, q)
                pipe.xgroup_create(self.ns.queue(q).stream, GROUP, id="0", mkstream=True)
            replies = await pipe.execute(raise_on_error=False)
            for q, registered, created in zip(queues, replies[::2], replies[1::2], strict=True):
                if isinstance(created, redis.exceptions.OutOfMemoryError):
                    # A full Redis refuses XGROUP CREATE even for a group that exists already.
                    existing = await self.client.xinfo_groups(self.ns.queue(q).stream)
                    if any(g["name"] == GROUP for g in existing):
                        continue
                if isinstance(created, Exception) and "BUSYGROUP" not in str(created):
                    raise created
                if isinstance(registered, Exception) and not isinstance(
                    registered, redis.exceptions.OutOfMemoryError
                ):
                    raise registered

    async def read(
        self, streams: dict[str, str], count: int, block_ms: int
    ) -> list[tuple[str, list[tuple[str, dict[str, str]]]]]:
        """XREADGROUP new entries for this consumer from several streams at once."""
        with self._errors:
            if self.cluster and len(streams) > 1:
                return await self._read_each(streams, count, block_ms)
            reply: Any = await self.client.xreadgroup(
                GROUP,
                self.consumer,
                streams,  # type: ignore[arg-type]
                count=count,
                block=block_ms,
            )
            return list(reply or [])

    async def read_counts(
        self, counts: dict[str, int], since: str = ">"
    ) -> list[tuple[str, list[tuple[str, dict[str, str]]]]]:
        """XREADGROUP without blocking, a different COUNT per stream (weighted queues):
        pipelined on one server, one call each (at once) on a Cluster. `since="0"` reads
        the entries delivered to this consumer and not acknowledged yet, instead of new ones."""
        with self._errors:
            if self.cluster:
                calls = [self._read_round({s: since}, n, None) for s, n in counts.items()]
                return [e for found in await asyncio.gather(*calls) for e in found]
            pipe = self.client.pipeline(transaction=False)
            for stream, n in counts.items():
                pipe.xreadgroup(GROUP, self.consumer, {stream: since}, count=n)
            replies: list[Any] = await pipe.execute()
            return [tuple(e) for r in replies if r for e in r]  # type: ignore[misc]

    async def read_levels(
        self, queue: str, levels: Sequence[int], count: int
    ) -> list[tuple[int, str, str | None]]:
        """Up to `count` new entries of one queue's priority levels, highest level first,
        without blocking (fetch_levels.lua): (level, stream id, envelope or None)."""
        call = protocol_levels.fetch_levels(self.ns.queue(queue), self.consumer, levels, count)
        return protocol_levels.parse_fetch_levels(levels, await self._run("fetch_levels", call))

    async def age_levels(self, queue: str, age_ms: int, limit: int) -> int:
        """Move entries waiting longer than `age_ms` up one priority level (age_levels.lua)."""
        call = protocol_levels.age_levels(self.ns.queue(queue), age_ms, limit)
        return int(await self._run("age_levels", call))

    async def _read_each(
        self, streams: dict[str, str], count: int, block_ms: int
    ) -> list[tuple[str, list[tuple[str, dict[str, str]]]]]:
        """Cluster: the streams of different queues live in different slots, so one
        XREADGROUP each, all at once. A sweep without BLOCK first; while every stream is
        empty, blocking rounds of at most CLUSTER_BLOCK_SLICE_MS until `block_ms` is spent
        (0: no limit), so a job on any queue waits at most one slice. Up to `count` entries
        may come from each stream; extra ones wait in the worker with their leases renewed.
        """
        deadline = time.monotonic() + block_ms / 1000
        found = await self._read_round(streams, count, None)
        while not found:
            left_ms = int((deadline - time.monotonic()) * 1000)
            if block_ms and left_ms <= 0:
                break
            slice_ms = CLUSTER_BLOCK_SLICE_MS if not block_ms else min(left_ms, CLUSTER_BLOCK_SLICE_MS)
            found = await self._read_round(streams, count, max(1, slice_ms))
        return found

    async def _read_round(
        self, streams: dict[str, str], count: int, block_ms: int | None
    ) -> list[tuple[str, list[tuple[str, dict[str, str]]]]]:
        """One XREADGROUP per stream, concurrently. Entries read are never dropped: an error
        is raised only when no stream delivered anything (it will recur on the next call)."""
        calls = [
            self.client.xreadgroup(GROUP, self.consumer, {s: i}, count=count, block=block_ms)
            for s, i in streams.items()
        ]
        replies: list[Any] = await asyncio.gather(*calls, return_exceptions=True)
        found = [tuple(e) for r in replies if isinstance(r, list) for e in r]
        errors = [r for r in replies if isinstance(r, BaseException)]
        if errors and not found:
            error = errors[0]
            if isinstance(error, redis.RedisError | OSError | asyncio.CancelledError):
                raise error
            # redis-py's Cluster client can fail with internal errors (AttributeError) while
            # the cluster is restarting: for the worker that is an outage like any other.
            raise redis.ConnectionError(f"cluster read failed: {error!r}") from error
        return found  # type: ignore[return-value]

    async def settle(
        self, queue: str, batch: Sequence[protocol.Settlement], counters: dict[str, int]
    ) -> tuple[list[str], list[tuple[str, str, str]]]:
        """Run settle.lua; returns the stream ids it did not settle (not owned), and the
        outbox records it wrote for workflow members (entry id, job id, workflow ids)."""
        k = self.ns.queue(queue)
        lost, woken, members = protocol.parse_settle(
            await self._run("settle", protocol.settle(k, self.consumer, batch, counters, self._workflow_key))
        )
        if woken:
            await self._wake(k, woken)
        return lost, members

    async def _wake(self, k: QueueKeys, woken: Sequence[tuple[str, int]]) -> None:
        """Wake callers blocked in Job.result() on jobs just settled. Best effort: the outcome
        is stored already, and a waiter not woken sees it at its next poll."""
        pipe = self.client.pipeline(transaction=False)
        for job_id, n in woken:
            pipe.rpush(k.notify(job_id), *["1"] * n)
            pipe.expire(k.notify(job_id), 60)
        try:
            await pipe.execute()
        except (redis.RedisError, OSError):
            return

    async def write_progress(self, reports: dict[tuple[str, str], tuple[str, int]]) -> None:
        """Store progress reports: (queue, job id) -> (JSON, seconds to keep), one pipeline."""
        with self._errors:
            pipe = self.client.pipeline(transaction=False)
            for (queue, job_id), (blob, ttl) in reports.items():
                pipe.set(self.ns.queue(queue).progress(job_id), blob, ex=max(1, ttl))
            await pipe.execute()

    async def renew(self, queue: str, held: Sequence[tuple[str, str]]) -> tuple[list[str], list[str]]:
        reply = await self._run("renew", protocol.renew(self.ns.queue(queue), self.consumer, held))
        return protocol.parse_renew(reply)

    async def reclaim(
        self, queue: str, min_idle_ms: int, cursor: str, count: int, level: int = DEFAULT_PRIORITY
    ) -> tuple[str, list[protocol.Reclaimed]]:
        """One priority level's stream; its stream ids come back bare."""
        call = protocol.reclaim(self.ns.queue(queue), self.consumer, min_idle_ms, cursor, count, level)
        return protocol.parse_reclaim(await self._run("reclaim", call))

    async def promote(self, queue: str, limit: int) -> tuple[int, int]:
        moved, wait = await self._run("promote", protocol.promote(self.ns.queue(queue), limit))
        return int(moved), int(wait)

    async def heartbeat(self, worker_id: str, info: dict[str, Any], ttl_s: int) -> int:
        """Publish this worker's state; returns the Redis time (ms) it was recorded at."""
        with self._errors:
            key = self.ns.worker(worker_id)
            pipe = self.client.pipeline(transaction=False)
            pipe.hset(key, mapping=info)  # type: ignore[arg-type]
            pipe.expire(key, ttl_s)
            pipe.time()
            reply = await pipe.execute()
            sec, usec = reply[-1]
            now_ms = int(sec) * 1000 + int(usec) // 1000
            await self.client.zadd(self.ns.workers, {worker_id: now_ms})
            return now_ms

    async def deregister(self, worker_id: str, queues: Sequence[str]) -> None:
        with self._errors:
            pipe = self.client.pipeline(transaction=False)
            pipe.delete(self.ns.worker(worker_id))
            pipe.zrem(self.ns.workers, worker_id)
            await pipe.execute()
            await self.drop_idle_consumer(queues, self.consumer)

    async def drop_idle_consumer(self, queues: Sequence[str], consumer: str) -> None:
        """Remove a consumer from the groups if it holds nothing (keeps XINFO small)."""
        with self._errors:
            for q in queues:
                k = self.ns.queue(q)
                levels = [int(x) for x in await self.client.smembers(k.levels)]  # type: ignore[misc]
                for stream in (k.stream, *(k.level_stream(level) for level in levels)):
                    try:
                        pending = await self.client.xpending_range(
                            stream, GROUP, min="-", max="+", count=1, consumername=consumer
                        )
                        if not pending:
                            await self.client.xgroup_delconsumer(stream, GROUP, consumer)
                    except redis.ResponseError:
                        continue

    async def paused(self, queues: Sequence[str]) -> set[str]:
        """Which of `queues` are paused now (one pipelined round trip)."""
        return (await self.queue_state(queues))[0]

    async def queue_state(self, queues: Sequence[str]) -> tuple[set[str], dict[str, tuple[int, ...]]]:
        """Which of `queues` are paused now, and the priority levels other than the default
        each one uses (only queues that use some): one pipelined round trip."""
        with self._errors:
            pipe = self.client.pipeline(transaction=False)
            for q in queues:
                pipe.exists(self.ns.queue(q).paused)
                pipe.smembers(self.ns.queue(q).levels)
            replies = await pipe.execute()
        paused = {q for q, flag in zip(queues, replies[::2], strict=True) if flag}
        levels = {
            q: tuple(sorted(int(x) for x in found)) for q, found in zip(queues, replies[1::2], strict=True)
        }
        return paused, {q: found for q, found in levels.items() if found}

    async def acquire(
        self, queue: str, entries: Sequence[protocol.Limited], lease_ms: int, lead_ms: int
    ) -> list[tuple[str, int]]:
        """Run flow_acquire.lua: which entries may start now under their limits (see there)."""
        with self._errors:
            call = protocol.flow_acquire(self.ns.queue(queue), entries, lease_ms, lead_ms)
            return protocol.parse_flow_acquire(await self._run("flow_acquire", call))

    async def hold_slots(self, holders: Sequence[tuple[str, str, str]], until_ms: int | None) -> None:
        """(queue, limiter, stream id) holders: renew their concurrency slots until
        `until_ms` (only those still held), or free them (None). One round trip."""
        with self._errors:
            pipe = self.client.pipeline(transaction=False)
            for queue, limiter, stream_id in holders:
                key = self.ns.queue(queue).slots(limiter)
                if until_ms is None:
                    pipe.zrem(key, stream_id)
                else:
                    pipe.zadd(key, {stream_id: until_ms}, xx=True)
            await pipe.execute()

    async def server_time_ms(self) -> int:
        with self._errors:
            sec, usec = await self.client.time()
            return int(sec) * 1000 + int(usec) // 1000

    async def record_start_failure(self, pool: str, fields: Mapping[str, Any]) -> None:
        """Add one failed start to `pool`'s record (jobq.startfail); plain commands, so it
        works on a Cluster too."""
        key = self.ns.start_failure(pool)
        record: dict[Any, Any] = {**fields, "pool": pool, "at": time.time()}
        with self._errors:
            await self.client.hset(key, mapping=record)
            await self.client.hincrby(key, "failures", 1)
            await self.client.expire(key, startfail.RECORD_TTL_S)
            await self.client.zadd(self.ns.start_failures, {pool: time.time()})

    async def clear_start_failure(self, pool: str) -> None:
        with self._errors:
            if await self.client.delete(self.ns.start_failure(pool)):
                await self.client.zrem(self.ns.start_failures, pool)

    async def eviction_policy(self) -> str | None:
        """Redis's maxmemory-policy (None: CONFIG is disabled, as on some managed Redis)."""
        try:
            with self._errors:
                found = await self.client.config_get("maxmemory-policy")
        except BrokerRefused:
            return None
        return str(found.get("maxmemory-policy", "noeviction"))
