"""Read the start/end records that test tasks append (see tests/apps/core_app.py)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Record:
    kind: str
    job_id: str
    pid: int
    at: float


def read(path: Path) -> list[Record]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 4:
            out.append(Record(parts[0], parts[1], int(parts[2]), float(parts[3])))
    return out


def ended(path: Path) -> Counter[str]:
    return Counter(r.job_id for r in read(path) if r.kind == "E")


def started(path: Path) -> Counter[str]:
    return Counter(r.job_id for r in read(path) if r.kind == "S")
