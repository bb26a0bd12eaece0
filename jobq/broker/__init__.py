"""The Redis boundary: the only package that imports redis.

One module per role: `connection` (clients for a URL: one server, Cluster, Sentinel),
`errors` (Redis failures in jobq's words), `producer` (enqueue, job handles), `cron`
(the scheduler's calls), `reads` (stats snapshots), `facts` (one job, dead letters),
`admin` (requeue, purge, delete a namespace) and `worker` (the worker's asyncio
connection). `Broker` is every synchronous role over one connection, as `App.broker`.
"""

from __future__ import annotations

import redis

from jobq.broker.admin import Admin
from jobq.broker.connection import SOCKET_TIMEOUT_S, check_url, connect, connect_async, connect_checked
from jobq.broker.cron import CronCalls
from jobq.broker.errors import describe_error, is_nogroup
from jobq.broker.facts import JobFacts
from jobq.broker.producer import ENQUEUE_CHUNK, Producer
from jobq.broker.reads import Reads
from jobq.broker.worker import CLUSTER_BLOCK_SLICE_MS, AsyncBroker


class Broker(Producer, CronCalls, Reads, JobFacts, Admin):
    """Synchronous Redis access for one App (producers, Job handles, CLI)."""


RedisError = redis.RedisError
RedisConnectionError = redis.ConnectionError
RedisResponseError = redis.ResponseError
RedisOutOfMemoryError = redis.exceptions.OutOfMemoryError

__all__ = [
    "CLUSTER_BLOCK_SLICE_MS",
    "ENQUEUE_CHUNK",
    "SOCKET_TIMEOUT_S",
    "Admin",
    "AsyncBroker",
    "Broker",
    "CronCalls",
    "JobFacts",
    "Producer",
    "Reads",
    "RedisConnectionError",
    "RedisError",
    "RedisOutOfMemoryError",
    "RedisResponseError",
    "check_url",
    "connect",
    "connect_async",
    "connect_checked",
    "describe_error",
    "is_nogroup",
]
