"""App for tests/test_testing.py: `jobq worker testing_app --burst`."""

from __future__ import annotations

import asyncio
import os

import jobq

app = jobq.App(namespace=os.environ.get("JOBQ_NAMESPACE", "jobq"))


@app.task(name="testing.square")
def square(x: int) -> int:
    return x * x


@app.task(name="testing.later", queue="slow")
async def later(x: int) -> int:
    await asyncio.sleep(0.01)
    return -x
