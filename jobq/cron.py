"""Cron entries: periodic jobs enqueued exactly once per tick, however many schedulers run.

`@app.cron(expression)` registers an ordinary task plus a `CronEntry` (see
`jobq.cron_entry`). Schedulers (`jobq scheduler APP`, or `jobq worker APP --beat`) turn
ticks into jobs with one Lua step per tick (see `jobq.scheduler`); this module holds the
by-hand trigger and the per-entry state that `jobq cron list` shows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from jobq import schedule
from jobq.cron_entry import CronEntry
from jobq.envelope import Envelope, encode
from jobq.errors import ConfigError
from jobq.flow import DEFAULT_PRIORITY
from jobq.records import outcome_state, parse_outcome

if TYPE_CHECKING:
    from jobq.app import App
    from jobq.broker.factrows import CronRow

__all__ = ["CronEntry", "EntryState", "entries", "entry_states", "find_entry", "tick_envelope", "trigger"]


def entries(app: App) -> list[CronEntry]:
    return list(app.cron_entries)


def find_entry(app: App, name: str) -> CronEntry | None:
    return next((e for e in entries(app) if e.name == name), None)


def tick_envelope(app: App, entry: CronEntry, job_id: str, now_s: float) -> str:
    """The envelope of one run of `entry`: the same wire format (and signature, when the app
    signs) as `App.submit` makes."""
    task = app.tasks.get(entry.task_name)
    level = task.options.priority if task else DEFAULT_PRIORITY
    env = Envelope(job_id, entry.task_name, (), {}, now_s, priority=level)
    return encode(env, app.config.max_payload_bytes, app.config.signing_key)


def trigger(app: App, entry: CronEntry) -> str:
    """Enqueue one run of `entry` now, outside its schedule; returns the job id.

    It counts as the entry's latest run (for `cron list` and for `overlap="skip"`), and
    leaves the schedule alone: the next tick fires as usual.
    """
    job_id = schedule.manual_id(entry.name, uuid.uuid4().hex[:12])
    envelope = tick_envelope(app, entry, job_id, app.broker.server_time())
    app.broker.cron_trigger(entry.queue, entry.name, job_id, envelope)
    return job_id


@dataclass(frozen=True, slots=True)
class EntryState:
    """What Redis knows of one entry, plus its next tick (for `jobq cron list`)."""

    entry: CronEntry
    next_fire: datetime | None
    last_fire: datetime | None  # when its latest run was enqueued (Redis clock)
    last_job: str | None
    last_outcome: str  # the latest run's job state, or "skipped (overlap)" / "missed"


def entry_states(app: App) -> list[EntryState]:
    """Every entry's next fire, last fire and last outcome, read from Redis."""
    listed = entries(app)
    broker = app.broker
    now = schedule.from_ms(broker.server_time() * 1000)
    rows = broker.cron_states([(e.queue, e.name) for e in listed])
    return [_state(app, entry, row, now) for entry, row in zip(listed, rows, strict=True)]


def _state(app: App, entry: CronEntry, row: CronRow, now: datetime) -> EntryState:
    try:
        upcoming: datetime | None = entry.next_tick(now)
    except ConfigError:
        upcoming = None
    outcome = "never run"
    if row.job_id:
        outcome = _job_state(app, entry.queue, row.job_id)
    if row.skipped_at_ms:  # a tick left out since the latest run (a run clears it)
        outcome = f"skipped ({row.skip_why or 'overlap'})"
    last = schedule.from_ms(row.fired_ms) if row.fired_ms else None
    return EntryState(entry, upcoming, last, row.job_id, outcome)


def _job_state(app: App, queue: str, job_id: str) -> str:
    found = app.broker.status(queue, job_id)
    if found is None:
        return "expired"
    state, detail = found
    if state == "final":
        return outcome_state(parse_outcome(detail))
    return state
