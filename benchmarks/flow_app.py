"""The app `python -m benchmarks.flow_limits` runs: one task under a fleet-wide rate limit.
Each run appends its start time (Unix s) to $FLOW_STARTS, one line, one write."""

from __future__ import annotations

import os
import time

import jobq

app = jobq.App(namespace=os.environ.get("JOBQ_NAMESPACE", "flowbench"))
RATE = os.environ.get("FLOW_RATE", "20/s")


@app.task(name="flow.rated", rate_limit=RATE)
def rated() -> None:
    with open(os.environ["FLOW_STARTS"], "a") as out:
        out.write(f"{time.time():.6f}\n")
