"""Tasks for the inspection-command tests (stats, dlq, job, explain, metrics).

`register(app)` puts the same tasks on any App, so in-process tests can use the
fixture's namespace while `jobq worker inspect_app` uses $JOBQ_NAMESPACE.
"""

from __future__ import annotations

import os
import time
from typing import Any

import jobq


def register(app: jobq.App) -> dict[str, Any]:
    @app.task(name="ok")
    def ok(x: int) -> int:
        return x

    @app.task(name="boom", retries=0)
    def boom(message: str = "kaboom") -> None:
        raise ValueError(message)

    @app.task(name="flaky", retries=2, backoff=3600, backoff_max=3600)
    def flaky() -> None:
        raise RuntimeError("not yet")

    @app.task(name="slow")
    def slow(seconds: float) -> None:
        time.sleep(seconds)

    @app.task(name="mail.send", queue="mail")
    def send(to: str) -> str:
        return to

    return {"ok": ok, "boom": boom, "flaky": flaky, "slow": slow, "send": send}


app = jobq.App(
    namespace=os.environ.get("JOBQ_NAMESPACE", "jobq"),
    visibility_timeout=float(os.environ.get("JOBQ_VT", "5")),
)
tasks = register(app)
