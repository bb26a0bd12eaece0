"""Pure due-time arithmetic and entry registration: fixed datetimes, no Redis, no clock."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

import jobq
from jobq import schedule
from jobq.cron import CronEntry, entries
from jobq.errors import ConfigError
from jobq.scheduler import Scheduler

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# expressions and zones ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("*/5 * * * *", "*/5 * * * *"),
        ("  *  *  * * *   */10 ", "* * * * * */10"),
        ("@hourly", "@hourly"),
    ],
)
def test_expressions_of_five_or_six_fields_are_accepted(given: str, normal: str) -> None:
    assert schedule.normalize_expression(given) == normal


@pytest.mark.parametrize("bad", ["* * * *", "* * * * * * *", "61 * * * *", "*/0 * * * *", "every day", ""])
def test_other_expressions_are_refused_with_a_config_error(bad: str) -> None:
    with pytest.raises(ConfigError, match="cron expression"):
        schedule.normalize_expression(bad)


def test_timezones_resolve_and_unknown_ones_are_refused() -> None:
    assert schedule.zone("UTC") is UTC
    assert schedule.zone("Europe/Berlin") == BERLIN
    with pytest.raises(ConfigError, match="unknown timezone 'Mars/Olympus'"):
        schedule.zone("Mars/Olympus")


# due times ----------------------------------------------------------------------------

TWO_S = "* * * * * */2"


@pytest.mark.parametrize(
    ("now", "latest", "following"),
    [
        (utc(2024, 1, 1, 12, 0, 0), utc(2024, 1, 1, 12, 0, 0), utc(2024, 1, 1, 12, 0, 2)),
        (utc(2024, 1, 1, 12, 0, 0) + timedelta(microseconds=1), utc(2024, 1, 1, 12, 0, 0), None),
        (utc(2024, 1, 1, 12, 0, 1, 999999), utc(2024, 1, 1, 12, 0, 0), utc(2024, 1, 1, 12, 0, 2)),
        (utc(2024, 1, 1, 23, 59, 59), utc(2024, 1, 1, 23, 59, 58), utc(2024, 1, 2, 0, 0, 0)),
    ],
)
def test_two_second_ticks(now: datetime, latest: datetime, following: datetime | None) -> None:
    assert schedule.latest_tick(TWO_S, UTC, now) == latest
    assert schedule.next_tick(TWO_S, UTC, now) == (following or latest + timedelta(seconds=2))


def test_five_field_expressions_tick_on_whole_minutes() -> None:
    now = utc(2024, 5, 6, 7, 8, 9)
    assert schedule.latest_tick("*/15 * * * *", UTC, now) == utc(2024, 5, 6, 7, 0)
    assert schedule.next_tick("*/15 * * * *", UTC, now) == utc(2024, 5, 6, 7, 15)


def test_a_time_in_another_zone_is_the_same_instant() -> None:
    now = utc(2024, 7, 1, 10, 0, 0)  # 12:00 in Berlin (CEST)
    assert schedule.latest_tick("0 12 * * *", BERLIN, now) == now
    assert schedule.latest_tick("0 12 * * *", BERLIN, now.astimezone(BERLIN)) == now
    assert schedule.next_tick("0 12 * * *", BERLIN, now) == now + timedelta(days=1)


def ticks(expression: str, tz: ZoneInfo, start: datetime, count: int) -> list[datetime]:
    out, moment = [], start
    for _ in range(count):
        moment = schedule.next_tick(expression, tz, moment)
        out.append(moment)
    return out


def test_spring_forward_a_time_in_the_skipped_hour_fires_once_at_the_gap_end() -> None:
    # Berlin, 2024-03-31: 02:00 CET jumps to 03:00 CEST (01:00 UTC); 02:30 does not exist.
    daily = ticks("30 2 * * *", BERLIN, utc(2024, 3, 29, 12), 3)
    assert daily == [utc(2024, 3, 30, 1, 30), utc(2024, 3, 31, 1, 0), utc(2024, 4, 1, 0, 30)]
    assert schedule.latest_tick("30 2 * * *", BERLIN, utc(2024, 3, 31, 1, 0, 1)) == utc(2024, 3, 31, 1, 0)
    hourly = ticks("0 * * * *", BERLIN, utc(2024, 3, 30, 23, 30), 4)
    assert [b - a for a, b in itertools.pairwise(hourly)] == [timedelta(hours=1)] * 3
    nine = ticks("0 9 * * *", BERLIN, utc(2024, 3, 30), 2)
    assert nine == [utc(2024, 3, 30, 8), utc(2024, 3, 31, 7)]  # 09:00 CET, then 09:00 CEST


def test_fall_back_a_time_in_the_repeated_hour_fires_in_both_occurrences() -> None:
    # Berlin, 2024-10-27: 03:00 CEST goes back to 02:00 CET (01:00 UTC); 02:30 happens twice.
    daily = ticks("30 2 * * *", BERLIN, utc(2024, 10, 26, 12), 3)
    assert daily == [utc(2024, 10, 27, 0, 30), utc(2024, 10, 27, 1, 30), utc(2024, 10, 28, 1, 30)]
    half_hourly = ticks("*/30 * * * *", BERLIN, utc(2024, 10, 26, 23, 45), 6)
    assert [b - a for a, b in itertools.pairwise(half_hourly)] == [timedelta(minutes=30)] * 5


def test_latest_tick_does_not_skip_an_occurrence_across_fall_back() -> None:
    """croniter's get_prev from inside the repeated hour jumps a whole day back; the
    scheduler would then believe the entry's latest tick was yesterday's."""
    inside_repeat = utc(2024, 10, 27, 1, 0, 4)  # 02:00:04 CET, the second 02:00 of the day
    assert schedule.latest_tick("30 2 * * *", BERLIN, inside_repeat) == utc(2024, 10, 27, 0, 30)
    assert schedule.latest_tick("30 2 * * *", BERLIN, utc(2024, 10, 27, 1, 45)) == utc(2024, 10, 27, 1, 30)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        schedule.latest_tick(TWO_S, UTC, datetime(2024, 1, 1))


def test_tick_ids_are_deterministic_utc_stamps() -> None:
    due = utc(2024, 3, 31, 1, 0)
    assert schedule.tick_id("nightly", due) == "cron:nightly:20240331T010000Z"
    assert schedule.tick_id("nightly", due.astimezone(BERLIN)) == schedule.tick_id("nightly", due)
    assert schedule.from_ms(schedule.to_ms(due)) == due


# which ticks a scheduler offers (pure: no Redis is touched) ---------------------------


def beat_app() -> tuple[jobq.App, CronEntry]:
    app = jobq.App("redis://127.0.0.1:1/0", namespace="pure")
    app.cron(TWO_S, name="beat")(lambda: None)
    return app, entries(app)[0]


def test_a_starting_scheduler_offers_every_tick_within_the_grace_oldest_first() -> None:
    """Not only the latest: were that fired first, Redis's mark would leave the older one
    unfired for good (the chaos run's seed 20; see tests/test_cron_outage.py)."""
    app, entry = beat_app()
    ticks = Scheduler(app, grace_s=5.0).due_ticks(entry, utc(2024, 1, 1, 12, 0, 7))
    assert ticks == [utc(2024, 1, 1, 12, 0, 4), utc(2024, 1, 1, 12, 0, 6)]
    hourly = jobq.App("redis://127.0.0.1:1/0", namespace="pure")
    hourly.cron("0 * * * *", name="hourly")(lambda: None)
    latest = Scheduler(hourly).due_ticks(entries(hourly)[0], utc(2024, 1, 1, 12, 30))
    assert latest == [utc(2024, 1, 1, 12, 0)]  # none within the grace: the latest, to be missed


def test_a_running_scheduler_offers_each_tick_once_and_stalls_make_ticks_late_not_lost() -> None:
    app, entry = beat_app()
    scheduler = Scheduler(app, grace_s=5.0)
    scheduler.offered["beat"] = schedule.to_ms(utc(2024, 1, 1, 12, 0, 0))
    assert scheduler.due_ticks(entry, utc(2024, 1, 1, 12, 0, 1)) == []
    assert scheduler.due_ticks(entry, utc(2024, 1, 1, 12, 0, 4, 500)) == [
        utc(2024, 1, 1, 12, 0, 2),
        utc(2024, 1, 1, 12, 0, 4),
    ]
    # a stall past the grace: ticks older than it are offered no more, the latest still is
    stalled = scheduler.due_ticks(entry, utc(2024, 1, 1, 12, 0, 11))
    assert stalled == [utc(2024, 1, 1, 12, 0, 8), utc(2024, 1, 1, 12, 0, 10)]


# registration -------------------------------------------------------------------------


def test_cron_registers_a_task_and_an_entry() -> None:
    app = jobq.App("redis://127.0.0.1:1/0", namespace="pure", default_queue="main")

    @app.cron("0 3 * * *", tz="Europe/Berlin", retries=0, overlap="skip", catch_up=True)
    def nightly() -> int:
        return 7

    assert nightly() == 7  # a plain call still runs the function
    name = f"{__name__}.test_cron_registers_a_task_and_an_entry.<locals>.nightly"
    assert app.tasks[name] is nightly and nightly.options.retries == 0
    (entry,) = entries(app)
    assert (entry.name, entry.expression, entry.tz) == (name, "0 3 * * *", "Europe/Berlin")
    assert entry.queue == "main"
    assert (entry.overlap, entry.catch_up) == ("skip", True)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"expression": "* * *"}, "five fields"),
        ({"tz": "Nowhere/Land"}, "unknown timezone"),
        ({"overlap": "queue"}, "overlap must be one of allow, skip"),
        ({"colour": "red"}, "unknown cron option"),
        ({"name": "two words"}, "invalid cron entry name"),
        ({"expression": "0 0 31 2 *"}, "never fires"),
    ],
)
def test_bad_entries_are_refused_at_registration(kwargs: dict[str, str], message: str) -> None:
    app = jobq.App("redis://127.0.0.1:1/0", namespace="pure")
    expression = kwargs.pop("expression", "* * * * *")
    with pytest.raises(ConfigError, match=message):
        app.cron(expression, **kwargs)(lambda: None)
    assert app.cron_entries == [] and app.tasks == {}


def test_a_cron_function_must_take_no_arguments_and_names_are_unique() -> None:
    app = jobq.App("redis://127.0.0.1:1/0", namespace="pure")

    def needs(x: int) -> None: ...

    with pytest.raises(ConfigError, match="takes no arguments"):
        app.cron("* * * * *")(needs)  # type: ignore[arg-type]
    app.cron("* * * * *", name="tick")(lambda: None)
    with pytest.raises(ConfigError, match="two cron entries are named 'tick'"):
        app.cron("*/2 * * * *", name="tick")(lambda: None)
