"""What the boundary's reads return: typed rows, parsed from Redis replies here so that
stats, explain and cron read fields, never raw replies. Frozen; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jobq import protocol


@dataclass(frozen=True, slots=True)
class GroupRow:
    """The consumer group of a queue's stream (XINFO GROUPS): entries delivered but not acked,
    and the id of the last entry handed to a consumer."""

    pending: int = 0
    last_delivered_id: str = "0-0"

    @staticmethod
    def find(groups: Any) -> GroupRow | None:
        """jobq's group among an XINFO GROUPS reply (None: absent, or the reply is an error)."""
        found = None if isinstance(groups, Exception) else protocol.our_group(groups)
        if found is None:
            return None
        return GroupRow(int(found.get("pending") or 0), str(found.get("last-delivered-id") or "0-0"))


@dataclass(frozen=True, slots=True)
class LevelRow:
    """The stream of one priority level other than the default, at snapshot time."""

    level: int
    length: int = 0
    group: GroupRow | None = None
    oldest_id: str | None = None  # its first entry not yet delivered


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One queue at snapshot time; `oldest_id` is the first entry not yet delivered (of its
    default-level stream; `levels`: the streams of its other priority levels)."""

    name: str
    length: int = 0
    group: GroupRow | None = None
    scheduled: int = 0
    dead: int = 0
    counters: Mapping[str, str] = field(default_factory=dict)
    oldest_id: str | None = None
    paused_since: float | None = None  # Unix s the queue was paused at (None: it runs)
    levels: tuple[LevelRow, ...] = ()


@dataclass(frozen=True, slots=True)
class WorkerRow:
    """One registered worker: its last heartbeat (ms, Redis clock) and its heartbeat hash."""

    id: str
    beat_ms: float
    fields: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class SnapshotRows:
    """One stats snapshot: Redis time (Unix s), queues, live workers."""

    time: float
    queues: tuple[QueueRow, ...]
    workers: tuple[WorkerRow, ...]


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
