"""`Broker`: every synchronous role of the Redis boundary over one connection."""

from __future__ import annotations

from jobq.broker.admin import Admin
from jobq.broker.cron import CronCalls
from jobq.broker.facts import JobReads
from jobq.broker.flow import FlowCalls
from jobq.broker.producer import Producer
from jobq.broker.reads import Reads
from jobq.broker.workflows import WorkflowCalls


class Broker(WorkflowCalls, Producer, CronCalls, Reads, JobReads, Admin, FlowCalls):
    """Synchronous Redis access for one App (producers, Job handles, CLI)."""
