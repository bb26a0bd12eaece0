"""The cron entry type and the checks of `@app.cron(...)`: a leaf, so `App` can hold entries
without importing the scheduler side (`jobq.cron`, `jobq.scheduler`), which imports `App`."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from jobq import schedule
from jobq.errors import ConfigError

OVERLAP_POLICIES = ("allow", "skip")
TASK_OPTIONS = (
    "retries",
    "retry_on",
    "backoff",
    "backoff_max",
    "timeout",
    "result_ttl",
    "expires",
    "priority",
)


@dataclass(frozen=True, slots=True)
class CronEntry:
    """One schedule: which task, on which expression, in which timezone and queue.

    `name` is both the entry's and its task's name; it names the Redis state of the entry,
    so renaming an entry starts it afresh. `overlap="skip"` leaves a tick out while the
    entry's previous run is unfinished; `catch_up=True` runs the latest tick missed while
    no scheduler ran, once.
    """

    name: str
    expression: str
    tz: str
    queue: str
    zone: tzinfo
    overlap: str = "allow"
    catch_up: bool = False

    @property
    def task_name(self) -> str:
        return self.name

    def latest_tick(self, now: datetime) -> datetime:
        return schedule.latest_tick(self.expression, self.zone, now)

    def next_tick(self, after: datetime) -> datetime:
        return schedule.next_tick(self.expression, self.zone, after)


def new_entry(
    func: Callable[[], Any],
    expression: str,
    *,
    queue: str,
    tz: str,
    name: str | None,
    options: dict[str, Any],
    taken: Iterable[str],
) -> tuple[CronEntry, dict[str, Any]]:
    """Check one `@app.cron(...)` and make its entry; returns it and the task's own options.

    Every mistake is a ConfigError here, before anything is registered. `taken` is the
    names of the entries the app already has.
    """
    options = dict(options)
    overlap = str(options.pop("overlap", "allow"))
    catch_up = bool(options.pop("catch_up", False))
    unknown = sorted(set(options) - set(TASK_OPTIONS))
    if unknown:
        raise ConfigError(f"unknown cron option(s) {', '.join(unknown)}")
    if overlap not in OVERLAP_POLICIES:
        raise ConfigError(f"overlap must be one of {', '.join(OVERLAP_POLICIES)}, not {overlap!r}")
    _check_no_arguments(func)
    entry_name = name or f"{func.__module__}.{func.__qualname__}"
    if not entry_name or any(c.isspace() or c in "{}" for c in entry_name):
        raise ConfigError(f"invalid cron entry name {entry_name!r}: no spaces or braces")
    if entry_name in set(taken):
        raise ConfigError(f"two cron entries are named {entry_name!r}; give one a name=")
    text = schedule.normalize_expression(expression)
    zone = schedule.zone(tz)
    schedule.next_tick(text, zone, datetime.now(zone))  # ConfigError if it never fires
    return CronEntry(entry_name, text, tz, queue, zone, overlap, catch_up), options


def _check_no_arguments(func: Callable[[], Any]) -> None:
    try:
        inspect.signature(func).bind()
    except TypeError:
        raise ConfigError(f"a cron task takes no arguments: {func.__qualname__} needs some") from None
    except ValueError:
        return  # no signature to inspect (a builtin): trust the caller
