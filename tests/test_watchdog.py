"""The watchdog's decision (issue 11, item 2), table-tested without Redis: which held
entries are stalled, and that a stall past the visibility timeout is reported once."""

from __future__ import annotations

from typing import Any

import pytest
from structlog.testing import capture_logs

from jobq import explain, stats
from jobq.dashboard import views
from jobq.envelope import Envelope
from jobq.worker.held import Held
from jobq.worker.outage import BACKOFF_MAX, Outage
from jobq.worker.watchdog import NOTICE_S, Census, Watchdog, census, renewable, stall_s, stalls

NOW = 1000.0


def held(job_id: str = "j", *, received: float = NOW, **state: Any) -> Held:
    env = Envelope(job_id, "t", (), {}, 0.0)
    h = Held("default", f"{job_id}-0", "", env, None, 1, received, received)  # type: ignore[arg-type]
    for name, value in state.items():
        setattr(h, name, value)
    return h


def outage(*, down: bool = False, recovered_at: float = -5.0) -> Outage:
    o = Outage()
    o.since = NOW - 1 if down else None
    o.recovered_at = recovered_at
    return o


@pytest.mark.parametrize(
    ("entry", "free", "freed_at", "o", "expected"),
    [
        # waiting to start: a stall only while a slot is free, counted from when it came free
        (held(received=NOW - 10), True, 0.0, outage(), 10.0),
        (held(received=NOW - 10), False, 0.0, outage(), 0.0),
        (held(received=NOW - 10), True, NOW - 2, outage(), 2.0),
        (held(received=NOW - 10), True, 0.0, outage(down=True), 10.0),  # starting needs no Redis
        # running: its own timeout bounds it, never a stall
        (held(received=NOW - 99, started=NOW - 99), True, 0.0, outage(), 0.0),
        # finished, outcome unwritten: a stall while Redis answers, after one settle backoff
        (held(started=NOW - 30, finished=True, finished_at=NOW - 20), True, 0.0, outage(), 20 - BACKOFF_MAX),
        (held(started=NOW - 30, finished=True, finished_at=NOW - 20), True, 0.0, outage(down=True), 0.0),
        (
            held(started=NOW - 30, finished=True, finished_at=NOW - 20),
            True,
            0.0,
            outage(recovered_at=NOW - 8),
            8 - BACKOFF_MAX,
        ),
        (held(started=NOW - 3, finished=True, finished_at=NOW - 2), True, 0.0, outage(), 0.0),
        # lost to another worker: not ours to move on
        (held(received=NOW - 10, lost=True), True, 0.0, outage(), 0.0),
    ],
)
def test_stall_of_one_entry(entry: Held, free: bool, freed_at: float, o: Outage, expected: float) -> None:
    assert stall_s(entry, NOW, free, freed_at, o) == pytest.approx(expected)


def test_census_counts_what_is_held_and_names_the_entries_that_stall() -> None:
    entries = [
        held("r", started=NOW - 1),
        held("w1", received=NOW - 4),
        held("w2", received=NOW - 0.5),
        held("f", started=NOW - 9, finished=True, finished_at=NOW - BACKOFF_MAX - 0.5),
        held("p", received=NOW - 30, finished=True, finished_at=NOW - 1),  # released unrun (paused)
    ]
    c = census(stalls(entries, 2, 0.0, outage(), NOW))
    assert (c.held, c.ready, c.running, c.unsettled) == (5, 2, 1, 2)
    assert c.stalled == ("w1",)  # w2 is younger than NOTICE_S, f is inside its settle backoff
    assert c.worst_s == pytest.approx(4.0)
    assert [h.env.id for h in renewable(stalls(entries, 2, 0.0, outage(), NOW))] == ["r", "w2", "f", "p"]
    full = census(stalls(entries, 1, 0.0, outage(), NOW))
    assert full.stalled == () and full.worst_s == pytest.approx(0.5)  # only f: no slot is free
    assert NOTICE_S < 4


def test_the_watchdog_reports_a_wedge_once_with_the_counts() -> None:
    dog = Watchdog("h:1", visibility_timeout=5.0)
    quiet = Census(held=4, ready=4, running=0, unsettled=0, stalled=("a",), worst_s=5.0)
    wedged = Census(held=4, ready=4, running=0, unsettled=0, stalled=("a", "b"), worst_s=5.5)
    with capture_logs() as logs:
        assert not dog.wedged(wedged)  # one look could be a blocked event loop catching up
        assert not dog.wedged(quiet)
        assert not dog.wedged(wedged)
        assert dog.wedged(wedged)
        assert not dog.wedged(wedged)
    assert [e["event"] for e in logs] == ["worker.wedged"]
    event = logs[0]
    assert event["log_level"] == "error"
    assert (event["held"], event["ready"], event["running"], event["unsettled"]) == (4, 4, 0, 0)
    assert event["worker"] == "h:1" and event["stalled"] == 2 and event["stalled_s"] == 5.5


# what the surfaces make of a heartbeat with held, ready and stalled ----------------------

BEAT = {
    "id": "h:7",
    "host": "h",
    "pid": "7",
    "queues": '["default"]',
    "busy": "0",
    "concurrency": "4",
    "held": "4",
    "ready": "4",
    "stalled": '["a", "b", "c", "d"]',
}


def test_stats_carry_held_ready_and_stalled_and_keep_every_contract_key() -> None:
    w = stats.worker_stats(BEAT, beat_ms=9000, now=10.0)
    assert (w.held, w.ready, w.stalled) == (4, 4, ("a", "b", "c", "d"))
    out = stats.worker_json(w)
    assert (out["held"], out["ready"], out["stalled"]) == (4, 4, 4)
    contract = {"id", "host", "pid", "queues", "busy", "concurrency", "last_seen_s"}
    assert contract <= set(out)
    assert stats.stalled_notes([w]) == [
        "worker h:7 holds 4 job(s) it is not running (held 4, waiting 4, busy 0/4)"
    ]
    old = stats.worker_stats({"id": "h:8", "stalled": "{garbage"}, beat_ms=9000, now=10.0)
    assert (old.held, old.ready, old.stalled) == (0, 0, ()) and stats.stalled_notes([old]) == []


def test_the_dashboard_names_a_worker_holding_jobs_it_does_not_run() -> None:
    w = stats.worker_stats(BEAT, beat_ms=9000, now=10.0)
    lines = views.worker_lines([w], 80)
    assert "  ⚠ worker h:7 holds 4 job(s) it is not running (held 4, waiting 4, busy 0/4)" in lines
    calm = stats.worker_stats({**BEAT, "stalled": "[]"}, beat_ms=9000, now=10.0)
    assert not any("⚠" in line for line in views.worker_lines([calm], 80))


def test_explain_names_the_worker_that_holds_the_job_without_running_it() -> None:
    env = Envelope("a", "t", (), {}, NOW - 10)
    base = {"id": "a", "queue": "default", "now": NOW, "envelope": env, "worker": "h:7", "worker_host": "h"}
    f = explain.JobFacts(state="running", worker_alive=True, worker_pid=7, stalled=4, deliveries=1, **base)
    lines = explain.explain(f)
    assert lines[1].startswith("held by worker h:7 (host h, pid 7) but not running, attempt 1")
    assert "holds 4 job(s) it is not running" in lines[2] and "another worker takes them over" in lines[2]
    running = explain.JobFacts(state="running", worker_alive=True, worker_pid=7, deliveries=1, **base)
    assert explain.explain(running)[1].startswith("running on worker h:7")
