"""The watchdog: a worker must never keep renewing the lease of an entry it is not making
progress on, or a wedged process hides jobs for as long as it lives.

An entry can be held for three reasons: it runs (its task's timeout bounds that), it waits
for a slot, or its outcome waits to be written. Waiting for a slot while one is free, or
for a write while Redis answers, is a stall. A stall longer than the visibility timeout
means the process is wedged: it is logged once, as an error, and the worker stops now,
releasing what it holds to other workers (see jobq.worker.shutdown), for its pool to
replace it. Leases of stalled entries are not renewed meanwhile, so they lapse even if the
process never gets as far as exiting. Stalls are published in heartbeats, for `jobq
stats`, the dashboard and `jobq explain`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import structlog

from jobq.worker.held import Held
from jobq.worker.outage import BACKOFF_MAX, Outage

log = structlog.get_logger("jobq.worker")

NOTICE_S = 1.0  # a stall this long is published in heartbeats
STALLED_IDS_MAX = 50  # job ids of stalled entries one heartbeat carries


def stall_s(h: Held, now: float, free: bool, freed_at: float, outage: Outage) -> float:
    """How long `h` has been held without progress it could have made (0: none was due).

    Waiting to start counts while a slot is free (since it came free); waiting for the
    outcome to be written counts while Redis answers, after one settle backoff."""
    if h.lost or (h.started and not h.finished):
        return 0.0
    if h.finished:
        if outage.down:
            return 0.0
        return max(0.0, now - max(h.finished_at, outage.recovered_at) - BACKOFF_MAX)
    if not free:
        return 0.0
    return max(0.0, now - max(h.received, freed_at))


@dataclass(frozen=True, slots=True)
class Census:
    """What one worker process holds, and how much of it is stalled."""

    held: int
    ready: int  # waiting to start
    running: int
    unsettled: int  # finished; the outcome is not written yet
    stalled: tuple[str, ...] = ()  # job ids stalled for more than NOTICE_S (at most STALLED_IDS_MAX)
    worst_s: float = 0.0  # the longest stall


Stalls = list[tuple[float, Held]]


def stalls(held: Iterable[Held], concurrency: int, freed_at: float, outage: Outage, now: float) -> Stalls:
    """Each held entry with its stall. Running entries are counted from the entries
    themselves, not the runner's counter, so a slot the counter leaked still shows as free."""
    entries = list(held)
    free = sum(1 for h in entries if h.started and not h.finished) < concurrency
    return [(stall_s(h, now, free, freed_at, outage), h) for h in entries]


def renewable(entries: Stalls) -> list[Held]:
    """The entries whose leases a worker renews: not those it stalls on (they must lapse)."""
    return [h for s, h in entries if s <= NOTICE_S]


def census(entries: Stalls) -> Census:
    """Count what is held, and name what is stalled."""
    running = sum(1 for _, h in entries if h.started and not h.finished)
    unsettled = sum(1 for _, h in entries if h.finished)
    ready = sum(1 for _, h in entries if not h.started and not h.finished and not h.lost)
    stalled = tuple(h.env.id for s, h in entries if s > NOTICE_S)[:STALLED_IDS_MAX]
    worst = max((s for s, _ in entries), default=0.0)
    return Census(len(entries), ready, running, unsettled, stalled, round(worst, 3))


class Watchdog:
    """Decides, once, that the process is wedged."""

    def __init__(self, worker_id: str, visibility_timeout: float) -> None:
        self.worker_id = worker_id
        self.limit_s = visibility_timeout
        self.strikes = 0
        self.fired = False

    def wedged(self, c: Census) -> bool:
        """True the first time a stall outlasts the visibility timeout at two checks in a row
        (logged as an error). One is not enough: after the event loop was blocked (an async
        task computing), the first check may come before the loop has started what waits."""
        self.strikes = self.strikes + 1 if c.worst_s > self.limit_s else 0
        if self.fired or self.strikes < 2:
            return False
        self.fired = True
        log.error(
            "worker.wedged",
            worker=self.worker_id,
            held=c.held,
            ready=c.ready,
            running=c.running,
            unsettled=c.unsettled,
            stalled=len(c.stalled),
            stalled_s=round(c.worst_s, 1),
            visibility_timeout_s=self.limit_s,
            note="holding jobs it is not running; exiting so their leases lapse and others take them",
        )
        return True
