"""Producers: enqueue a seeded mix of jobs throughout the run, and cancel some.

Each job gets its id from us (`job_id=`), so a call that raised still names the job it
may or may not have enqueued; the checker learns which calls were acknowledged (the
call returned) and which raised.
"""

from __future__ import annotations

import heapq
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import jobq
from benchmarks.chaos.app import QUEUE

# (task, weight, argument maker, chance of a delay, chance the producer cancels it)
Arg = Callable[[random.Random], tuple[Any, ...]]
MIX: list[tuple[str, float, Arg, float, float]] = [
    ("chaos.sync", 20, lambda r: (r.uniform(0.001, 0.05),), 0.1, 0.0),
    ("chaos.async", 20, lambda r: (r.uniform(0.001, 0.05),), 0.1, 0.0),
    ("chaos.sync", 4, lambda r: (r.uniform(1.0, 3.0),), 0.1, 0.25),
    ("chaos.async", 4, lambda r: (r.uniform(1.0, 3.0),), 0.1, 0.25),
    ("chaos.write", 8, lambda r: ("chaos:side",), 0.1, 0.0),
    ("chaos.awrite", 8, lambda r: ("chaos:side",), 0.1, 0.0),
    ("chaos.flaky", 5, lambda r: (r.randint(1, 2),), 0.1, 0.0),
    ("chaos.doomed", 2, lambda r: (), 0.0, 0.0),
    ("chaos.reject", 1, lambda r: (), 0.0, 0.0),
    ("chaos.atimeout", 1, lambda r: (3.0,), 0.0, 0.0),
    ("chaos.timeout", 0.25, lambda r: (2.5,), 0.0, 0.0),
]
RATE_PER_S = 12.0
BATCH = 5  # every tenth call is a delay_many of this many short jobs
BURST, BURST_EVERY = 100, 200  # and now and then a burst, so many settles are in flight at once


class Producer:
    """Enqueues on a thread until `stop()`; `acked` / `raised` say what each call did."""

    def __init__(self, app: jobq.App, seed: int, rate: float = RATE_PER_S) -> None:
        self.app = app
        self.rng = random.Random(seed)
        self.rate = rate
        self.prefix = f"s{seed}-"
        self.tasks = {name: app.task(name=name, queue=QUEUE)(_stub) for name, *_ in MIX}
        self.acked: dict[str, str] = {}
        self.raised: dict[str, str] = {}
        self.raised_unnamed = 0  # jobs of batch calls that raised (their ids are unknown)
        self.offered = 0
        self.cancels: list[tuple[float, str, str]] = []  # (when, job id, task)
        self.cancelled = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="chaos-producer", daemon=True)

    def start(self) -> Producer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(30)

    def _loop(self) -> None:
        weights = [m[1] for m in MIX]
        n = 0
        while not self._stop.wait(self.rng.expovariate(self.rate)):
            n += 1
            if n % BURST_EVERY == 0:
                self._enqueue_batch("chaos.sync", BURST)
            elif n % 10 == 0:
                self._enqueue_batch(self.rng.choice(("chaos.sync", "chaos.async")), BATCH)
            else:
                self._enqueue_one(MIX[self.rng.choices(range(len(MIX)), weights)[0]])
            self._cancel_due()

    def _enqueue_one(self, pick: tuple[str, float, Arg, float, float]) -> None:
        name, _, make_args, delay_p, cancel_p = pick
        self.offered += 1
        job_id = f"{self.prefix}{self.offered}"
        delay = self.rng.uniform(0.1, 3.0) if self.rng.random() < delay_p else None
        cancel = self.rng.random() < cancel_p
        try:
            self.tasks[name].enqueue(args=make_args(self.rng), job_id=job_id, delay=delay)
        except Exception as exc:  # every failure of the call is a fact to record
            self.raised[job_id] = f"{name}: {type(exc).__name__}"
            return
        self.acked[job_id] = name
        if cancel:
            heapq.heappush(self.cancels, (time.monotonic() + self.rng.uniform(0.0, 2.0), job_id, name))

    def _enqueue_batch(self, name: str, size: int) -> None:
        """One pipelined delay_many; its jobs' ids are known only if it returns."""
        self.offered += size
        args = [(self.rng.uniform(0.001, 0.02),) for _ in range(size)]
        try:
            jobs = self.tasks[name].delay_many(args)
        except Exception:  # the batch's ids are unknown: count them only
            self.raised_unnamed += size
            return
        for job in jobs:
            self.acked[job.id] = name

    def _cancel_due(self) -> None:
        now = time.monotonic()
        while self.cancels and self.cancels[0][0] <= now:
            _, job_id, _name = heapq.heappop(self.cancels)
            try:
                if self.app.job(job_id).cancel():
                    self.cancelled += 1
            except Exception:  # a cancel lost to an outage is just not a cancel
                continue


def _stub(*_args: Any) -> None:
    """Producers only enqueue by name; the workers run the real bodies."""
