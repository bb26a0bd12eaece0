"""Tasks for the workflow process tests. Runs are recorded in $JOBQ_RUN_LOG (see core_app):
S/E for members, C for a chord callback."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import jobq

try:
    from core_app import record
except ImportError:  # imported by a test, as tests.apps.workflow_app
    from tests.apps.core_app import record


def member(i: int, seconds: float = 0.0) -> int:
    job_id = jobq.current_job().id
    record("S", job_id)
    time.sleep(seconds)
    record("E", job_id)
    return i


def together(i: int, flag_dir: str, n: int) -> int:
    """Finish only once `n` members have started, so the last ones end at the same instant."""
    record("S", jobq.current_job().id)
    Path(flag_dir, f"{i}-{os.getpid()}").touch()
    deadline = time.monotonic() + 30
    while len(os.listdir(flag_dir)) < n and time.monotonic() < deadline:
        time.sleep(0.005)
    record("E", jobq.current_job().id)
    return i


def refuse(i: int) -> int:
    """A member that fails for good (dead-lettered at once) when `i` is odd."""
    job_id = jobq.current_job().id
    record("S", job_id)
    record("E", job_id)
    if i % 2:
        raise jobq.Reject(f"member {i} refused")
    return i


def collect(results: list[Any]) -> int:
    """The sum of the members' results; a failed member's place (a dict) counts 1000."""
    record("C", jobq.current_job().id)
    return sum(r if isinstance(r, int) else 1000 for r in results)


def register(app: jobq.App) -> dict[str, Any]:
    """The tasks on `app`: the worker's own, or a test's App for the same namespace."""
    return {
        "member": app.task(name="member", queue="members", retries=5)(member),
        "together": app.task(name="together", queue="members", retries=5)(together),
        "refuse": app.task(name="refuse", queue="members", retries=5)(refuse),
        "collect": app.task(name="collect", queue="callbacks")(collect),
    }


app = jobq.App(
    namespace=os.environ.get("JOBQ_NAMESPACE", "jobq"),
    visibility_timeout=float(os.environ.get("JOBQ_VT", "3")),
)
register(app)
