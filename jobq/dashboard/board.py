"""The dashboard's memory between redraws: last snapshot, rate history, connection state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jobq.dashboard.cron_view import CronRow
from jobq.dashboard.model import Connection, History, queue_rows
from jobq.dashboard.views import Frame
from jobq.stats import QueueStats, Snapshot


@dataclass(frozen=True)
class Poll:
    """One poll's data: a snapshot and, when an APP was given, its cron rows."""

    snapshot: Snapshot
    cron: Sequence[CronRow] | None


class Board:
    """Folds polls into what to show; the last good numbers stay up while Redis is away."""

    def __init__(self, where: str, refresh_s: float) -> None:
        self.where = where
        self.patience = max(3.0, 3 * refresh_s)  # silence longer than this reads as disconnected
        self.history = History()
        self.connection = Connection()
        self.latest: Poll | None = None

    def record(self, poll: Poll | None, error: str | None, at: float) -> None:
        """Take one poll's outcome at monotonic time `at`."""
        if poll is None:
            self.connection.failed(at, error or "unknown error")
            return
        self.connection.succeeded(at)
        self.history.add(poll.snapshot)
        self.latest = poll

    def queue(self, name: str) -> QueueStats | None:
        if self.latest is None:
            return None
        return next((q for q in self.latest.snapshot.queues if q.name == name), None)

    def frame(self, at: float) -> Frame:
        state, detail = self.connection.state(at, self.patience)
        if self.latest is None:
            return Frame(state, detail, self.where, None, [], [])
        snap = self.latest.snapshot
        return Frame(
            state,
            detail,
            self.where,
            snap.taken_at,
            queue_rows(snap, self.history),
            snap.workers,
            self.latest.cron,
            start_failures=snap.start_failures,
        )
