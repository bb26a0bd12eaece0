"""The Redis boundary: the only package that imports redis.

One module per role: `connection` (clients for a URL: one server, Cluster, Sentinel),
`errors` (Redis failures in jobq's words), `producer` (enqueue, job handles), `cron`
(the scheduler's calls), `reads` (stats snapshots), `facts` (one job, dead letters),
`rows` (the typed rows those reads return), `admin` (requeue, purge, delete a namespace), `flow`
(pause, resume)
and `worker` (the worker's asyncio connection). `Broker` is every synchronous role over
one connection, as `App.broker`; a caller that needs one role can be typed against it.
`snapshot`, `resp` and `lite` read a stats snapshot without redis-py (`jobq stats`).

The names below load on first use (PEP 562): importing `jobq.broker.lite` must not pay
for redis-py, whose import alone is most of the `jobq stats` budget.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobq.lazy import lazy_names

if TYPE_CHECKING:
    from jobq.broker.admin import Admin
    from jobq.broker.connection import SOCKET_TIMEOUT_S, check_url, connect, connect_async, connect_checked
    from jobq.broker.cron import CronCalls
    from jobq.broker.errors import describe_error
    from jobq.broker.facts import JobReads
    from jobq.broker.flow import FlowCalls
    from jobq.broker.producer import ENQUEUE_CHUNK, Producer
    from jobq.broker.reads import Reads
    from jobq.broker.whole import Broker
    from jobq.broker.worker import CLUSTER_BLOCK_SLICE_MS, AsyncBroker

# public name -> the module that defines it
_LAZY = {
    "Admin": "jobq.broker.admin",
    "AsyncBroker": "jobq.broker.worker",
    "Broker": "jobq.broker.whole",
    "CLUSTER_BLOCK_SLICE_MS": "jobq.broker.worker",
    "CronCalls": "jobq.broker.cron",
    "ENQUEUE_CHUNK": "jobq.broker.producer",
    "FlowCalls": "jobq.broker.flow",
    "JobReads": "jobq.broker.facts",
    "Producer": "jobq.broker.producer",
    "Reads": "jobq.broker.reads",
    "SOCKET_TIMEOUT_S": "jobq.broker.connection",
    "check_url": "jobq.broker.connection",
    "connect": "jobq.broker.connection",
    "connect_async": "jobq.broker.connection",
    "connect_checked": "jobq.broker.connection",
    "describe_error": "jobq.broker.errors",
}


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())

__all__ = [
    "CLUSTER_BLOCK_SLICE_MS",
    "ENQUEUE_CHUNK",
    "SOCKET_TIMEOUT_S",
    "Admin",
    "AsyncBroker",
    "Broker",
    "CronCalls",
    "FlowCalls",
    "JobReads",
    "Producer",
    "Reads",
    "check_url",
    "connect",
    "connect_async",
    "connect_checked",
    "describe_error",
]
