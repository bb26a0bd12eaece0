"""Completion records: how the runner learns that a job ran, without touching Redis.

Each benchmark job ends by appending one fixed-size record (seq, t_enqueue, t_start,
t_end) to a file of its own process in a tmpfs directory. The runner counts records by
file size while it waits and parses them once at the end, so lost and duplicate jobs are
counted exactly and the jobs add no Redis traffic of their own.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from pathlib import Path

DIR_ENV = "JOBQ_BENCH_DIR"
RECORD = struct.Struct("<qddd")  # seq, t_enqueue, t_start, t_end (Unix seconds)

Record = tuple[int, float, float, float]


class _Sink:
    """The append-only record file of this process (reopened after a fork)."""

    def __init__(self) -> None:
        self.fd = -1
        self.pid = 0
        self.lock = threading.Lock()

    def fd_for_this_process(self) -> int:
        pid = os.getpid()
        if self.pid != pid:
            with self.lock:
                if self.pid != pid:
                    path = Path(os.environ[DIR_ENV]) / f"rec.{pid}"
                    self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                    self.pid = pid
        return self.fd


_sink = _Sink()


def record(seq: int, t_enqueue: float, t_start: float) -> None:
    """Append this job's record; one write() of 32 bytes, atomic with O_APPEND."""
    os.write(_sink.fd_for_this_process(), RECORD.pack(seq, t_enqueue, t_start, time.time()))


def count(directory: Path) -> int:
    """Records written so far (stat only, cheap enough to poll every few ms)."""
    total = 0
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return 0
    for entry in entries:
        if entry.name.startswith("rec."):
            try:
                total += entry.stat().st_size
            except FileNotFoundError:
                continue
    return total // RECORD.size


def read(directory: Path) -> list[Record]:
    out: list[Record] = []
    for path in sorted(directory.glob("rec.*")):
        data = path.read_bytes()
        whole = len(data) - len(data) % RECORD.size
        out.extend(RECORD.iter_unpack(data[:whole]))
    return out
