"""All Redis I/O. The only module that imports redis.

`Broker` is the synchronous side (producers, Job handles, the command line);
`AsyncBroker` is the worker's side. Both run the same Lua scripts with arguments built
by `jobq.protocol`, so each server-side step is written once.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import redis
import redis.asyncio as aioredis
import redis.asyncio.sentinel
import redis.sentinel
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ClusterDownError, RedisClusterException
from redis.retry import Retry

from jobq import protocol
from jobq.config import Config, malformed_url, redact_url
from jobq.errors import BrokerError, ConfigError
from jobq.keys import GROUP, NamespaceKeys, QueueKeys
from jobq.redis_urls import Topology, parse_topology

ENQUEUE_CHUNK = 500
T = TypeVar("T")


def describe_error(url: str, exc: BaseException) -> BrokerError:
    """A BrokerError whose message names the (redacted) server and the cause, on one line."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    safe = redact_url(url)
    if isinstance(exc, redis.AuthenticationError | redis.exceptions.AuthorizationError):
        return BrokerError(f"Redis at {safe} refused the credentials: {text}")
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError | OSError):
        text = text.replace(url, safe)
        return BrokerError(f"cannot reach Redis at {safe}: {text}")
    if isinstance(exc, redis.exceptions.OutOfMemoryError) or "OOM" in text:
        return BrokerError(f"Redis at {safe} is out of memory (maxmemory reached): {text}")
    return BrokerError(f"Redis at {safe} failed: {text}")


def connect_checked(make: Callable[[str], T], url: str) -> T:
    """`make(url)`, with a URL its parser refuses turned into a ConfigError that echoes no password."""
    try:
        return make(url)
    except (ValueError, ConfigError) as exc:
        raise malformed_url(url, exc) from None


def is_nogroup(exc: BaseException) -> bool:
    return "NOGROUP" in str(exc)


SOCKET_TIMEOUT_S = 5.0  # longer than any blocking call jobq makes (XREADGROUP, BLPOP)


def _client_options(url: str) -> dict[str, Any]:
    """Bounded waits: a caller gets BrokerError within ~SOCKET_TIMEOUT_S, never hangs.

    A reply that timed out is not retried (the command may have run); refused or reset
    connections are retried twice with a short backoff, to ride over a restart.
    """
    return {
        "decode_responses": True,
        "encoding_errors": "replace",
        "socket_connect_timeout": 3.0,
        "socket_timeout": SOCKET_TIMEOUT_S,
        "retry": Retry(
            ExponentialBackoff(cap=0.5, base=0.05), retries=2, supported_errors=(redis.ConnectionError,)
        ),
        "retry_on_timeout": False,
        "health_check_interval": 30,
    }


# scale-out: one server, Redis Cluster or Sentinel ------------------------------------
# The URL decides (jobq.redis_urls): redis:// one server, redis+cluster:// a Cluster,
# redis+sentinel:// the master a Sentinel group watches. Cluster clients are typed as
# redis.Redis: they take the same per-key commands, and every key of a queue shares one
# hash tag, so each script and multi-key command stays in one slot.

CLUSTER_BLOCK_SLICE_MS = 100


def connect(url: str) -> redis.Redis:
    """The synchronous client for `url`; BrokerError if a Cluster cannot be mapped."""
    topo = parse_topology(url)
    options = _client_options(url)
    if topo.kind == "sentinel":
        sentinel = redis.sentinel.Sentinel(  # type: ignore[no-untyped-call]
            list(topo.nodes), sentinel_kwargs=_sentinel_auth(topo)
        )
        client: redis.Redis = sentinel.master_for(  # type: ignore[no-untyped-call]
            topo.service, db=topo.db, **_auth(topo), **options
        )
        return client
    if topo.kind == "cluster":
        del options["retry_on_timeout"]  # deprecated there: the Cluster client retries timeouts
        nodes = [redis.cluster.ClusterNode(h, p) for h, p in topo.nodes]  # type: ignore[no-untyped-call]
        try:
            cluster = _Cluster(startup_nodes=nodes, **_auth(topo), **options)
        except CLUSTER_OUTAGE as exc:
            raise describe_error(url, _as_redis_error(exc)) from None
        except (redis.RedisError, OSError) as exc:
            raise describe_error(url, exc) from None
        return cluster  # type: ignore[return-value]
    return redis.Redis.from_url(url, **options)


