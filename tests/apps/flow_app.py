"""Tasks under fleet-wide limits, for tests/test_flow_limits.py. Every run appends start
and end records to $JOBQ_RUN_LOG (the format tests/support/runlog.py reads)."""

from __future__ import annotations

import os
import time

import jobq
from tests.apps.core_app import record

app = jobq.App(
    namespace=os.environ.get("JOBQ_NAMESPACE", "jobq"),
    visibility_timeout=float(os.environ.get("JOBQ_VT", "3")),
)


@app.task(name="rated", rate_limit="20/s")
def rated() -> None:
    record("S", jobq.current_job().id)


@app.task(name="capped", concurrency=3)
def capped(seconds: float) -> None:
    job_id = jobq.current_job().id
    record("S", job_id)
    time.sleep(seconds)
    record("E", job_id)


@app.task(name="per_tenant", concurrency=1, concurrency_key=lambda tenant, seconds: tenant, retries=0)
def per_tenant(tenant: str, seconds: float) -> None:
    """retries=0: a run whose worker is killed is dead-lettered, never run (nor held) again."""
    job_id = jobq.current_job().id
    record("S", job_id)
    time.sleep(seconds)
    record("E", job_id)
