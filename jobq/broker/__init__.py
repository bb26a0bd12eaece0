"""The Redis boundary: the only package that imports redis.

One module per role: `connection` (clients for a URL: one server, Cluster, Sentinel),
`errors` (Redis failures in jobq's words), `producer` (enqueue, job handles), `cron`
(the scheduler's calls), `reads` (stats snapshots), `facts` (one job, dead letters),
`rows` (the typed rows those reads return), `admin` (requeue, purge, delete a namespace), `flow`
(pause, resume)
and `worker` (the worker's asyncio connection). `Broker` is every synchronous role over
one connection, as `App.broker`; a caller that needs one role can be typed against it.
"""

from __future__ import annotations

from jobq.broker.admin import Admin
from jobq.broker.connection import SOCKET_TIMEOUT_S, check_url, connect, connect_async, connect_checked
from jobq.broker.cron import CronCalls
from jobq.broker.errors import describe_error
from jobq.broker.facts import JobReads
from jobq.broker.flow import FlowCalls
from jobq.broker.producer import ENQUEUE_CHUNK, Producer
from jobq.broker.reads import Reads
from jobq.broker.worker import CLUSTER_BLOCK_SLICE_MS, AsyncBroker
from jobq.broker.workflows import WorkflowCalls


class Broker(WorkflowCalls, Producer, CronCalls, Reads, JobReads, Admin, FlowCalls):
    """Synchronous Redis access for one App (producers, Job handles, CLI)."""


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
