"""The dashboard's pure parts: formatting, table fitting, rates from snapshots, the frame."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from jobq.dashboard import format as fmt
from jobq.dashboard.board import Board, Poll
from jobq.dashboard.cron_view import cron_rows, next_fire
from jobq.dashboard.model import Connection, History, Rates, merge_latency
from jobq.dashboard.table import Column, fit
from jobq.dashboard.views import (
    QUEUE_COLUMNS,
    dead_lines,
    detail_lines,
    render_frame,
    status_line,
)
from jobq.dlq import parse_entry
from jobq.stats import QueueStats, Snapshot, WorkerStats


def queue(name: str, backlog: int = 0, processed: int = 0, failed: int = 0, **kw: float) -> QueueStats:
    fields: dict[str, float] = {"in_flight": 0, "scheduled": 0, "dead": 0, "oldest_age_s": 0.0, **kw}
    return QueueStats(
        name=name,
        backlog=backlog,
        in_flight=int(fields["in_flight"]),
        scheduled=int(fields["scheduled"]),
        dead=int(fields["dead"]),
        processed=processed,
        failed=failed,
        oldest_age_s=fields["oldest_age_s"],
    )


def worker(
    pid: int,
    latency: dict[str, tuple[float, float]] | None = None,
    *,
    queues: tuple[str, ...] = ("default",),
    busy: int = 0,
    processed: int = 0,
    host: str = "web-1",
) -> WorkerStats:
    return WorkerStats(
        id=f"{host}:{pid}",
        host=host,
        pid=pid,
        queues=list(queues),
        busy=busy,
        concurrency=8,
        last_seen_s=1.0,
        processed=processed,
        latency_ms=latency or {},
    )


def snap(at: float, *queues: QueueStats, workers: list[WorkerStats] | None = None) -> Snapshot:
    return Snapshot(list(queues), workers or [], at)


# formatting ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "width", "text"),
    [(0, 7, "0"), (1234567, 7, "1234567"), (12345678, 7, "12.3M"), (123456, 5, "123k"), (99999, 5, "99999")],
)
def test_count_is_exact_while_it_fits(n: int, width: int, text: str) -> None:
    assert fmt.count(n, width) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "-"), (0.4, "0s"), (59, "59s"), (65, "1m05s"), (3725, "1h02m"), (2 * 86400 + 7200, "2d02h")],
)
def test_age(seconds: float | None, text: str) -> None:
    assert fmt.age(seconds) == text


@pytest.mark.parametrize(
    ("per_s", "text"), [(None, "-"), (0.0, "0"), (0.25, "0.2"), (12.4, "12"), (2500.0, "2.5k")]
)
def test_rate(per_s: float | None, text: str) -> None:
    assert fmt.rate(per_s) == text


@pytest.mark.parametrize(
    ("pair", "text"),
    [(None, "-"), ((12.0, 340.0), "12/340ms"), ((800.0, 4500.0), "0.8/4.5s"), ((60e3, 600e3), "1/10m")],
)
def test_latency_unit_follows_p95(pair: tuple[float, float] | None, text: str) -> None:
    assert fmt.latency(pair) == text


def test_sparkline_scales_to_the_largest_and_leaves_unknowns_blank() -> None:
    assert fmt.sparkline([None, 0.0, 1.0, 2.0, 4.0]) == " ▁▃▅█"
    assert fmt.sparkline([0.0, 0.0]) == "▁▁"
    assert fmt.sparkline([0.01, 100.0]) == "▂█"  # any activity shows above the floor


def test_sparkline_resamples_to_its_column() -> None:
    assert fmt.sparkline([1.0, 1.0, 4.0, 4.0], 2) == "▃█"
    assert fmt.sparkline([4.0], 3) == "  █"


def test_clip_marks_the_cut() -> None:
    assert fmt.clip("reports", 4) == "rep…"
    assert fmt.clip("abc", 3) == "abc"
    assert fmt.clip("abc", 0) == ""


# tables --------------------------------------------------------------------------------


def test_every_queue_column_fits_80_columns_but_the_flow_control_ones() -> None:
    fitted = fit(QUEUE_COLUMNS, 79)
    flow = ["priorities", "rate_deferred", "cap_deferred", "expiries"]  # all shown from 107 columns on
    assert [c.key for c in fitted.columns] == [c.key for c in QUEUE_COLUMNS if c.key not in flow]
    assert len(fitted.header()) <= 79
    assert [c.key for c in fit(QUEUE_COLUMNS, 107).columns] == [c.key for c in QUEUE_COLUMNS]


def test_columns_drop_in_declared_order_as_the_terminal_narrows() -> None:
    keys = [c.key for c in fit(QUEUE_COLUMNS, 60).columns]
    assert keys == ["name", "backlog", "in_flight", "scheduled", "dead", "ok_rate", "fail_rate", "oldest"]
    keys = [c.key for c in fit(QUEUE_COLUMNS, 50).columns]
    assert keys == ["name", "backlog", "in_flight", "dead", "ok_rate", "fail_rate"]
    assert [c.key for c in fit(QUEUE_COLUMNS, 16).columns] == ["name", "backlog"]


def test_spare_width_is_shared_by_growing_columns() -> None:
    columns = (Column("a", "A", 4, grow=10, left=True), Column("b", "B", 4, grow=30, left=True))
    fitted = fit(columns, 9 + 20)
    assert sum(fitted.widths) == 28
    assert fitted.widths[1] > fitted.widths[0] > 4


@pytest.mark.parametrize("width", [8, 12, 20, 33, 47, 60, 79, 80, 120, 159, 200])
def test_no_line_is_ever_wider_than_the_terminal(width: int) -> None:
    big = snap(1.0, queue("a-very-long-queue-name-indeed", 10**9), workers=[worker(1, host="h" * 300)])
    frame = board_with(big).frame(1.0)
    for line in render_frame(frame, width, 0.0):
        assert len(line) <= width


# rates from snapshots ------------------------------------------------------------------


def test_no_rates_before_two_snapshots() -> None:
    history = History()
    history.add(snap(100.0, queue("q", processed=5)))
    rates = history.rates("q")
    assert rates.processed is None and rates.failed is None
    assert set(rates.trend) == {None}


def test_rates_are_counter_growth_per_second() -> None:
    history = History(window_s=60, buckets=6)
    history.add(snap(100.0, queue("q", processed=0, failed=0)))
    history.add(snap(110.0, queue("q", processed=50, failed=10)))
    history.add(snap(120.0, queue("q", processed=150, failed=10)))
    rates = history.rates("q")
    assert rates.processed == pytest.approx(7.5)
    assert rates.failed == pytest.approx(0.5)
    # buckets of 10 s ending at 120: the last two hold 5/s and 10/s, the older ones nothing yet
    assert rates.trend == (None, None, None, None, pytest.approx(5.0), pytest.approx(10.0))


def test_a_counter_that_went_back_was_reset_and_counts_from_zero() -> None:
    history = History()
    history.add(snap(0.0, queue("q", processed=1000)))
    history.add(snap(10.0, queue("q", processed=20)))  # Redis lost its counters
    assert history.rates("q").processed == pytest.approx(2.0)


def test_rates_cover_only_the_last_minute() -> None:
    history = History(window_s=60, buckets=6)
    history.add(snap(0.0, queue("q", processed=0)))
    history.add(snap(60.0, queue("q", processed=6000)))  # a burst long ago
    for t in range(70, 190, 10):
        history.add(snap(float(t), queue("q", processed=6000)))
    assert history.rates("q").processed == 0.0


def test_a_queue_that_appears_later_gets_rates_from_then_on() -> None:
    history = History()
    history.add(snap(0.0, queue("old")))
    history.add(snap(5.0, queue("old"), queue("new", processed=3)))
    assert history.rates("new").processed is None
    history.add(snap(10.0, queue("old"), queue("new", processed=13)))
    assert history.rates("new").processed == pytest.approx(2.0)


def test_the_same_snapshot_twice_is_counted_once() -> None:
    history = History()
    history.add(snap(0.0, queue("q", processed=0)))
    history.add(snap(10.0, queue("q", processed=10)))
    history.add(snap(10.0, queue("q", processed=10)))
    history.add(snap(5.0, queue("q", processed=99)))
    assert history.rates("q").processed == pytest.approx(1.0)


def test_latency_merges_the_median_p50_and_the_worst_p95() -> None:
    workers = [
        worker(1, {"mail": (10.0, 100.0)}),
        worker(2, {"mail": (30.0, 900.0)}),
        worker(3, {"mail": (20.0, 200.0), "other": (1.0, 1.0)}),
        worker(4),
    ]
    assert merge_latency(workers, "mail") == (20.0, 900.0)
    assert merge_latency(workers, "nobody") is None


# connection ----------------------------------------------------------------------------


def test_connection_states() -> None:
    link = Connection()
    assert link.state(0.0, 3.0)[0] == "connecting"
    link.succeeded(1.0)
    assert link.state(2.0, 3.0) == ("live", "")
    assert link.state(10.0, 3.0)[0] == "disconnected"  # a poll hangs: silence reads as down
    link.failed(11.0, "cannot reach Redis at redis://x: Connection refused")
    link.failed(14.0, "cannot reach Redis at redis://x: Connection refused")
    state, detail = link.state(16.0, 3.0)
    assert state == "disconnected"
    assert detail == "for 5s, retrying: cannot reach Redis at redis://x: Connection refused"
    link.succeeded(17.0)
    assert link.state(17.5, 3.0) == ("live", "")


def test_status_line_puts_the_state_first() -> None:
    assert status_line("live", "", None, "ns jobq  redis://h:6379/0", 80).startswith("jobq  ● live")
    down = status_line("disconnected", "for 3s, retrying: boom", 1.0, "ns jobq", 30)
    assert down.startswith("jobq  ✖ disconnected") and len(down) == 30


# the frame -----------------------------------------------------------------------------


def board_with(*polls: Snapshot) -> Board:
    board = Board("ns jobq  redis://localhost:6379/0", 1.0)
    for i, s in enumerate(polls):
        board.record(Poll(s, None), None, float(i))
    return board


def test_frame_at_80_columns_shows_each_queue_with_its_backlog() -> None:
    workers = [worker(4242, {"mail": (12.0, 340.0)}, queues=("mail", "default"), busy=3, processed=1200)]
    board = board_with(
        snap(1000.0, queue("default"), queue("mail", 120, processed=0), workers=workers),
        snap(
            1010.0,
            queue("default"),
            queue("mail", 17, processed=100, failed=5, in_flight=3, dead=2, oldest_age_s=65.0),
            workers=workers,
        ),
    )
    lines = render_frame(board.frame(1.5), 80, time.time())
    assert all(len(line) <= 80 for line in lines)
    assert lines[0].startswith("jobq  ● live ")
    assert lines[2].split() == [
        "QUEUE",
        "BACKLOG",
        "RUN",
        "SCHED",
        "DEAD",
        "OK/s",
        "FAIL/s",
        "TREND",
        "OLDEST",
        "P50/P95",
    ]
    default, mail = lines[3].split(), lines[4].split()
    assert default[:7] + default[-2:] == ["default", "0", "0", "0", "0", "0", "0", "-", "-"]
    assert set(default[7]) == {"▁"}  # a flat trend
    assert mail[:7] + mail[-2:] == ["mail", "17", "3", "0", "2", "10", "0.5", "1m05s", "12/340ms"]
    assert set(mail[7]) == {"█"}
    assert lines[6].split() == ["WORKER", "PID", "QUEUES", "BUSY", "DONE", "SEEN"]
    assert lines[7].split() == ["web-1", "4242", "mail,default", "3/8", "1200", "1s"]


def test_frame_before_any_data_and_while_disconnected() -> None:
    board = Board("ns jobq", 1.0)
    assert render_frame(board.frame(0.0), 80, 0.0)[3] == "  no queues yet"
    board.record(Poll(snap(1.0, queue("mail", 7)), None), None, 1.0)
    board.record(None, "cannot reach Redis at redis://h:1/0: refused", 2.0)
    lines = render_frame(board.frame(4.0), 80, 0.0)
    assert "disconnected" in lines[0]
    assert lines[3].split()[:2] == ["mail", "7"]  # the last known numbers stay up


def test_frame_degrades_to_name_and_backlog_when_narrow() -> None:
    board = board_with(snap(1.0, queue("thumbnails", 31337)))
    lines = render_frame(board.frame(1.0), 20, 0.0)
    assert all(len(line) <= 20 for line in lines)
    assert lines[3].split() == ["thumbnails", "31337"]


def test_rates_in_the_frame_come_from_the_board_history() -> None:
    board = board_with(snap(0.0, queue("q")), snap(4.0, queue("q", processed=8, failed=4)))
    (row,) = board.frame(5.0).queues
    assert row.rates == Rates(2.0, 1.0, row.rates.trend)


# dead letters and cron -----------------------------------------------------------------


def dead_entry(job_id: str, payload: str | None = None) -> tuple[str, dict[str, str]]:
    details = {
        "id": job_id,
        "task": "mail.send",
        "queue": "mail",
        "reason": "retries exhausted",
        "error": "ValueError: mailbox a@b.c does not exist",
        "traceback": 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: mailbox',
        "attempts": 4,
        "worker": "web-1:42",
        "host": "web-1",
        "time": 1_700_000_000.0,
    }
    envelope = json.dumps({"id": job_id, "t": "mail.send", "a": ["a@b.c"], "k": {"fail": True}, "e": 1.0})
    return "1700000000000-0", {"j": envelope if payload is None else payload, "d": json.dumps(details)}


def test_dead_letter_list_and_detail() -> None:
    letter = parse_entry(*dead_entry("abc123"))
    head, line = dead_lines([letter], 1_700_000_100.0, 80)
    assert head.split()[:3] == ["DEAD", "AT", "JOB"]
    assert line.split()[1:3] == ["abc123", "mail.send"]
    assert "ValueError: mailbox" in line
    detail = "\n".join(detail_lines(letter, "mail"))
    assert "job       abc123" in detail
    assert '"a@b.c"' in detail and '"fail": true' in detail
    assert "Traceback (most recent call last):" in detail and "attempts  4" in detail


def test_detail_of_an_undecodable_payload_says_it_cannot_be_requeued() -> None:
    letter = parse_entry(*dead_entry("", payload="{not json"))
    assert "cannot be requeued" in "\n".join(detail_lines(letter, "mail"))


@dataclass
class Entry:
    """Shaped like a cron entry: a name, an expression and a zone."""

    name: str
    expression: str
    tz: str = "UTC"


def test_cron_rows_show_the_next_fire_time_soonest_first() -> None:
    now = 1_700_000_000.0  # 22:13:20 UTC
    rows = cron_rows(
        [Entry("hourly", "0 * * * *"), Entry("every-10s", "* * * * * */10"), Entry("broken", "not cron")], now
    )
    assert [r.name for r in rows] == ["every-10s", "hourly", "broken"]
    assert rows[0].next_at == now + 10
    assert rows[1].next_at == 1_700_002_800.0
    assert rows[2].next_at is None


@dataclass
class EntryWithItsOwnClock(Entry):
    """An entry that computes its next tick itself (the scheduler's rules win)."""

    def next_tick(self, after: datetime) -> datetime:
        return after + timedelta(seconds=42)


def test_an_entry_that_knows_its_next_tick_is_asked() -> None:
    (row,) = cron_rows([EntryWithItsOwnClock("custom", "0 * * * *")], 1_700_000_000.0)
    assert row.next_at == 1_700_000_042.0


def test_next_fire_respects_the_zone() -> None:
    now = 1_700_000_000.0
    assert next_fire("0 0 * * *", "Asia/Tokyo", now) == 1_700_060_400.0  # 00:00 JST = 15:00 UTC