def connect_async(url: str) -> aioredis.Redis:
    """The worker's asyncio client for `url` (a Cluster connects on first use)."""
    topo = parse_topology(url)
    options = _client_options(url)
    refused = (redis.ConnectionError,)  # a reply that timed out is not retried (it may have run)
    options["retry"] = Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=1, supported_errors=refused)
    if topo.kind == "server":
        return aioredis.Redis.from_url(url, **options)
    options["retry"] = AsyncRetry(ExponentialBackoff(cap=1.0, base=0.05), retries=1, supported_errors=refused)
    if topo.kind == "sentinel":
        sentinel = redis.asyncio.sentinel.Sentinel(  # type: ignore[no-untyped-call]
            list(topo.nodes), sentinel_kwargs=_sentinel_auth(topo)
        )
        client: aioredis.Redis = sentinel.master_for(topo.service, db=topo.db, **_auth(topo), **options)
        return client
    del options["retry_on_timeout"]  # not accepted there: `retry` covers timeouts
    nodes = [aioredis.cluster.ClusterNode(host, port) for host, port in topo.nodes]
    return _AsyncCluster(startup_nodes=nodes, **_auth(topo), **options)  # type: ignore[return-value]


def _auth(topo: Topology) -> dict[str, Any]:
    return {"username": topo.username, "password": topo.password, "ssl": topo.ssl}


def _sentinel_auth(topo: Topology) -> dict[str, Any]:
    return {
        "username": topo.sentinel_username,
        "password": topo.sentinel_password,
        "ssl": topo.ssl,
        "socket_connect_timeout": 5.0,
        "socket_timeout": 5.0,
    }


CLUSTER_OUTAGE = (RedisClusterException, ClusterDownError)


def _as_redis_error(exc: Exception) -> redis.RedisError:
    """What a Cluster outage looks like to callers: redis-py raises RedisClusterException
    (no RedisError at all) when no node answers, and ClusterDownError (a ResponseError, which
    the worker takes for a bug) while restarted nodes agree again. Both are a lost server."""
    if isinstance(exc, ClusterDownError) or "cannot be connected" in str(exc):
        return redis.ConnectionError(str(exc))
    return redis.RedisError(str(exc))


class _Cluster(redis.RedisCluster):
    """A Cluster client that fails like a one-server client, and whose pipelines also take
    TIME (answered by the default node), which redis-py refuses there."""

    def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().execute_command(*args, **kwargs)  # type: ignore[no-untyped-call]
        except CLUSTER_OUTAGE as exc:
            raise _as_redis_error(exc) from exc

    def pipeline(self, transaction: Any = None, shard_hint: Any = None) -> Any:
        pipe: Any = super().pipeline(transaction, shard_hint)  # type: ignore[no-untyped-call]
        pipe.time = functools.partial(pipe.execute_command, "TIME")
        run = pipe.execute

        def execute(*args: Any, **kwargs: Any) -> Any:
            try:
                return run(*args, **kwargs)
            except CLUSTER_OUTAGE as exc:
                raise _as_redis_error(exc) from exc

        pipe.execute = execute
        return pipe


class _AsyncCluster(aioredis.RedisCluster):
    """The asyncio twin of `_Cluster`."""

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().execute_command(*args, **kwargs)
        except CLUSTER_OUTAGE as exc:
            raise _as_redis_error(exc) from exc

    def pipeline(self, transaction: Any = None, shard_hint: Any = None) -> Any:
        pipe: Any = super().pipeline(transaction, shard_hint)  # type: ignore[no-untyped-call]
        pipe.time = functools.partial(pipe.execute_command, "TIME")
        run = pipe.execute

        async def execute(*args: Any, **kwargs: Any) -> Any:
            try:
                return await run(*args, **kwargs)
            except CLUSTER_OUTAGE as exc:
                raise _as_redis_error(exc) from exc

        pipe.execute = execute
        return pipe


