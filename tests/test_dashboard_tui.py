"""The live dashboard driven headless (Textual's Pilot) against a real Redis: keys and screens."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import OptionList, Static

import jobq
from jobq import stats
from jobq.dashboard.screens import ConfirmScreen, DeadLetterScreen, DeadLettersScreen
from jobq.dashboard.source import Source
from jobq.dashboard.tui import DashboardApp
from tests.support.inproc import work_until
from tests.support.redis_server import RedisServer

DEADLINE = 15.0


def visible_text(tui: DashboardApp) -> str:
    """The text of every Static and list row on the active screen, top to bottom."""
    parts: list[str] = []
    for widget in tui.screen.query("Static, OptionList"):
        if isinstance(widget, OptionList):
            parts += [str(option.prompt) for option in widget.options]
        elif isinstance(widget, Static):
            parts.append(str(widget.content))
    return "\n".join(parts)


def line_of(tui: DashboardApp, first_word: str) -> list[str]:
    for line in visible_text(tui).splitlines():
        words = line.split()
        if words and words[0] == first_word:
            return words
    return []


async def until(pilot: Pilot[Any], condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {DEADLINE}s waiting for {what}")
        await pilot.pause(0.05)


def drive(
    app: jobq.App,
    size: tuple[int, int],
    script: Callable[[DashboardApp, Pilot[Any]], Awaitable[None]],
    *,
    from_app: bool = False,
) -> None:
    async def go() -> None:
        tui = DashboardApp(Source(app, from_app=from_app), refresh_s=0.2)
        async with tui.run_test(size=size) as pilot:
            await script(tui, pilot)

    asyncio.run(go())


def dead_count(app: jobq.App, queue: str) -> int:
    (q,) = stats.snapshot(app.broker, [queue]).queues
    return q.dead


@pytest.fixture
def failing_mail(app: jobq.App) -> list[jobq.Job[Any]]:
    """Three jobs of queue `mail` dead-lettered by a real worker, plus a backlog in `reports`."""

    @app.task(name="mail.send", queue="mail", retries=0)
    def send(to: str, subject: str = "hi") -> None:
        raise ValueError(f"mailbox {to} does not exist")

    @app.task(name="report.build", queue="reports")
    def build(n: int) -> int:
        return n

    jobs = [send.delay(f"user{i}@example.org", subject="welcome") for i in range(3)]
    work_until(app, lambda: dead_count(app, "mail") == 3, queues=["mail"])
    for i in range(5):
        build.delay(i)
    return jobs


def test_main_screen_shows_every_queue_with_its_backlog(app: jobq.App, failing_mail: list[Any]) -> None:
    async def script(tui: DashboardApp, pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: line_of(tui, "reports"), "the reports queue on screen")
        assert line_of(tui, "reports")[1] == "5"
        assert line_of(tui, "mail")[1:5] == ["0", "0", "0", "3"]  # backlog, in flight, scheduled, dead
        assert "● live" in visible_text(tui)

    drive(app, (80, 24), script)


def test_pick_a_queue_inspect_a_dead_job_requeue_it_and_purge_the_rest(
    app: jobq.App, failing_mail: list[jobq.Job[Any]]
) -> None:
    address = {job.id: f"user{i}@example.org" for i, job in enumerate(failing_mail)}
    picked: list[jobq.Job[Any]] = []

    async def script(tui: DashboardApp, pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: tui.picked_queue() is not None, "queues listed")
        while tui.picked_queue() != "mail":
            await pilot.press("down")
        await pilot.press("d")
        assert isinstance(tui.screen, DeadLettersScreen)
        await until(pilot, lambda: len(tui.screen.letters) == 3, "three dead letters listed")  # type: ignore[attr-defined]
        await pilot.press("d")  # the main screen's key: no second list on top of this one
        assert len(tui.screen_stack) == 2
        oldest = tui.screen.letters[0].id  # type: ignore[attr-defined]
        first = app.job(oldest)
        picked.append(first)
        assert oldest[:11] in visible_text(tui)  # ids are cut to fit 80 columns

        await pilot.press("enter")  # inspect the highlighted one: the oldest
        assert isinstance(tui.screen, DeadLetterScreen)
        detail = visible_text(tui)
        assert f"job       {oldest}" in detail
        assert f"ValueError: mailbox {address[oldest]} does not exist" in detail
        assert "Traceback (most recent call last):" in detail
        assert f'"{address[oldest]}"' in detail and '"subject": "welcome"' in detail

        await pilot.press("r")
        assert isinstance(tui.screen, ConfirmScreen)
        await pilot.press("y")
        await until(pilot, lambda: first.status() == "queued", "the requeued job to be queued")
        await until(pilot, lambda: isinstance(tui.screen, DeadLettersScreen), "back on the list")
        await until(pilot, lambda: len(tui.screen.letters) == 2, "the list to lose it")  # type: ignore[attr-defined]
        assert dead_count(app, "mail") == 2

        await pilot.press("p")
        await pilot.press("n")  # a no keeps everything
        assert isinstance(tui.screen, DeadLettersScreen)
        assert dead_count(app, "mail") == 2
        await pilot.press("p")
        await pilot.press("x")  # so does any answer but y, as with `jobq dlq purge`
        assert isinstance(tui.screen, DeadLettersScreen)
        assert dead_count(app, "mail") == 2
        await pilot.press("p")
        await pilot.press("y")
        await until(pilot, lambda: dead_count(app, "mail") == 0, "the purge")
        await until(pilot, lambda: "no dead letters" in visible_text(tui), "an empty list")

        await pilot.press("escape")
        await until(pilot, lambda: line_of(tui, "mail")[1:5] == ["1", "0", "0", "0"], "fresh numbers")
        await pilot.press("q")

    drive(app, (80, 24), script)
    (q,) = stats.snapshot(app.broker, ["mail"]).queues
    assert q.backlog == 1  # the requeued job waits for a worker under its own id
    assert picked[0].status() == "queued"


def test_a_dead_job_whose_payload_cannot_be_decoded_is_not_requeued(app: jobq.App) -> None:
    k = app.broker.queue_keys("mail")
    details = {
        "id": "",
        "task": "",
        "queue": "mail",
        "reason": "undecodable payload",
        "error": "bad json",
        "traceback": "",
        "attempts": 1,
        "worker": "w",
        "host": "h",
        "time": time.time(),
    }
    client = app.broker.client
    client.sadd(app.broker.ns.queues, "mail")
    client.xadd(k.dead, {"j": "{not json", "d": json.dumps(details)})

    async def script(tui: DashboardApp, pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: tui.picked_queue() == "mail", "the mail queue")
        await pilot.press("enter")
        await until(pilot, lambda: len(tui.screen.letters) == 1, "the dead letter")  # type: ignore[attr-defined]
        await pilot.press("r")
        assert isinstance(tui.screen, DeadLettersScreen)  # no question asked: nothing to do
        await pilot.press("enter")
        assert "cannot be requeued" in visible_text(tui)

    drive(app, (80, 24), script)
    assert dead_count(app, "mail") == 1


@pytest.mark.parametrize("size", [(40, 12), (24, 8)])
def test_narrow_terminals_still_show_names_and_backlogs(
    app: jobq.App, failing_mail: list[Any], size: tuple[int, int]
) -> None:
    async def script(tui: DashboardApp, pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: line_of(tui, "reports")[1:2] == ["5"], "reports with its backlog")
        assert all(len(line) <= size[0] for line in visible_text(tui).splitlines())

    drive(app, size, script)


@dataclass
class CronEntry:
    """Shaped like the App's cron entries: a name, an expression and a zone."""

    name: str
    expression: str
    tz: str = "UTC"


