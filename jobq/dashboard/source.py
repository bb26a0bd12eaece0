"""Where the dashboard's numbers come from: one App's broker, bounded reads only.

Every call here may fail (Redis restarting, network gone); failures come back as one
line of text for the screen, never as an exception that could end the dashboard.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from jobq import dlq, jobfacts
from jobq.app import App
from jobq.config import redact_url
from jobq.dashboard.board import Poll
from jobq.dashboard.cron_view import CronRow, cron_rows
from jobq.dlq import DeadJob
from jobq.errors import JobqError
from jobq.explain import explain
from jobq.stats import Snapshot, snapshot

T = TypeVar("T")
DEAD_PAGE = 200


@dataclass(frozen=True)
class Result:
    """What one call to Redis gave: a value, or the one-line reason it failed."""

    value: Any = None
    error: str | None = None


def attempt(call: Callable[[], T]) -> Result:
    """Run `call`; any failure becomes a one-line error (the screen must outlive Redis)."""
    try:
        return Result(call())
    except JobqError as exc:
        return Result(error=(str(exc).splitlines() or [type(exc).__name__])[0])
    except Exception as exc:  # anything else is a bug, but the screen still stays up
        return Result(error=f"{type(exc).__name__}: {exc}")


class Source:
    """The dashboard's view of one namespace (and of one APP's queues and cron, if named)."""

    def __init__(self, app: App, *, from_app: bool) -> None:
        self.app = app
        self.cron_entries = list(getattr(app, "cron_entries", None) or []) if from_app else []
        self.show_cron = bool(self.cron_entries)
        self.app_queues = app.queues() if from_app else []

    @property
    def where(self) -> str:
        return f"ns {self.app.config.namespace}  {redact_url(self.app.config.redis_url)}"

    def snapshot(self) -> Snapshot:
        broker = self.app.broker
        names = None
        if self.app_queues:
            names = sorted(set(broker.known_queues()) | set(self.app_queues))
        return snapshot(broker, names)

    def poll(self) -> Poll:
        return Poll(self.snapshot(), self.cron())

    def cron(self) -> list[CronRow] | None:
        if not self.show_cron:
            return None
        return cron_rows(self.cron_entries, time.time())

    def dead_letters(self, queue: str) -> list[DeadJob]:
        return dlq.list_dead(self.app.broker, queue, DEAD_PAGE)

    def requeue(self, queue: str, job: DeadJob) -> str | None:
        """Replay one dead job; None when done, else why it was left alone."""
        replay = dlq.requeue(self.app.broker, queue, [job.id])
        if replay.requeued:
            return None
        return replay.skipped[0][1] if replay.skipped else "not requeued"

    def purge(self, queue: str) -> int:
        return self.app.broker.purge_dead(queue)

    def job_lines(self, job_id: str) -> list[str]:
        """What `jobq explain` says of one job (JobNotFound if no queue knows it)."""
        facts = jobfacts.gather(self.app, job_id)
        task = self.app.tasks.get(facts.task)
        return explain(facts, task.options.retries + 1 if task else None)
