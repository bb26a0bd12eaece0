"""Cron entries: periodic jobs enqueued exactly once per tick, however many schedulers run.

`@app.cron(expression)` registers an ordinary task plus a `CronEntry`. Schedulers
(`jobq scheduler APP`, or `jobq worker APP --beat`) turn ticks into jobs with one Lua step
per tick (see `jobq.scheduler`); this module holds the entry type, registration, the
by-hand trigger and the per-entry state that `jobq cron list` shows.
"""

from __future__ import annotations

import inspect
import signal
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from jobq import schedule
from jobq.envelope import Envelope, encode
from jobq.errors import ConfigError
from jobq.job import parse_outcome

if TYPE_CHECKING:
    from types import FrameType

    from jobq.app import App
    from jobq.task import Task

OVERLAP_POLICIES = ("allow", "skip")
TASK_OPTIONS = ("retries", "retry_on", "backoff", "backoff_max", "timeout", "result_ttl")


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


def register_cron(
    app: App,
    func: Callable[[], Any],
    expression: str,
    *,
    queue: str | None = None,
    tz: str = "UTC",
    name: str | None = None,
    **options: Any,
) -> Task[[], Any]:
    """Register `func` as a task and as a cron entry of `app` (what `@app.cron` does)."""
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
    if any(e.name == entry_name for e in app.cron_entries):
        raise ConfigError(f"two cron entries are named {entry_name!r}; give one a name=")
    text = schedule.normalize_expression(expression)
    zone = schedule.zone(tz)
    schedule.next_tick(text, zone, datetime.now(zone))  # ConfigError if it never fires
    task: Task[[], Any] = app.task(name=entry_name, queue=queue, **options)(func)
    entry = CronEntry(entry_name, text, tz, task.options.queue, zone, overlap, catch_up)
    app.cron_entries.append(entry)
    return task


def _check_no_arguments(func: Callable[[], Any]) -> None:
    try:
        inspect.signature(func).bind()
    except TypeError:
        raise ConfigError(f"a cron task takes no arguments: {func.__qualname__} needs some") from None
    except ValueError:
        return  # no signature to inspect (a builtin): trust the caller


def entries(app: App) -> list[CronEntry]:
    return [e for e in app.cron_entries if isinstance(e, CronEntry)]


def find_entry(app: App, name: str) -> CronEntry | None:
    return next((e for e in entries(app) if e.name == name), None)


def tick_envelope(app: App, entry: CronEntry, job_id: str, now_s: float) -> str:
    """The envelope of one run of `entry`: the same wire format (and signature, when the app
    signs) as `App.submit` makes."""
    env = Envelope(job_id, entry.task_name, (), {}, now_s)
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
    raw = broker.cron_states([(e.queue, e.name) for e in listed])
    return [_state(app, entry, fields, now) for entry, fields in zip(listed, raw, strict=True)]


def _state(app: App, entry: CronEntry, fields: dict[str, str], now: datetime) -> EntryState:
    try:
        upcoming: datetime | None = entry.next_tick(now)
    except ConfigError:
        upcoming = None
    fired = int(fields.get("fired") or 0)
    job_id = fields.get("job") or None
    outcome = "never run"
    if job_id:
        outcome = _job_state(app, entry.queue, job_id)
    if fields.get("skipped_at"):  # a tick left out since the latest run (a run clears it)
        outcome = f"skipped ({fields.get('skip_why') or 'overlap'})"
    last = schedule.from_ms(fired) if fired else None
    return EntryState(entry, upcoming, last, job_id, outcome)


def _job_state(app: App, queue: str, job_id: str) -> str:
    found = app.broker.status(queue, job_id)
    if found is None:
        return "expired"
    state, detail = found
    if state == "final":
        return str(parse_outcome(detail).get("s", "succeeded"))
    return state


def scheduler_process(app: App) -> int:
    """Run the cron scheduler in this process until SIGTERM or SIGINT; returns 0.

    Used by `jobq scheduler APP` and as the extra child of `jobq worker --beat`. The
    signal handlers are installed here, not on import, and put back on the way out.
    """
    from jobq.scheduler import Scheduler

    scheduler = Scheduler(app)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        scheduler.stop(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        scheduler.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
