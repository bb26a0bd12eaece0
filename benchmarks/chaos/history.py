"""What a chaos run observed, as plain data: the checker's only input.

Every time is seconds since boot on this host (CLOCK_BOOTTIME, which /proc/uptime shows
to 10 ms): the task bodies, the runner and the process monitor all read it. libfaketime
fakes every clock a skewed process asks for (time.monotonic too, unless told not to,
and then its time.sleep fails with EINVAL), but not the contents of /proc/uptime, so
the records of the clock-skewed worker line up with everyone else's.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

TERMINAL = ("succeeded", "dead", "cancelled")


def clock() -> float:
    """Seconds since boot: the one clock of a chaos run (see the module docstring)."""
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def uptime() -> float:
    """The same clock read from /proc/uptime, which libfaketime does not touch (10 ms)."""
    with open("/proc/uptime") as f:
        return float(f.read().split()[0])


@dataclass(frozen=True)
class Run:
    """One run of a task body, from its own start and end records."""

    job: str
    pid: int
    attempt: int
    start: float
    end: float | None = None
    outcome: str | None = None  # "ok" | "fail" | None (never ended: killed or stopped)


@dataclass(frozen=True)
class Window:
    """A stretch of time: a Redis outage, or a process's observed life."""

    start: float
    end: float


@dataclass
class History:
    vt: float  # the visibility timeout (lease) of the app under test
    t0: float = 0.0  # when the run started: reports give times relative to it
    fsync: str = ""  # the Redis server's appendfsync setting
    wall_offset: float = 0.0  # wall clock (Unix seconds) minus this run's clock
    enqueued: int = 0  # jobs offered to enqueue calls
    acked: dict[str, str] = field(default_factory=dict)  # job id -> task: the call returned
    raised: dict[str, str] = field(default_factory=dict)  # job id -> error: the call raised
    fates: dict[str, str | None] = field(default_factory=dict)  # job id -> state at the deadline
    dead_reasons: dict[str, str] = field(default_factory=dict)  # job id -> dead-letter reason
    runs: list[Run] = field(default_factory=list)
    lives: dict[int, Window] = field(default_factory=dict)  # pid -> first/last seen alive
    alive_at_end: list[int] = field(default_factory=list)
    outages: list[Window] = field(default_factory=list)  # Redis unreachable (stopped or dead)
    timeouts: dict[str, float] = field(default_factory=dict)  # task -> its timeout
    ticks: dict[str, float] = field(default_factory=dict)  # cron job id -> due time
    tick_fates: dict[str, str | None] = field(default_factory=dict)
    schedulers: list[Window] = field(default_factory=list)  # a scheduler process was alive
    faults: dict[str, int] = field(default_factory=dict)  # kind -> how many were injected
    last_heal: float = 0.0
    deadline: float = 0.0

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: Path) -> History:
        data: dict[str, Any] = json.loads(path.read_text())
        data["runs"] = [Run(**r) for r in data["runs"]]
        data["lives"] = {int(p): Window(**w) for p, w in data["lives"].items()}
        data["outages"] = [Window(**w) for w in data["outages"]]
        data["schedulers"] = [Window(**w) for w in data["schedulers"]]
        return cls(**data)


def parse_records(text: str) -> list[Run]:
    """Runs from the lines the task bodies appended (see benchmarks/chaos/app.py)."""
    starts: dict[tuple[str, int, int], list[float]] = {}
    ends: dict[tuple[str, int, int], list[tuple[float, str]]] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 5:
            continue  # a line cut short by kill -9 mid-write
        key = (parts[1], int(parts[2]), int(parts[3]))
        if parts[0] == "S":
            starts.setdefault(key, []).append(float(parts[4]))
        elif parts[0] == "E" and len(parts) == 6:
            ends.setdefault(key, []).append((float(parts[4]), parts[5]))
    runs = []
    for key, times in starts.items():
        done = sorted(ends.get(key, []))
        for i, start in enumerate(sorted(times)):
            end, outcome = done[i] if i < len(done) else (None, None)
            runs.append(Run(key[0], key[1], key[2], start, end, outcome))
    return sorted(runs, key=lambda r: r.start)
