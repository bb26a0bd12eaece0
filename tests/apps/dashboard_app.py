"""Tasks for the dashboard tests: slow work to watch drain, failures to dead-letter."""

from __future__ import annotations

import os
import time

import jobq

app = jobq.App(namespace=os.environ.get("JOBQ_NAMESPACE", "jobq"), visibility_timeout=10.0)


@app.task(name="report.build", queue="reports")
def build_report(seconds: float) -> str:
    time.sleep(seconds)
    return "ok"


@app.task(name="mail.send", queue="mail", retries=0)
def send_mail(to: str, fail: bool = False) -> str:
    if fail:
        raise ValueError(f"mailbox {to} does not exist")
    time.sleep(0.05)
    return to


@app.task(name="thumbs.make", queue="thumbs")
def make_thumb(n: int) -> int:
    if n % 7 == 0:
        raise jobq.Reject(f"image {n} is corrupt")
    time.sleep(0.2)
    return n