def test_with_an_app_its_queues_and_cron_entries_show(app: jobq.App) -> None:
    @app.task(name="report.build", queue="reports")
    def build() -> None: ...

    app.cron_entries.append(CronEntry("nightly-report", "0 3 * * *"))
    app.cron_entries.append(CronEntry("every-ten-seconds", "* * * * * */10"))

    async def script(tui: DashboardApp, pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: line_of(tui, "every-ten-seconds"), "the cron rows")
        soonest = line_of(tui, "every-ten-seconds")
        assert soonest[-1].endswith("s") and int(soonest[-1][:-1]) <= 10  # next fire "in 7s"
        assert line_of(tui, "nightly-report")[1:6] == ["0", "3", "*", "*", "*"]
        assert line_of(tui, "reports")[:2] == ["reports", "0"]  # the app's queue, never used yet

    drive(app, (80, 24), script, from_app=True)


def test_a_hung_redis_reads_as_disconnected_while_keys_keep_working(
    private_redis: Callable[..., RedisServer], namespace: str
) -> None:
    server = private_redis()
    app = jobq.App(server.url, namespace=namespace)
    app.submit("report.build", [], queue="mail")

    async def script(tui: DashboardApp, pilot: Pilot[Any]) -> None:
        await until(pilot, lambda: line_of(tui, "mail")[:2] == ["mail", "1"], "the mail queue")
        server.stop()  # SIGSTOP: connections stay open, nothing answers
        try:
            await until(pilot, lambda: "✖ disconnected" in visible_text(tui), "the screen to notice")
            assert line_of(tui, "mail")[:2] == ["mail", "1"]  # the last numbers stay up
            await pilot.press("d")  # the UI thread never waits on Redis
            assert isinstance(tui.screen, DeadLettersScreen)
            await pilot.press("escape")
        finally:
            server.resume()
        await until(pilot, lambda: "● live" in visible_text(tui), "the screen to recover")

    drive(app, (80, 24), script)
