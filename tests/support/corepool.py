"""Producers and pools for the process tests built on tests/apps/core_app.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jobq
from jobq.keys import GROUP
from tests.support.processes import JobqProcess

Start = Callable[..., JobqProcess]
CORE_TASKS = ("work", "awork", "hang", "crash", "segv", "leak", "fail_once")


def producer(redis_url: str, namespace: str, vt: float) -> tuple[jobq.App, dict[str, jobq.Task[Any, Any]]]:
    """An App that enqueues core_app's tasks by name, without importing them."""
    app = jobq.App(redis_url, namespace=namespace, visibility_timeout=vt)
    tasks = {name: app.task(name=name)(lambda *a: None) for name in CORE_TASKS}
    return app, tasks


def start_pool(
    jobq_cli: Start, redis_url: str, namespace: str, runs: Path, vt: float, *args: str, **env: str
) -> JobqProcess:
    """`jobq worker core_app ...` with its run log and visibility timeout."""
    return jobq_cli(
        ["worker", "core_app", *args],
        redis_url,
        JOBQ_NAMESPACE=namespace,
        JOBQ_RUN_LOG=str(runs),
        JOBQ_VT=str(vt),
        **env,
    )


def held_job_ids(app: jobq.App, queue: str = "default") -> set[str]:
    """Job ids of the entries delivered to some consumer and not yet acknowledged."""
    client, stream = app.broker.client, app.broker.queue_keys(queue).stream
    ids = [p["message_id"] for p in client.xpending_range(stream, GROUP, "-", "+", 100_000)]
    found = (client.xrange(stream, i, i) for i in ids)
    return {json.loads(entry[0][1]["j"])["id"] for entry in found if entry}
