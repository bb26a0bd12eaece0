"""Deciding and enqueueing ticks against a real Redis: the Lua decision table, restarts,
catch-up, overlap, the by-hand trigger, an expression change and a Redis restart."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

import jobq
from jobq import cron, schedule
from jobq.envelope import decode
from jobq.protocol_cron import CronTick
from jobq.scheduler import Scheduler
from jobq.testing import drain
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_for


def stream_ids(app: jobq.App, queue: str = "default") -> list[str]:
    """The job id of every entry in the queue's work stream, in order."""
    entries = app.broker.client.xrange(app.broker.queue_keys(queue).stream)
    return [decode(fields["j"]).id for _, fields in entries]  # type: ignore[union-attr]


def redis_now(app: jobq.App) -> datetime:
    return schedule.from_ms(app.broker.server_time() * 1000)


def offer_raw(app: jobq.App, entry: cron.CronEntry, due: datetime, **kw: object) -> str:
    """Offer a tick straight to cron_fire.lua, as a scheduler would (5 s grace)."""
    job_id = schedule.tick_id(entry.name, due)
    options: dict[str, object] = {"grace_ms": 5000, "new_grace_ms": 0, "catch_up": entry.catch_up}
    options.update(kw)
    tick = CronTick(
        name=entry.name,
        due_ms=schedule.to_ms(due),
        job_id=job_id,
        envelope=cron.tick_envelope(app, entry, job_id, app.broker.server_time()),
        overlap=entry.overlap,
        **options,  # type: ignore[arg-type]
    )
    return app.broker.cron_fire(entry.queue, tick)[0]


def add_entry(
    app: jobq.App, expression: str, name: str, fn: Callable[[], object] = lambda: "ran", **kw: object
) -> cron.CronEntry:
    app.cron(expression, name=name, **kw)(fn)
    entry = cron.find_entry(app, name)
    assert entry is not None
    return entry


def seed(app: jobq.App, entry: cron.CronEntry) -> None:
    """Give the entry a state, as if a scheduler had known it for an hour."""
    known = schedule.to_ms(redis_now(app) - timedelta(hours=1))
    app.broker.client.hset(app.broker.queue_keys(entry.queue).cron(entry.name), "mark", known)


def test_a_tick_is_enqueued_once_as_a_normal_job_that_a_worker_runs(app: jobq.App) -> None:
    entry = add_entry(app, "* * * * * *", "every_second")
    seed(app, entry)
    now = redis_now(app)
    due = entry.latest_tick(now)
    assert Scheduler(app).offer(entry, due, now.timestamp()) == "fired"
    assert Scheduler(app).offer(entry, due, now.timestamp()) == "decided"  # a second scheduler
    job_id = schedule.tick_id("every_second", due)
    assert stream_ids(app) == [job_id]
    assert app.broker.client.hget(app.broker.queue_keys("default").jobs, job_id).startswith("Q")  # type: ignore[union-attr]
    (state,) = cron.entry_states(app)
    assert (state.last_job, state.last_outcome) == (job_id, "queued")

    assert drain(app, ["default"]) == 1
    assert app.job(job_id).result(timeout=5) == "ran"
    assert cron.entry_states(app)[0].last_outcome == "succeeded"
    # finished, and even with the entry's state lost, the tick is not run again
    app.broker.client.delete(f"{app.config.namespace}:{{default}}:cron:every_second")
    assert Scheduler(app).offer(entry, due, now.timestamp()) == "decided"
    assert stream_ids(app) == []