class Broker:
    """Synchronous Redis access for one App (producers, Job handles, CLI)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.url = config.redis_url
        self.ns = NamespaceKeys(config.namespace)
        self.client: redis.Redis = connect_checked(connect, self.url)
        self.cluster = isinstance(self.client, redis.RedisCluster)
        self._scripts = {
            n: self.client.register_script(protocol.load_script(n)) for n in protocol.SCRIPT_NAMES
        }
        self._known_queues: set[str] = set()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except redis.RedisError as exc:
            raise describe_error(self.url, exc) from None
        except OSError as exc:
            raise describe_error(self.url, exc) from None

    def _run(self, name: str, call: protocol.Call, client: Any = None) -> Any:
        keys, args = call
        return self._scripts[name](keys=keys, args=args, client=client)

    def queue_keys(self, queue: str) -> QueueKeys:
        return self.ns.queue(queue)

    def ping(self) -> None:
        with self._errors():
            self.client.ping()

    def close(self) -> None:
        self.client.close()

    # producers -----------------------------------------------------------------------

    def enqueue(self, queue: str, jobs: Sequence[protocol.NewJob]) -> list[bool]:
        """Enqueue jobs into one queue; one script call per chunk, all chunks pipelined."""
        k = self.ns.queue(queue)
        with self._errors():
            if queue not in self._known_queues:
                self._register_queue(queue)
            if len(jobs) <= ENQUEUE_CHUNK:
                reply = self._run("enqueue", protocol.enqueue(k, jobs))
                return [bool(x) for x in reply]
            if self.cluster:  # redis-py refuses EVALSHA inside a Cluster pipeline
                return self._enqueue_each(queue, jobs)
            pipe = self.client.pipeline(transaction=False)
            for start in range(0, len(jobs), ENQUEUE_CHUNK):
                self._run("enqueue", protocol.enqueue(k, jobs[start : start + ENQUEUE_CHUNK]), pipe)
            replies = pipe.execute()
        flags: list[bool] = []
        for reply in replies:
            if isinstance(reply, list):
                flags += [bool(x) for x in reply]
        return flags

    def _register_queue(self, queue: str) -> None:
        """Once per process and queue: list the queue, and create its consumer group (at 0)
        so the group exists even if Redis fills up before the first worker starts."""
        pipe = self.client.pipeline(transaction=False)
        pipe.sadd(self.ns.queues, queue)
        pipe.xgroup_create(self.ns.queue(queue).stream, GROUP, id="0", mkstream=True)
        for reply in pipe.execute(raise_on_error=False):
            if isinstance(reply, Exception) and "BUSYGROUP" not in str(reply):
                raise reply
        self._known_queues.add(queue)

    def _enqueue_each(self, queue: str, jobs: Sequence[protocol.NewJob]) -> list[bool]:
        """Cluster: one script call per chunk (all in one slot, so still one node)."""
        k = self.ns.queue(queue)
        flags: list[bool] = []
        for start in range(0, len(jobs), ENQUEUE_CHUNK):
            reply = self._run("enqueue", protocol.enqueue(k, jobs[start : start + ENQUEUE_CHUNK]))
            flags += [bool(x) for x in reply]
        return flags

    # job handles ---------------------------------------------------------------------

    def status(self, queue: str, job_id: str) -> tuple[str, str] | None:
        with self._errors():
            reply = self._run("status", protocol.status(self.ns.queue(queue), job_id))
        return (reply[0], reply[1]) if reply else None

    def find_queue(self, job_id: str, candidates: Sequence[str]) -> str | None:
        """Which queue knows this job id: its unfinished record or its stored outcome."""
        with self._errors():
            stored = [str(q) for q in self.client.smembers(self.ns.queues)]
            names = list(dict.fromkeys([*candidates, *sorted(stored)]))
            pipe = self.client.pipeline(transaction=False)
            for name in names:
                k = self.ns.queue(name)
                pipe.hexists(k.jobs, job_id)
                pipe.exists(k.result(job_id))
                pipe.hexists(k.dead_index, job_id)
            flags = pipe.execute()
        for i, name in enumerate(names):
            if any(flags[3 * i : 3 * i + 3]):
                return name
        return None

    def cancel(self, queue: str, job_id: str, ttl: int, blob: str) -> int:
        with self._errors():
            return int(self._run("cancel", protocol.cancel(self.ns.queue(queue), job_id, ttl, blob)))

    def wait_result(self, queue: str, job_id: str, timeout: float | None) -> str | None:
        """Block until the job has a stored outcome, or the timeout passes (None: forever).

        The caller registers as a waiter first, so the settle script wakes it with a push;
        the stored outcome is checked after registering, so a finish in between is seen.
        """
        k = self.ns.queue(queue)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._errors():
            self.client.hincrby(k.waiters, job_id, 1)
            try:
                while True:
                    blob: Any = self.client.get(k.result(job_id))
                    if blob is not None:
                        return str(blob)
                    if not self.client.hexists(k.jobs, job_id):
                        late: Any = self.client.get(k.result(job_id))
                        return None if late is None else str(late)
                    left = 5.0 if deadline is None else deadline - time.monotonic()
                    if left <= 0:
                        return None
                    wait = min(max(left, 0.01), SOCKET_TIMEOUT_S / 2)
                    self.client.blpop([k.notify(job_id)], timeout=wait)
            finally:
                if self.client.hincrby(k.waiters, job_id, -1) <= 0:
                    self.client.hdel(k.waiters, job_id)

    # dead letters --------------------------------------------------------------------

    def dead_entries(
        self, queue: str, start: str = "-", count: int = 100
    ) -> list[tuple[str, dict[str, str]]]:
        with self._errors():
            found: Any = self.client.xrange(self.ns.queue(queue).dead, start, "+", count=count)
        return list(found)

    def dead_entry_of(self, queue: str, job_id: str) -> tuple[str, dict[str, str]] | None:
        k = self.ns.queue(queue)
        with self._errors():
            dead_id: Any = self.client.hget(k.dead_index, job_id)
            if not dead_id:
                return None
            found: Any = self.client.xrange(k.dead, dead_id, dead_id, count=1)
        return (found[0][0], found[0][1]) if found else None

    def requeue_dead(self, queue: str, items: Sequence[tuple[str, str, str]]) -> list[bool]:
        with self._errors():
            reply = self._run("requeue_dead", protocol.requeue_dead(self.ns.queue(queue), items))
        return [bool(x) for x in reply]

    def purge_dead(self, queue: str) -> int:
        k = self.ns.queue(queue)
        with self._errors():
            pipe = self.client.pipeline(transaction=False)
            pipe.xlen(k.dead)
            pipe.delete(k.dead, k.dead_index)
            count, _ = pipe.execute()
        return int(count)

    # introspection -------------------------------------------------------------------

    def known_queues(self) -> list[str]:
        with self._errors():
            return sorted(str(q) for q in self.client.smembers(self.ns.queues))

    def server_time(self) -> float:
        with self._errors():
            sec, usec = self.client.time()
        return float(sec) + usec / 1e6

    def raw(self) -> redis.Redis:
        """The client itself, for read-only snapshot code in stats (bounded commands only)."""
        return self.client

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Translate Redis errors raised by code using `raw()` into BrokerError."""
        with self._errors():
            yield

    # stats ----------------------------------------------------------------------------
    # Read-only snapshot reads for jobq.stats: three pipelined round trips whatever the
    # number of queues, every command O(1) or O(log N) (never KEYS, SCAN or XINFO FULL).

    def snapshot_raw(self, queues: Sequence[str] | None, max_workers: int = 1000) -> dict[str, Any]:
        """Raw replies for a stats snapshot of `queues` (None: every queue in ns:queues).

        Returns {"time": Redis time s, "queues": [{name, length, group, scheduled, dead,
        counters, oldest_id}], "workers": [(id, last beat ms, hash)]}; `group` is the
        consumer group's XINFO GROUPS entry or None when the group does not exist yet.
        """
        with self._errors():
            pipe = self.client.pipeline(transaction=False)
            pipe.time()
            pipe.zrevrange(self.ns.workers, 0, max_workers - 1, withscores=True)
            if queues is None:
                pipe.smembers(self.ns.queues)
            first: Any = pipe.execute()
            names = sorted(str(q) for q in first[2]) if queues is None else list(queues)
            beats = [(str(w), float(ms)) for w, ms in first[1]]
            rows = self._queue_rows(names)
            hashes = self._worker_hashes([w for w, _ in beats])
            self._oldest_ids(rows)
        sec, usec = first[0]
        workers = [(w, ms, h) for (w, ms), h in zip(beats, hashes, strict=True) if h]
        return {"time": float(sec) + usec / 1e6, "queues": rows, "workers": workers}

    def _queue_rows(self, names: Sequence[str]) -> list[dict[str, Any]]:
        pipe = self.client.pipeline(transaction=False)
        for name in names:
            k = self.ns.queue(name)
            pipe.xlen(k.stream)
            pipe.xinfo_groups(k.stream)
            pipe.zcard(k.scheduled)
            pipe.xlen(k.dead)
            pipe.hgetall(k.counters)
        replies: Any = pipe.execute(raise_on_error=False)
        rows = []
        for i, name in enumerate(names):
            length, groups, scheduled, dead, counters = replies[5 * i : 5 * i + 5]
            for reply in (length, scheduled, dead, counters):
                if isinstance(reply, Exception):
                    raise reply
            group = None
            if not isinstance(groups, Exception):  # "no such key": the stream does not exist yet
                group = next((g for g in groups if str(g.get("name")) == GROUP), None)
            rows.append(
                {
                    "name": name,
                    "length": int(length),
                    "group": group,
                    "scheduled": int(scheduled),
                    "dead": int(dead),
                    "counters": dict(counters),
                    "oldest_id": None,
                }
            )
        return rows

    def _oldest_ids(self, rows: list[dict[str, Any]]) -> None:
        """Fill each row's `oldest_id`: the first entry not yet delivered to the group."""
        pipe = self.client.pipeline(transaction=False)
        for row in rows:
            group = row["group"]
            last = str(group.get("last-delivered-id", "0-0")) if group else "0-0"
            pipe.xrange(self.ns.queue(row["name"]).stream, f"({last}", "+", count=1)
        found: Any = pipe.execute()
        for row, entries in zip(rows, found, strict=True):
            row["oldest_id"] = str(entries[0][0]) if entries else None

    def _worker_hashes(self, ids: Sequence[str]) -> list[dict[str, str]]:
        pipe = self.client.pipeline(transaction=False)
        for worker_id in ids:
            pipe.hgetall(self.ns.worker(worker_id))
        return [dict(h) for h in pipe.execute()] if ids else []

    def job_facts(self, queue: str, job_id: str, ahead_limit: int = 1000) -> dict[str, Any]:
        """Everything Redis knows about one job, for `jobq explain` / `jobq job show`.

        Bounded reads only: counting the jobs queued ahead stops at `ahead_limit`.
        Keys: time, record, outcome, result_ttl, delayed, dead (entry id, fields), entry
        (stream fields), pending (XPENDING row), ahead, worker (heartbeat hash).
        """
        k = self.ns.queue(queue)
        with self._errors():
            pipe = self.client.pipeline(transaction=False)
            pipe.time()
            pipe.hget(k.jobs, job_id)
            pipe.get(k.result(job_id))
            pipe.ttl(k.result(job_id))
            pipe.hget(k.delayed, job_id)
            pipe.hget(k.dead_index, job_id)
            pipe.xinfo_groups(k.stream)
            now, record, outcome, ttl, delayed, dead_id, groups = pipe.execute(raise_on_error=False)
            for reply in (now, record, outcome, ttl, delayed, dead_id):
                if isinstance(reply, Exception):
                    raise reply
            facts: dict[str, Any] = {
                "time": float(now[0]) + now[1] / 1e6,
                "record": record,
                "outcome": outcome,
                "result_ttl": int(ttl),
                "delayed": delayed,
                "dead": self.dead_entry_of(queue, job_id) if dead_id else None,
            }
            if record and record[0] in "QX":
                group = (
                    None
                    if isinstance(groups, Exception)
                    else next((g for g in groups if str(g.get("name")) == GROUP), None)
                )
                facts.update(self._entry_facts(k, record[1:], group, ahead_limit))
        return facts

    def _entry_facts(
        self, k: QueueKeys, stream_id: str, group: dict[str, Any] | None, ahead_limit: int
    ) -> dict[str, Any]:
        last = str(group.get("last-delivered-id", "0-0")) if group else "0-0"
        pipe = self.client.pipeline(transaction=False)
        pipe.xrange(k.stream, stream_id, stream_id, count=1)
        pipe.xpending_range(k.stream, GROUP, min=stream_id, max=stream_id, count=1)
        pipe.xrange(k.stream, f"({last}", f"({stream_id}", count=ahead_limit + 1)
        entry, pending, ahead = pipe.execute(raise_on_error=False)
        if isinstance(entry, Exception):
            raise entry
        row = pending[0] if isinstance(pending, list) and pending else None
        worker: dict[str, str] = {}
        if row is not None:
            found: Any = self.client.hgetall(self.ns.worker(str(row["consumer"])))
            worker = dict(found)
        return {
            "entry": dict(entry[0][1]) if entry else None,
            "pending": row,
            "ahead": None if row is not None or isinstance(ahead, Exception) else len(ahead),
            "worker": worker,
        }

    def dead_last_id(self, queue: str) -> str | None:
        """The id of the newest dead-letter entry (None: the stream is empty)."""
        with self._errors():
            found: Any = self.client.xrevrange(self.ns.queue(queue).dead, "+", "-", count=1)
        return str(found[0][0]) if found else None

    def purge_waiting(self, queue: str, limit: int, ttl: int, blob: str) -> tuple[int, int]:
        """One bounded batch of purge.lua: (undelivered entries removed, scheduled removed)."""
        with self._errors():
            queued, scheduled = self._run("purge", protocol.purge(self.ns.queue(queue), limit, ttl, blob))
        return int(queued), int(scheduled)

    # cron ----------------------------------------------------------------------------
    # The scheduler's steps (jobq.scheduler, jobq.cron); each entry's state lives under its
    # queue's hash tag, so deciding a tick and enqueueing its job is one script in one slot.

    def cron_fire(self, queue: str, tick: protocol.CronTick) -> tuple[str, int]:
        """Offer one tick to cron_fire.lua: (fired | decided | missed | overlap | early, ms late)."""
        with self._errors():
            reply = self._run("cron_fire", protocol.cron_fire(self.ns.queue(queue), tick))
        return protocol.parse_cron_fire(reply)

    def cron_trigger(self, queue: str, name: str, job_id: str, envelope: str) -> str:
        """Enqueue one run of entry `name` by hand; returns its stream id."""
        with self._errors():
            call = protocol.cron_trigger(self.ns.queue(queue), name, job_id, envelope)
            return str(self._run("cron_trigger", call))

    def cron_register_queues(self, queues: Sequence[str]) -> None:
        """Record the queues cron entries enqueue into (as every enqueue does), for stats."""
        if queues:
            with self._errors():
                self.client.sadd(self.ns.queues, *queues)

    def cron_states(self, entries: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
        """The state hash of each (queue, entry name), in one pipelined round trip."""
        if not entries:
            return []
        with self._errors():
            pipe = self.client.pipeline(transaction=False)
            for queue, name in entries:
                pipe.hgetall(protocol.cron_state_key(self.ns.queue(queue), name))
            replies: list[Any] = pipe.execute()
        return [dict(r) for r in replies]

    # demo and testing -----------------------------------------------------------------
    # Used by `jobq demo` and jobq.testing to leave nothing behind in a namespace they
    # made for themselves; never on a namespace that holds real work.

    def delete_namespace(self, batch: int = 500) -> int:
        """Delete every key of this namespace (SCAN MATCH, UNLINK in batches); returns the count."""
        pattern = _glob_escape(self.config.namespace) + ":*"
        deleted = 0
        with self._errors():
            keys: list[str] = []
            for key in self.client.scan_iter(match=pattern, count=batch):
                keys.append(key)
                if len(keys) >= batch:
                    deleted += int(self.client.unlink(*keys))
                    keys.clear()
            if keys:
                deleted += int(self.client.unlink(*keys))
        self._known_queues.clear()
        return deleted


def _glob_escape(text: str) -> str:
    """`text` as a literal inside a Redis glob pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


class AsyncBroker:
    """The worker's Redis access: read, settle, renew, reclaim, promote, heartbeat."""

    def __init__(self, config: Config, consumer: str) -> None:
        self.config = config
        self.url = config.redis_url
        self.consumer = consumer
        self.ns = NamespaceKeys(config.namespace)
        self.client: aioredis.Redis = connect_checked(connect_async, self.url)
        self.cluster = isinstance(self.client, aioredis.RedisCluster)
        self._scripts = {
            n: self.client.register_script(protocol.load_script(n)) for n in protocol.SCRIPT_NAMES
        }

    async def _run(self, name: str, call: protocol.Call) -> Any:
        keys, args = call
        return await self._scripts[name](keys=keys, args=args)

    async def close(self) -> None:
        await self.client.aclose()

    async def ensure_groups(self, queues: Sequence[str]) -> None:
        """Create each queue's consumer group at 0 (so nothing enqueued earlier is skipped)."""
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
    ) -> list[str]:
        reply = await self._run(
            "settle", protocol.settle(self.ns.queue(queue), self.consumer, batch, counters)
        )
        return list(reply)

    async def renew(self, queue: str, held: Sequence[tuple[str, str]]) -> tuple[list[str], list[str]]:
        reply = await self._run("renew", protocol.renew(self.ns.queue(queue), self.consumer, held))
        return protocol.parse_renew(reply)

    async def reclaim(
        self, queue: str, min_idle_ms: int, cursor: str, count: int
    ) -> tuple[str, list[protocol.Reclaimed]]:
        call = protocol.reclaim(self.ns.queue(queue), self.consumer, min_idle_ms, cursor, count)
        return protocol.parse_reclaim(await self._run("reclaim", call))

    async def promote(self, queue: str, limit: int) -> tuple[int, int]:
        moved, wait = await self._run("promote", protocol.promote(self.ns.queue(queue), limit))
        return int(moved), int(wait)

    async def heartbeat(self, worker_id: str, info: dict[str, Any], ttl_s: int) -> int:
        """Publish this worker's state; returns the Redis time (ms) it was recorded at."""
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
        pipe = self.client.pipeline(transaction=False)
        pipe.delete(self.ns.worker(worker_id))
        pipe.zrem(self.ns.workers, worker_id)
        await pipe.execute()
        await self.drop_idle_consumer(queues, self.consumer)

    async def drop_idle_consumer(self, queues: Sequence[str], consumer: str) -> None:
        """Remove a consumer from the groups if it holds nothing (keeps XINFO small)."""
        for q in queues:
            stream = self.ns.queue(q).stream
            try:
                pending = await self.client.xpending_range(
                    stream, GROUP, min="-", max="+", count=1, consumername=consumer
                )
                if not pending:
                    await self.client.xgroup_delconsumer(stream, GROUP, consumer)
            except redis.ResponseError:
                continue

    async def server_time_ms(self) -> int:
        sec, usec = await self.client.time()
        return int(sec) * 1000 + int(usec) // 1000

    def describe(self, exc: BaseException) -> BrokerError:
        return describe_error(self.url, exc)


RedisError = redis.RedisError
RedisConnectionError = redis.ConnectionError
RedisResponseError = redis.ResponseError
RedisOutOfMemoryError = redis.exceptions.OutOfMemoryError
