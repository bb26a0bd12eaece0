"""Middleware and headers: carry the web request's id into the logs of every job it caused.

    jobq worker request_ids --log-format json   # terminal 1: each line a JSON object
    python request_ids.py                       # terminal 2: three "requests" enqueue jobs

The middleware copies the current request id into the job's headers when it is enqueued
(also when a job enqueues another), and makes it current again while the job runs.
`App(log_headers=["request_id"])` binds that header into structlog's context of every
run, so each line a task logs carries `request_id` without passing it around.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import structlog

import jobq

app = jobq.App(log_headers=["request_id"])
log = structlog.get_logger("shop")

# Set by your web framework's middleware for each request (here: by `request()` below).
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


class RequestIdPropagation(jobq.Middleware):
    def before_enqueue(self, job: jobq.EnqueueInfo) -> None:
        current = request_id.get()
        if current is not None:
            job.headers.setdefault("request_id", current)

    def before_run(self, job: jobq.JobInfo) -> None:
        # Runs in the job's own context: jobs enqueued by this one inherit the id.
        request_id.set(job.headers.get("request_id"))


app.add_middleware(RequestIdPropagation())


@app.task(name="request_ids.place_order")
def place_order(order: str) -> dict[str, str | None]:
    log.info("order.placed", order=order)  # the worker's line carries request_id
    receipt = send_receipt.delay(order)  # enqueued with the same request_id
    return {"order": request_id.get(), "receipt": receipt.result(timeout=30)}


@app.task(name="request_ids.send_receipt")
async def send_receipt(order: str) -> str | None:
    log.info("receipt.sent", order=order)
    return jobq.current_job().headers.get("request_id")


@contextmanager
def request() -> Iterator[str]:
    """What a web framework does around each request: give it an id."""
    rid = f"req-{uuid.uuid4().hex[:8]}"
    token = request_id.set(rid)
    try:
        yield rid
    finally:
        request_id.reset(token)


def main() -> None:
    for order in ("A-1", "A-2", "A-3"):
        with request() as rid:
            job = place_order.delay(order)
        seen = job.result(timeout=30)
        same = seen["order"] == rid and seen["receipt"] == rid
        print(f"{order}: request {rid}; place_order saw {seen['order']}, send_receipt saw {seen['receipt']}")
        print(f"{order}: one id end to end: {same}")


if __name__ == "__main__":
    main()
