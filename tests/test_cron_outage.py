"""A tick that fell due while Redis was out is fired late (within the misfire grace), even
when a scheduler that has just started fires a later tick first. Found by the chaos run
(seed 20, 20 s): Redis killed for 2.5 s, a pool with --beat restarted meanwhile; the
tick due during the outage was never enqueued although three schedulers were back
within the grace."""

from __future__ import annotations

from datetime import datetime, timedelta

import jobq
from jobq import cron, schedule
from jobq.envelope import decode
from jobq.scheduler import Scheduler
from tests.support.waiting import wait_for


def redis_now(app: jobq.App) -> datetime:
    return schedule.from_ms(app.broker.server_time() * 1000)


def stream_ids(app: jobq.App) -> list[str]:
    entries = app.broker.client.xrange(app.broker.queue_keys("default").stream)
    return [decode(fields["j"]).id for _, fields in entries]  # type: ignore[union-attr]


def test_a_fresh_scheduler_does_not_make_an_older_due_tick_lost(app: jobq.App) -> None:
    app.cron("* * * * * *", name="beat")(lambda: None)
    entry = cron.find_entry(app, "beat")
    assert entry is not None
    watching = Scheduler(app)

    def fired() -> list[str]:
        watching.step()
        return stream_ids(app)

    wait_for(fired, 5, "a first tick fired (the one before it marks the entry new)")
    last = schedule.from_ms(watching.offered["beat"])
    # Redis is out for the watching scheduler: two ticks fall due meanwhile
    wait_for(lambda: entry.latest_tick(redis_now(app)) >= last + timedelta(seconds=2), 5, "two ticks due")
    late_tick = last + timedelta(seconds=1)
    Scheduler(app).step()  # a scheduler that has just started fires the latest tick first
    watching.step()  # back within the grace: the tick due during the outage is fired late
    assert schedule.tick_id("beat", late_tick) in stream_ids(app)
    ids = stream_ids(app)
    assert len(ids) == len(set(ids))