def test_the_decision_is_taken_on_redis_time(app: jobq.App) -> None:
    entry = add_entry(app, "* * * * *", "table")
    now = redis_now(app)
    assert offer_raw(app, entry, now + timedelta(seconds=60)) == "early"
    assert offer_raw(app, entry, now - timedelta(seconds=60)) == "new"  # due before it existed
    assert offer_raw(app, entry, now - timedelta(seconds=2)) == "decided"  # so was this one
    entry = add_entry(app, "* * * * *", "known")
    seed(app, entry)
    assert offer_raw(app, entry, now - timedelta(seconds=30)) == "missed"  # past the 5 s grace
    assert offer_raw(app, entry, now - timedelta(seconds=30)) == "decided"
    assert offer_raw(app, entry, now - timedelta(seconds=2)) == "fired"
    assert offer_raw(app, entry, now - timedelta(seconds=20)) == "decided"  # behind the mark
    assert stream_ids(app) == [schedule.tick_id("known", now - timedelta(seconds=2))]
    assert {s.entry.name: s.last_outcome for s in cron.entry_states(app)}["known"] == "queued"


def test_catch_up_runs_the_latest_missed_tick_once_and_others_skip_it(app: jobq.App) -> None:
    now = redis_now(app)
    minute = (now.minute - 10) % 60  # hourly, last due about ten minutes ago
    caught = add_entry(app, f"{minute} * * * *", "caught", catch_up=True)
    plain = add_entry(app, f"{minute} * * * *", "plain")
    for entry in (caught, plain):
        seed(app, entry)
    Scheduler(app).step()
    Scheduler(app).step()  # a restarted scheduler: nothing more
    latest = caught.latest_tick(now)
    assert now - latest > timedelta(minutes=9)
    assert stream_ids(app) == [schedule.tick_id("caught", latest)]
    states = {s.entry.name: s.last_outcome for s in cron.entry_states(app)}
    assert states == {"caught": "queued", "plain": "skipped (missed)"}


def test_a_skip_decided_in_the_same_millisecond_as_the_run_is_still_reported(app: jobq.App) -> None:
    """Redis time has millisecond steps: a fire and the next tick's skip can share one."""
    skip = add_entry(app, "* * * * * *", "skipper", overlap="skip")
    now = redis_now(app)
    seed(app, skip)
    assert offer_raw(app, skip, now - timedelta(seconds=3)) == "fired"
    assert offer_raw(app, skip, now - timedelta(seconds=2)) == "overlap"
    state_key = app.broker.ns.queue(skip.queue).cron(skip.name)
    raw = app.broker.client
    raw.hset(state_key, "fired", raw.hget(state_key, "skipped_at"))  # type: ignore[arg-type]
    assert {s.entry.name: s.last_outcome for s in cron.entry_states(app)}["skipper"] == "skipped (overlap)"


def test_overlap_skip_leaves_ticks_out_while_the_previous_run_is_unfinished(app: jobq.App) -> None:
    skip = add_entry(app, "* * * * * *", "skipper", overlap="skip")
    allow = add_entry(app, "* * * * * *", "allower")
    now = redis_now(app)
    for entry in (skip, allow):
        seed(app, entry)
        assert offer_raw(app, entry, now - timedelta(seconds=3)) == "fired"
    assert offer_raw(app, skip, now - timedelta(seconds=2)) == "overlap"
    assert offer_raw(app, allow, now - timedelta(seconds=2)) == "fired"
    assert {s.entry.name: s.last_outcome for s in cron.entry_states(app)}["skipper"] == "skipped (overlap)"
    drain(app, ["default"])
    assert offer_raw(app, skip, now - timedelta(seconds=1)) == "fired"
    assert Counter(i.split(":")[1] for i in stream_ids(app)) == {"skipper": 1}


def test_trigger_enqueues_one_run_now_that_counts_as_the_latest(app: jobq.App) -> None:
    entry = add_entry(app, "* * * * * *", "manual", overlap="skip")
    seed(app, entry)
    job_id = cron.trigger(app, entry)
    assert job_id.startswith("cron:manual:manual-")
    assert stream_ids(app) == [job_id]
    assert app.job(job_id).status() == "queued"
    (state,) = cron.entry_states(app)
    assert state.last_job == job_id and state.last_fire is not None
    # the triggered run is unfinished, so the next tick of a skip entry is left out
    assert offer_raw(app, entry, redis_now(app) - timedelta(seconds=1)) == "overlap"
    drain(app, ["default"])
    assert app.job(job_id).result(timeout=5) == "ran"


