"""Cron entries of an App as dashboard rows, with their next fire time (pure).

Entries are read by attribute (name or task.name, expression, tz, and `next_tick(after)`
when the entry has it, so the scheduler's own DST rules apply); an entry that cannot be
read is shown with its name and no time rather than breaking the screen.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter


@dataclass(frozen=True, slots=True)
class CronRow:
    name: str
    schedule: str
    next_at: float | None  # Unix seconds of the next tick, None if it cannot be computed


def _first(entry: Any, *names: str) -> Any:
    for name in names:
        value = getattr(entry, name, None)
        if value is not None:
            return value
    return None


def next_fire(expression: str, tz: str, now: float) -> float | None:
    """Unix time of the first tick of `expression` (in zone `tz`) after `now`."""
    try:
        zone = ZoneInfo(tz) if tz else timezone.utc
        start = datetime.fromtimestamp(now, zone)
        return float(croniter(expression, start).get_next(datetime).timestamp())
    except Exception:  # a bad expression or zone is the scheduler's to report, not ours
        return None


def _entry_next(entry: Any, now: float) -> float | None:
    """The entry's own answer, when it has one (`next_tick(after: datetime) -> datetime`)."""
    try:
        when = entry.next_tick(datetime.fromtimestamp(now, timezone.utc))
        return float(when.timestamp())
    except Exception:  # an entry of another shape, or one that never fires
        return None


def cron_rows(entries: Iterable[Any], now: float) -> list[CronRow]:
    rows = []
    for entry in entries:
        task = _first(entry, "task")
        name = _first(entry, "name") or _first(task, "name") or repr(entry)
        expression = str(_first(entry, "expression", "schedule", "spec") or "")
        tz = str(_first(entry, "tz", "timezone") or "UTC")
        if callable(getattr(entry, "next_tick", None)):
            when = _entry_next(entry, now)
        else:
            when = next_fire(expression, tz, now) if expression else None
        rows.append(CronRow(str(name), f"{expression} {tz}".strip() if tz != "UTC" else expression, when))
    return sorted(rows, key=lambda r: (r.next_at is None, r.next_at or 0.0, r.name))
