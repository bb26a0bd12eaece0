"""Scheduler: turns cron ticks into jobs, exactly once per tick however many schedulers run.

Each loop reads the Redis clock (never the local one), works out which ticks of each
entry are due, and offers each to the `cron_fire` Lua step, which decides atomically in
the queue's slot on Redis TIME: it keeps a high-water mark per entry (ticks at or before
it are decided: fired, skipped or missed, never again), so two schedulers offering the
same tick, or a restarted scheduler offering a tick it fired before it died, enqueue
nothing more.

A tick is fired if some scheduler offers it within `MISFIRE_GRACE_S` of its due time
(a scheduler that stalled, or a restart shorter than that, fires late rather than never);
an older one was missed while no scheduler ran and is not backfilled, except that an
entry with `catch_up=True` runs the latest missed tick once. A brand-new entry (or one
whose state was lost with Redis) starts with its first tick after a scheduler sees it.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import datetime
from types import FrameType

import structlog

from jobq import cron, schedule
from jobq.app import App
from jobq.cron_entry import CronEntry
from jobq.errors import BrokerError
from jobq.protocol_cron import CronTick

log = structlog.get_logger("jobq.cron")

MISFIRE_GRACE_S = 5.0
NEW_ENTRY_GRACE_S = 0.0  # a brand-new entry does not run ticks due before it was deployed
MAX_SLEEP_S = 1.0  # re-read the Redis clock at least this often
SLEEP_SLICE_S = 0.1  # how quickly a stop request is noticed
WAKE_MARGIN_S = 0.002  # wake just after a tick rather than just before it
BACKOFF_MIN_S, BACKOFF_MAX_S = 0.1, 2.0
MAX_TICKS_PER_STEP = 100


class Scheduler:
    """Offers the due ticks of an App's cron entries to Redis, one `step()` at a time."""

    def __init__(self, app: App, *, grace_s: float = MISFIRE_GRACE_S) -> None:
        self.app = app
        self.entries = cron.entries(app)
        self.grace_ms = int(grace_s * 1000)
        self.new_grace_ms = min(self.grace_ms, int(NEW_ENTRY_GRACE_S * 1000))
        self.offered: dict[str, int] = {}  # entry name -> due ms of the latest tick offered
        self.broken: set[str] = set()
        self.stopping = False
        self._down_since: float | None = None
        self._backoff = BACKOFF_MIN_S
        self._queues_known = False

    @property
    def redis_down(self) -> bool:
        """Whether the last step failed to reach Redis (the loop keeps retrying)."""
        return self._down_since is not None

    def stop(self, reason: str = "requested") -> None:
        if not self.stopping:
            log.info("scheduler.stopping", reason=reason)
        self.stopping = True

    def run(self) -> None:
        """Loop until `stop()`; rides out Redis outages (one line when down, one when back)."""
        log.info("scheduler.started", pid=os.getpid(), entries=[e.name for e in self.entries])
        if not self.entries:
            log.warning("scheduler.no_entries", hint="decorate functions with @app.cron(...)")
        while not self.stopping:
            try:
                wait = self.step()
                self._recovered()
            except BrokerError as exc:
                wait = self._failed(exc)
            self._sleep(wait)
        log.info("scheduler.stopped", pid=os.getpid())

    def step(self) -> float:
        """Offer every due tick not offered yet; returns seconds until the next tick (capped)."""
        broker = self.app.broker
        if not self._queues_known:
            broker.cron_register_queues(sorted({e.queue for e in self.entries}))
            self._queues_known = True
        now_s = broker.server_time()
        now = schedule.from_ms(now_s * 1000)
        wait = MAX_SLEEP_S
        for entry in self.entries:
            wait = min(wait, self._step_entry(entry, now, now_s))
        return max(0.0, wait)

    def _step_entry(self, entry: CronEntry, now: datetime, now_s: float) -> float:
        try:
            for due in self.due_ticks(entry, now):
                self.offer(entry, due, now_s)
            return (entry.next_tick(now) - now).total_seconds()
        except BrokerError:
            raise
        except Exception as exc:  # one broken entry must not stop the others
            if entry.name not in self.broken:
                log.error("cron.entry_failed", entry=entry.name, error=repr(exc))
                self.broken.add(entry.name)
            return MAX_SLEEP_S

    def due_ticks(self, entry: CronEntry, now: datetime) -> list[datetime]:
        """Ticks of `entry` to offer now, oldest first.

        Every tick due within the grace that this process has not offered yet, a process
        that has just started included: offered in order, so a later tick is never fired
        before an earlier one is decided (Redis's mark would leave the earlier one unfired
        for good). With none in the grace, the latest tick, so Redis can record it missed.
        Redis decides each: fired, decided before, missed, or due before the entry was new.
        """
        latest = entry.latest_tick(now)
        offered = self.offered.get(entry.name)
        if offered is not None and schedule.to_ms(latest) <= offered:
            return []
        start_ms = schedule.to_ms(now) - self.grace_ms
        if offered is not None:
            start_ms = max(offered, start_ms)
        ticks: list[datetime] = []
        tick = entry.next_tick(schedule.from_ms(start_ms))
        while tick <= now and len(ticks) < MAX_TICKS_PER_STEP:
            ticks.append(tick)
            tick = entry.next_tick(tick)
        return ticks or [latest]

    def offer(self, entry: CronEntry, due: datetime, now_s: float) -> str:
        """Offer one tick to Redis; returns what was decided (see cron_fire.lua)."""
        job_id = schedule.tick_id(entry.name, due)
        due_ms = schedule.to_ms(due)
        tick = CronTick(
            name=entry.name,
            due_ms=due_ms,
            job_id=job_id,
            envelope=cron.tick_envelope(self.app, entry, job_id, now_s),
            grace_ms=self.grace_ms,
            new_grace_ms=self.new_grace_ms,
            catch_up=entry.catch_up,
            overlap=entry.overlap,
        )
        outcome, late_ms = self.app.broker.cron_fire(entry.queue, tick)
        if outcome != "early":
            self.offered[entry.name] = due_ms
        fields = {"entry": entry.name, "tick": due.isoformat(), "job_id": job_id, "late_ms": late_ms}
        if outcome == "fired":
            log.info("cron.tick_fired", **fields)
        elif outcome == "missed":
            log.info("cron.tick_missed", **fields)
        elif outcome == "overlap":
            log.info("cron.tick_skipped", reason="previous run unfinished", **fields)
        elif outcome == "new":
            log.info("cron.entry_new", entry=entry.name, first_seen_tick=due.isoformat())
        else:
            log.debug("cron.tick_taken", outcome=outcome, **fields)
        return outcome

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + min(seconds, MAX_SLEEP_S) + WAKE_MARGIN_S
        while not self.stopping:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, SLEEP_SLICE_S))

    def _failed(self, exc: BrokerError) -> float:
        if self._down_since is None:
            self._down_since = time.monotonic()
            self._backoff = BACKOFF_MIN_S
            log.warning("redis.unavailable", error=str(exc))
        else:
            self._backoff = min(BACKOFF_MAX_S, self._backoff * 2)
        return self._backoff

    def _recovered(self) -> None:
        if self._down_since is not None:
            log.info("redis.reconnected", down_s=round(time.monotonic() - self._down_since, 2))
            self._down_since = None


def scheduler_process(app: App) -> int:
    """Run the cron scheduler in this process until SIGTERM or SIGINT; returns 0.

    Used by `jobq scheduler APP` and as the extra child of `jobq worker --beat`. The
    signal handlers are installed here, not on import, and put back on the way out.
    """
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
