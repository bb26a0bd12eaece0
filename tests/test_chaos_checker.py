"""The chaos checker on synthetic histories: each kind of failure it must report is
reported (so a passing chaos run means something), and what at-least-once allows is not."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone
from pathlib import Path

import pytest

from benchmarks.chaos.checker import check, lease_may_lapse
from benchmarks.chaos.cronfacts import measure_within, subtract
from benchmarks.chaos.history import History, Run, Window, parse_records
from benchmarks.chaos.schedule import KINDS, make_schedule

VT = 6.0
OWNER, OTHER = 100, 200
TICK = "cron:chaos.tick:20260101T000010Z"


def clean() -> History:
    """Two jobs that each ran once and succeeded, one cron tick that ran; nothing wrong."""
    h = History(vt=VT, t0=0.0, enqueued=2, deadline=100.0, last_heal=60.0)
    h.acked = {"a": "chaos.sync", "b": "chaos.async"}
    h.fates = {"a": "succeeded", "b": "succeeded"}
    h.runs = [Run("a", OWNER, 1, 10.0, 10.1, "ok"), Run("b", OTHER, 1, 11.0, 11.2, "ok")]
    h.runs.append(Run(TICK, OWNER, 1, 10.0, 10.01, "ok"))
    h.lives = {OWNER: Window(0.0, 90.0), OTHER: Window(0.0, 90.0)}
    h.alive_at_end = [OWNER, OTHER]
    h.ticks = {TICK: 10.0}
    h.tick_fates = {TICK: "succeeded"}
    h.schedulers = [Window(0.0, 90.0)]
    return h


def second_run_of_a(h: History, start: float, attempt: int = 2) -> History:
    h.runs.append(Run("a", OTHER, attempt, start, start + 0.1, "ok"))
    return h


def test_a_clean_history_passes() -> None:
    verdict = check(clean())
    assert not verdict.failed, verdict.problems
    assert verdict.table["succeeded"] == 2 and verdict.table["cron ticks run"] == 1


def test_a_lost_job_is_reported() -> None:
    h = clean()
    h.acked["c"] = "chaos.write"
    h.fates["c"] = None
    verdict = check(h)
    assert verdict.failed and verdict.table["lost"] == 1
    assert any(p.startswith("lost: c ") and "never ran" in p for p in verdict.problems)


def test_a_stuck_job_is_reported() -> None:
    h = clean()
    h.fates["b"] = "running"
    verdict = check(h)
    assert verdict.failed and verdict.table["stuck"] == 1 and verdict.table["lost"] == 0


def test_a_second_run_while_the_owner_lived_is_an_illegal_duplicate() -> None:
    verdict = check(second_run_of_a(clean(), 20.0))
    assert verdict.failed and verdict.table["duplicates illegal"] == 1
    assert any("illegal duplicate: a:" in p and f"while pid {OWNER} lived" in p for p in verdict.problems)


def test_a_short_outage_does_not_excuse_a_duplicate() -> None:
    h = second_run_of_a(clean(), 20.0)
    h.outages = [Window(15.0, 16.0)]
    assert check(h).table["duplicates illegal"] == 1


def test_duplicates_at_least_once_allows_are_not_failures() -> None:
    dead_owner = second_run_of_a(clean(), 20.0)
    dead_owner.lives[OWNER] = Window(0.0, 19.9)
    dead_owner.alive_at_end = [OTHER]
    lapsed = second_run_of_a(clean(), 20.0)
    lapsed.outages = [Window(12.0, 17.0)]
    for h, why in ((dead_owner, "owner dead"), (lapsed, "lease lapsed")):
        verdict = check(h)
        assert not verdict.failed, verdict.problems
        assert verdict.table[f"duplicates allowed: {why}"] == 1


def test_a_retry_after_a_failed_run_is_no_duplicate() -> None:
    h = clean()
    h.runs[0] = Run("a", OWNER, 1, 10.0, 10.1, "fail")
    verdict = check(second_run_of_a(h, 10.5))
    assert not verdict.failed and verdict.table["re-runs expected (retry, timeout)"] == 1


def test_a_doubled_cron_tick_is_reported() -> None:
    h = clean()
    h.runs.append(Run(TICK, OTHER, 1, 10.2, 10.3, "ok"))
    verdict = check(h)
    assert verdict.failed and verdict.table["cron ticks doubled"] == 1


def test_a_missed_cron_tick_is_reported_unless_no_scheduler_could_fire_it() -> None:
    h = clean()
    h.ticks["cron:chaos.tick:20260101T000020Z"] = 20.0
    h.tick_fates["cron:chaos.tick:20260101T000020Z"] = None
    verdict = check(h)
    assert verdict.failed and verdict.table["cron ticks missed"] == 1
    h.outages = [Window(19.0, 26.0)]  # Redis out for the whole misfire grace
    verdict = check(h)
    assert not verdict.failed and verdict.table["cron ticks excused (no scheduler or Redis)"] == 1


def test_a_tick_skipped_for_a_later_one_is_missed_even_within_an_outage() -> None:
    """A later tick ran while this one was still due: some scheduler could fire it."""
    h = clean()
    h.wall_offset = datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()  # clock 0 = midnight
    h.ticks["cron:chaos.tick:20260101T000020Z"] = 20.0
    h.tick_fates["cron:chaos.tick:20260101T000020Z"] = None
    h.outages = [Window(19.0, 26.0)]
    h.runs.append(Run("cron:chaos.tick:20260101T000022Z", OWNER, 1, 24.5, 24.6, "ok"))
    verdict = check(h)
    assert verdict.failed and verdict.table["cron ticks missed"] == 1
    assert any("cron:chaos.tick:20260101T000020Z" in p for p in verdict.problems)


def test_lease_lapse_needs_an_outage_near_the_lease() -> None:
    assert not lease_may_lapse(Window(0.0, 1.0), VT)
    assert lease_may_lapse(Window(0.0, 3.0), VT)


def test_interval_arithmetic() -> None:
    spans = subtract([Window(0, 10)], [Window(2, 3), Window(9, 12)])
    assert spans == [Window(0, 2), Window(3, 9)]
    assert measure_within([*spans, Window(1, 4)], 0, 5) == pytest.approx(5.0)


def test_records_parse_into_runs_and_a_torn_line_is_ignored() -> None:
    text = "S a 1 1 10.00\nS b 1 1 10.50\nE a 1 1 10.20 ok\nS a 2 2 11.00\nE a 2"
    runs = parse_records(text)
    assert [(r.job, r.pid, r.end, r.outcome) for r in runs] == [
        ("a", 1, 10.2, "ok"),
        ("b", 1, None, None),
        ("a", 2, None, None),
    ]


def test_a_history_survives_a_round_trip_through_json(tmp_path: Path) -> None:
    h = second_run_of_a(clean(), 20.0)
    h.save(tmp_path / "history.json")
    again = History.load(tmp_path / "history.json")
    assert again == h and check(again).table == check(h).table


def test_the_schedule_is_replayable_and_heals_before_the_end() -> None:
    first, again = make_schedule(7, 60), make_schedule(7, 60)
    assert first == again != make_schedule(8, 60)
    assert {f.kind for f in first} == set(KINDS)
    assert all(f.at + f.duration <= 57 for f in first)
    redis = sorted((f.at, f.at + f.duration) for f in make_schedule(3, 1800) if f.kind.startswith("redis"))
    assert all(b[0] > a[1] for a, b in itertools.pairwise(redis))
    assert len(make_schedule(3, 1800)) >= 200
