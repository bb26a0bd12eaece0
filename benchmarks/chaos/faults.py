"""Inject the scheduled faults into the fleet, on time, and log when each one healed.

Actions sit in a time-ordered heap; a fault that lasts (a stopped Redis, a pool that is
down) pushes its own healing action. Nothing here blocks for long: a pool being drained
by SIGTERM is polled, not waited on. Every Redis outage is kept as a window (from the
fault until Redis answers again), which the checker needs to judge duplicates and
missed cron ticks.
"""

from __future__ import annotations

import heapq
import itertools
import os
import signal
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.chaos.fleet import SHUTDOWN_TIMEOUT_S, Fleet
from benchmarks.chaos.history import Window, clock
from benchmarks.chaos.schedule import Fault

TERM_GRACE_S = SHUTDOWN_TIMEOUT_S + 5.0  # a pool not gone by then is killed


class Injector:
    def __init__(self, fleet: Fleet, t0: float, log: Path) -> None:
        self.fleet = fleet
        self.t0 = t0
        self.log_path = log
        self.heap: list[tuple[float, int, Callable[[], None]]] = []
        self.seq = itertools.count()
        self.counts: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()
        self.outages: list[Window] = []
        self.down: set[str] = set()  # pools / scheduler / redis currently out by a fault
        self.last_heal = t0

    def plan(self, faults: list[Fault]) -> None:
        for f in faults:
            self.at(self.t0 + f.at, lambda f=f: self.apply(f))  # type: ignore[misc]

    def at(self, when: float, action: Callable[[], None]) -> None:
        heapq.heappush(self.heap, (when, next(self.seq), action))

    def step(self, now: float) -> None:
        while self.heap and self.heap[0][0] <= now:
            _, _, action = heapq.heappop(self.heap)
            action()

    def pending(self) -> bool:
        return bool(self.heap)

    def note(self, what: str, **fields: Any) -> None:
        detail = " ".join(f"{k}={v}" for k, v in fields.items())
        with open(self.log_path, "a") as f:
            f.write(f"{clock() - self.t0:9.3f} {what} {detail}\n")

    def healed(self) -> None:
        self.last_heal = max(self.last_heal, clock())

    def apply(self, f: Fault) -> None:
        target = "redis" if f.kind.startswith("redis") else f.target or "scheduler"
        if target in self.down and f.kind != "proxy_cut":
            self.skipped[f.kind] += 1
            self.note("skipped", kind=f.kind, target=target, why="already down")
            return
        done = getattr(self, f.kind)(f)
        if done:
            self.counts[f.kind] += 1
            self.note(f.kind, target=f.target, duration=round(f.duration, 2), amount=f.amount)
        else:
            self.skipped[f.kind] += 1
            self.note("skipped", kind=f.kind, target=f.target, why="nothing to hit")

    # the faults ------------------------------------------------------------------------

    def child_kill9(self, f: Fault) -> bool:
        children = self.fleet.groups[f.target].children()
        if not children:
            return False
        victim = children[int(f.amount) % len(children)]
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            return False
        self.note("killed", pid=victim)
        return True

    def pool_kill9(self, f: Fault) -> bool:
        self.fleet.groups[f.target].kill()
        self._restart_later(f.target, f.duration)
        return True

    def scheduler_kill9(self, f: Fault) -> bool:
        self.fleet.groups["scheduler"].kill()
        self._restart_later("scheduler", f.duration)
        return True

    def pool_term(self, f: Fault) -> bool:
        self._terminate(f.target, f.duration)
        return True

    def clock_skew(self, f: Fault) -> bool:
        self.fleet.skew_s = f.amount
        self._terminate("skewed", 0.0)
        return True

    def redis_stop(self, f: Fault) -> bool:
        return self._redis_outage(f.duration, self.fleet.redis.pause, self.fleet.redis.resume)

    def redis_kill9(self, f: Fault) -> bool:
        return self._redis_outage(f.duration, self.fleet.redis.kill, self.fleet.redis.start)

    def proxy_cut(self, f: Fault) -> bool:
        return self.fleet.proxy.cut(int(f.amount)) > 0

    # healing ---------------------------------------------------------------------------

    def _redis_outage(self, duration: float, begin: Callable[[], object], end: Callable[[], object]) -> bool:
        start = clock()
        self.down.add("redis")
        begin()

        def heal() -> None:
            end()
            self._redis_back(start)

        self.at(start + duration, heal)
        return True

    def _redis_back(self, start: float) -> None:
        self.down.discard("redis")
        self.outages.append(Window(start, clock()))
        self.note("redis_back", down_s=round(clock() - start, 2))
        self.healed()

    def _restart_later(self, name: str, delay: float) -> None:
        self.down.add(name)

        def restart() -> None:
            if name == "scheduler":
                self.fleet.start_scheduler()
            else:
                self.fleet.start_pool(name)
            self.down.discard(name)
            self.note("restarted", target=name)
            self.healed()

        self.at(clock() + delay, restart)

    def _terminate(self, name: str, delay: float) -> None:
        """SIGTERM the pool (it drains), poll until it is gone, then restart it."""
        group = self.fleet.groups[name]
        self.down.add(name)
        group.signal(signal.SIGTERM)
        give_up = clock() + TERM_GRACE_S

        def poll() -> None:
            if group.alive() and clock() < give_up:
                self.at(clock() + 0.2, poll)
                return
            if group.alive():
                self.note("term_timeout", target=name)
            group.kill()
            self._restart_later(name, delay)

        self.at(clock() + 0.2, poll)