def test_a_restarted_scheduler_does_not_fire_a_tick_again(app: jobq.App) -> None:
    entry = add_entry(app, "* * * * * */2", "restart")
    seed(app, entry)
    before = Scheduler(app)
    before.step()  # fires every tick due within the grace (no scheduler ran for an hour)
    assert before.offered["restart"] > 0 and 1 <= len(stream_ids(app)) <= 3
    after = Scheduler(app)  # no memory of what `before` did
    after.step()
    ids = stream_ids(app)
    assert len(ids) == len(set(ids)) >= 1


def fired_ids(app: jobq.App, name: str) -> list[str]:
    return [i for i in stream_ids(app) if i.startswith(f"cron:{name}:")]


def step_until_fired(scheduler: Scheduler, app: jobq.App, count: int) -> list[str]:
    def enough() -> bool:
        scheduler.step()
        return len(fired_ids(app, "sync")) >= count

    wait_for(enough, 15, f"{count} ticks of 'sync'", interval=0.05)
    return fired_ids(app, "sync")


def test_a_changed_expression_takes_over_without_duplicate_or_lost_ticks(
    app: jobq.App, redis_url: str
) -> None:
    old_app = app
    add_entry(old_app, "* * * * * *", "sync")
    old_ticks = step_until_fired(Scheduler(old_app), old_app, 2)
    # the next deploy: the same entry, every two seconds, in a fresh process
    new_app = jobq.App(redis_url, namespace=app.config.namespace)
    add_entry(new_app, "* * * * * */2", "sync")
    all_ticks = step_until_fired(Scheduler(new_app), new_app, len(old_ticks) + 2)
    assert len(all_ticks) == len(set(all_ticks))
    stamps = [datetime.strptime(i.split(":")[2], "%Y%m%dT%H%M%SZ") for i in all_ticks]
    old_last = stamps[len(old_ticks) - 1]
    new = stamps[len(old_ticks) :]
    assert all(s.second % 2 == 0 for s in new)
    first_even = old_last + timedelta(seconds=1 if old_last.second % 2 else 2)
    assert new[0] == first_even  # the first tick of the new expression after the old one
    assert new[1] == new[0] + timedelta(seconds=2)


def test_the_scheduler_rides_out_a_redis_restart(private_redis: Callable[..., RedisServer]) -> None:
    server = private_redis(aof=True)
    app = jobq.App(server.url, namespace="restart")
    add_entry(app, "* * * * * *", "sync")
    scheduler = Scheduler(app)
    thread = threading.Thread(target=scheduler.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: len(fired_ids(app, "sync")) >= 1, 15, "a tick before the restart")
        server.kill()
        wait_for(lambda: scheduler.redis_down, 15, "the scheduler to notice Redis is gone")
        server.start()
        restarted = redis_now(app)
        wait_for(
            lambda: any(
                datetime.strptime(i.split(":")[2], "%Y%m%dT%H%M%SZ") > restarted.replace(tzinfo=None)
                for i in fired_ids(app, "sync")
            ),
            20,
            "a tick after the restart",
        )
    finally:
        scheduler.stop()
        thread.join(10)
    assert not thread.is_alive() and not scheduler.redis_down
    ids = fired_ids(app, "sync")
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("policy", ["allow", "skip"])
def test_entry_states_before_any_run(app: jobq.App, policy: str) -> None:
    add_entry(app, "0 4 * * *", "quiet", tz="Europe/Berlin", overlap=policy)
    (state,) = cron.entry_states(app)
    assert state.last_fire is None and state.last_job is None and state.last_outcome == "never run"
    assert state.next_fire is not None and state.next_fire.astimezone(state.entry.zone).hour == 4
