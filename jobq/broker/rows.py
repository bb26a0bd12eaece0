"""What the boundary's snapshot reads return: typed rows, parsed from Redis replies here
so that stats reads fields, never raw replies (one job's and cron's rows:
jobq.broker.factrows). Frozen; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jobq.keys import GROUP


@dataclass(frozen=True, slots=True)
class GroupRow:
    """The consumer group of a queue's stream (XINFO GROUPS): entries delivered but not acked,
    and the id of the last entry handed to a consumer."""

    pending: int = 0
    last_delivered_id: str = "0-0"

    @staticmethod
    def find(groups: Any) -> GroupRow | None:
        """jobq's group among an XINFO GROUPS reply (None: absent, or the reply is an error)."""
        if isinstance(groups, Exception):
            return None
        found = next((g for g in groups if str(g.get("name")) == GROUP), None)
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
