"""What the boundary's reads of one job and of cron entries return: typed rows, parsed
from Redis replies here so that explain, `jobq job show` and cron read fields, never raw
replies. Frozen; no I/O. (A stats snapshot's rows: jobq.broker.rows.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class DeadRow:
    """One dead-letter stream entry: its id and fields (j envelope, d details JSON)."""

    entry_id: str
    fields: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class PendingRow:
    """A delivered, unacked entry (XPENDING): who holds it, for how long, how often delivered."""

    consumer: str
    idle_ms: int
    deliveries: int


@dataclass(frozen=True, slots=True)
class JobRow:
    """Everything Redis holds about one job at `time` (Redis time, Unix s).

    `record` is the job's record in the queue's jobs hash (None: finished or unknown);
    `entry`, `pending`, `ahead` and `worker` are read only for a job in the stream.
    """

    time: float
    record: str | None = None
    outcome: str | None = None
    result_ttl: int = -2
    delayed: str | None = None
    dead: DeadRow | None = None
    entry: Mapping[str, str] | None = None
    pending: PendingRow | None = None
    ahead: int | None = None  # undelivered entries in front of it, up to the limit + 1
    worker: Mapping[str, str] = field(default_factory=dict)  # the holder's heartbeat hash
    progress: str | None = None  # the job's last progress report (JSON, see jobq.progress)


@dataclass(frozen=True, slots=True)
class CronRow:
    """The stored state of one cron entry (see keys.py): the latest run and the latest skip."""

    fired_ms: int = 0  # when the latest run was enqueued (0: never)
    job_id: str | None = None  # that run's job
    skipped_at_ms: int = 0  # a tick left out since that run (0: none)
    skip_why: str = ""

    @staticmethod
    def of(fields: Mapping[str, str]) -> CronRow:
        return CronRow(
            int(fields.get("fired") or 0),
            fields.get("job") or None,
            int(fields.get("skipped_at") or 0),
            fields.get("skip_why") or "",
        )
