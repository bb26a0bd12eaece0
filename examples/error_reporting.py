"""Error reporting: send dead letters (and, if you like, every failed attempt) to an error
tracker such as Sentry, from one middleware.

    jobq worker error_reporting      # terminal 1
    python error_reporting.py        # terminal 2: a job that fails twice, then dead-letters

With `sentry_sdk` installed and SENTRY_DSN set, the worker reports to Sentry; otherwise
to a JSON-lines file, so the example runs anywhere. jobq does not depend on either.
"""

from __future__ import annotations

import importlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

import jobq

app = jobq.App()
REPORTS = os.environ.get("ERROR_REPORTS_FILE") or os.path.join(
    tempfile.gettempdir(), "jobq-error-reports.jsonl"
)

Report = Callable[[BaseException | None, dict[str, Any]], None]


class ErrorReporter(jobq.Middleware):
    """Reports every dead letter; with `attempts=True` every failed attempt as well."""

    def __init__(self, report: Report, *, attempts: bool = False) -> None:
        self.report = report
        self.attempts = attempts

    def on_error(self, job: jobq.JobInfo, error: BaseException) -> None:
        if self.attempts:
            self.report(error, context(job, "attempt failed"))

    def on_dead_letter(self, job: jobq.JobInfo, reason: str, error: BaseException | None) -> None:
        self.report(error, context(job, reason))


def context(job: jobq.JobInfo, what: str) -> dict[str, Any]:
    return {"job_id": job.id, "task": job.task, "queue": job.queue, "attempt": job.attempt, "what": what}


def sentry_report(error: BaseException | None, ctx: dict[str, Any]) -> None:
    sentry_sdk = importlib.import_module("sentry_sdk")  # only where Sentry is used
    with sentry_sdk.new_scope() as scope:
        scope.set_context("jobq", ctx)
        scope.set_tag("jobq.task", ctx["task"])
        if error is not None:
            sentry_sdk.capture_exception(error)
        else:
            sentry_sdk.capture_message(f"jobq: {ctx['task']} dead-lettered: {ctx['what']}")


def file_report(error: BaseException | None, ctx: dict[str, Any]) -> None:
    with open(REPORTS, "a") as f:
        f.write(json.dumps({**ctx, "error": repr(error)}) + "\n")


def choose_reporter() -> Report:
    if os.environ.get("SENTRY_DSN"):
        importlib.import_module("sentry_sdk").init(dsn=os.environ["SENTRY_DSN"])
        return sentry_report
    return file_report


app.add_middleware(ErrorReporter(choose_reporter(), attempts=True))


@app.task(name="error_reporting.sync_ledger", retries=1, backoff=0.1)
def sync_ledger(account: str) -> None:
    raise ValueError(f"ledger for {account} is out of balance")


def main() -> None:
    if os.path.exists(REPORTS):
        os.remove(REPORTS)
    job = sync_ledger.delay("acct-42")
    try:
        job.result(timeout=30)
    except jobq.JobFailed as exc:
        print("job failed:", exc.error)
    deadline = time.monotonic() + 10
    while len(reports()) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)  # the worker reports before it settles: normally there already
    for report in reports():
        print(f"reported: {report['task']} attempt {report['attempt']} ({report['what']}): {report['error']}")


def reports() -> list[dict[str, Any]]:
    if not os.path.exists(REPORTS):
        return []
    with open(REPORTS) as f:
        return [json.loads(line) for line in f]


if __name__ == "__main__":
    main()
