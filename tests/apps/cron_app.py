"""Cron entries for the scheduler process tests: `beat` ticks every two seconds into queue
`cron`, which the tests' workers do not consume, so every enqueued tick stays countable."""

from __future__ import annotations

import os

import jobq

app = jobq.App(namespace=os.environ.get("JOBQ_NAMESPACE", "jobq"))


@app.cron("* * * * * */2", name="beat", queue="cron")
def beat() -> str:
    return "tick"


@app.cron("30 2 * * *", name="nightly", tz="Europe/Berlin", overlap="skip")
def nightly() -> None:
    """Never due during a test: `jobq cron list` shows its next fire in Berlin time."""


@app.task(name="noop")
def noop() -> None:
    """Gives the default queue a task, for `jobq worker ... -q default --beat`."""
