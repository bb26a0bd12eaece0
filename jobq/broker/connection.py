"""Clients for a redis URL: one server, a Cluster or the master a Sentinel group watches.

The URL decides (jobq.redis_urls): redis:// one server, redis+cluster:// a Cluster,
redis+sentinel:// a Sentinel group. Cluster clients are typed as redis.Redis: they take
the same per-key commands, and every key of a queue shares one hash tag, so each script
and multi-key command stays in one slot.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import redis
import redis.asyncio as aioredis
import redis.asyncio.sentinel
import redis.sentinel
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.retry import Retry

from jobq import protocol
from jobq.broker.cluster import CLUSTER_OUTAGE, AsyncCluster, Cluster, as_redis_error
from jobq.broker.errors import describe_error
from jobq.config import malformed_url
from jobq.errors import ConfigError
from jobq.redis_urls import Topology, parse_topology

try:
    from hiredis import pack_command as hiredis_pack
except ImportError:  # optional (jobq[hiredis]): redis-py's own packer then
    hiredis_pack = None  # type: ignore[assignment]

SOCKET_TIMEOUT_S = 5.0  # longer than any blocking call jobq makes (XREADGROUP, BLPOP)
T = TypeVar("T")


def connect_checked(make: Callable[[str], T], url: str) -> T:
    """`make(url)`, with a URL its parser refuses turned into a ConfigError that echoes no password."""
    try:
        return make(url)
    except (ValueError, ConfigError) as exc:
        raise malformed_url(url, exc) from None


def check_url(url: str) -> str:
    """`url` if a client can be made of it, checked without connecting; else a ConfigError
    that quotes no password, so a typo fails where the App is made, not at its first use."""
    if connect_checked(parse_topology, url).kind == "server":
        connect_checked(redis.connection.parse_url, url)
    return url


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


def connect(url: str) -> redis.Redis:
    """The synchronous client for `url`; BrokerError if a Cluster cannot be mapped."""
    topo = parse_topology(url)
    options = _client_options(url)
    if topo.kind == "sentinel":
        client: redis.Redis = _sentinel_master(redis.sentinel.Sentinel, topo, options, Retry(NoBackoff(), 0))
        return client
    if topo.kind == "cluster":
        del options["retry_on_timeout"]  # deprecated there: the Cluster client retries timeouts
        nodes = [redis.cluster.ClusterNode(h, p) for h, p in topo.nodes]  # type: ignore[no-untyped-call]
        try:
            cluster = Cluster(startup_nodes=nodes, **_auth(topo), **options)
        except CLUSTER_OUTAGE as exc:
            raise describe_error(url, as_redis_error(exc)) from None
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
        server = aioredis.Redis.from_url(url, **options)
        fast = _PACKED.get(server.connection_pool.connection_class)
        if fast is not None:
            server.connection_pool.connection_class = fast
        return server
    options["retry"] = AsyncRetry(ExponentialBackoff(cap=1.0, base=0.05), retries=1, supported_errors=refused)
    if topo.kind == "sentinel":
        sentinel = redis.asyncio.sentinel.Sentinel
        client: aioredis.Redis = _sentinel_master(sentinel, topo, options, AsyncRetry(NoBackoff(), 0))
        return client
    del options["retry_on_timeout"]  # not accepted there: `retry` covers timeouts
    nodes = [aioredis.cluster.ClusterNode(host, port) for host, port in topo.nodes]
    return AsyncCluster(startup_nodes=nodes, **_auth(topo), **options)  # type: ignore[return-value]


class _HiredisPacking:
    """redis-py's asyncio connections pack every command in Python, ~20x slower than the
    hiredis packer its sync client uses: a settle of 32 jobs (40-odd keys) cost the worker
    ~100 us to pack. The same bytes, made by hiredis; anything it refuses (a command name
    with a space, a value redis-py's encoder converts) goes to redis-py's packer."""

    def pack_command(self, *args: Any) -> list[bytes]:
        first = args[0]
        if not (isinstance(first, str) and " " not in first):
            return super().pack_command(*args)  # type: ignore[misc, no-any-return]
        try:
            return [hiredis_pack(args)]
        except (TypeError, UnicodeError):
            return super().pack_command(*args)  # type: ignore[misc, no-any-return]


_PACKED: dict[type, type] = (
    {
        cls: type(cls.__name__, (_HiredisPacking, cls), {})
        for cls in (aioredis.Connection, aioredis.SSLConnection, aioredis.UnixDomainSocketConnection)
    }
    if hiredis_pack is not None
    else {}
)


def _sentinel_master(sentinel: Any, topo: Topology, options: dict[str, Any], retry: Any) -> Any:
    """The client of the master a Sentinel group watches, through redis-py's sync or asyncio
    `Sentinel` class (the same calls on both); `retry` is for the sentinel connections."""
    group = sentinel(list(topo.nodes), sentinel_kwargs=_sentinel_auth(topo, retry))
    return group.master_for(topo.service, db=topo.db, **_auth(topo), **options)


def _auth(topo: Topology) -> dict[str, Any]:
    return {"username": topo.username, "password": topo.password, "ssl": topo.ssl}


def _sentinel_auth(topo: Topology, retry: Retry | AsyncRetry) -> dict[str, Any]:
    """Options of the connections to the sentinels. No retry of its own: the master client
    already retries each command (asking the sentinels anew), and redis-py's default backoff
    of 1, 2, 4 s per sentinel made an unreachable Sentinel group take over ten seconds."""
    return {
        "retry": retry,
        "username": topo.sentinel_username,
        "password": topo.sentinel_password,
        "ssl": topo.ssl,
        "socket_connect_timeout": 5.0,
        "socket_timeout": 5.0,
    }


def register_scripts(client: Any) -> dict[str, Any]:
    """Every Lua script of jobq.protocol, registered on `client` (sync or asyncio) by name."""
    return {n: client.register_script(protocol.load_script(n)) for n in protocol.SCRIPT_NAMES}
