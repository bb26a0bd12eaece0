"""The live full-screen dashboard (Textual): queues, workers, cron; keys to drill in.

All numbers come from `Board.frame()` and all text from `views`, so this module only
places lines on the screen and routes keys.
"""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual.app import App as TextualApp
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from jobq.dashboard import views
from jobq.dashboard.background import Outcome, Polled, Poller
from jobq.dashboard.board import Board
from jobq.dashboard.job_view import JobIdScreen, JobScreen
from jobq.dashboard.screens import DeadLettersScreen
from jobq.dashboard.source import Source

CSS = """
#status, #dead-title { height: 1; background: $primary-background; color: $text; }
#status.-down { background: $error; color: $text; text-style: bold; }
.head { height: 1; text-style: bold; color: $text-accent; }
.section { margin-top: 1; }
OptionList { border: none; padding: 0; background: $background; scrollbar-size-vertical: 1; }
OptionList:focus { border: none; background-tint: $foreground 0%; }
#queues { height: auto; max-height: 50%; }
#worker-box { height: 1fr; scrollbar-size-vertical: 1; }
#cron-box { height: auto; max-height: 25%; scrollbar-size-vertical: 1; }
Static { text-wrap: nowrap; }
.data.-stale { color: $text-disabled; }
"""


def text(lines: list[str]) -> Text:
    return Text("\n".join(lines), no_wrap=True, overflow="crop")


class DashboardApp(TextualApp[None]):
    """`jobq dashboard`: redraws every refresh; Redis outages show in the top line."""

    CSS = CSS
    TITLE = "jobq dashboard"
    ENABLE_COMMAND_PALETTE = False
    AUTO_FOCUS = "#queues"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "quit"),
        Binding("ctrl+c", "quit", "quit", show=False, priority=True),
        Binding("d", "dead_letters", "dead letters"),
        Binding("j", "open_job", "job"),
    ]

    def __init__(self, source: Source, refresh_s: float) -> None:
        super().__init__()
        self.source = source
        self.refresh_s = refresh_s
        self.board = Board(source.where, refresh_s)
        self.poller = Poller(self, source.poll, refresh_s)
        self.status_bar = Static(id="status", markup=False)
        self.queue_header = Static(id="queue-head", classes="head", markup=False)
        self.queue_list = OptionList(id="queues", classes="data", markup=False, compact=True)
        self.cron_header = Static(id="cron-head", classes="head section", markup=False)
        self.cron_list = Static(id="cron", classes="data", markup=False)
        self.worker_header = Static(id="worker-head", classes="head section", markup=False)
        self.worker_list = Static(id="workers", classes="data", markup=False)

    def compose(self) -> ComposeResult:
        yield self.status_bar
        yield self.queue_header
        yield self.queue_list
        if self.source.show_cron:
            yield self.cron_header
            with VerticalScroll(id="cron-box", can_focus=False):
                yield self.cron_list
        yield self.worker_header
        with VerticalScroll(id="worker-box", can_focus=False):
            yield self.worker_list
        yield Footer()

    def on_mount(self) -> None:
        self.poller.start()
        self.set_interval(1.0, self.redraw)  # keeps "no answer for Ns" current while a poll hangs
        self.redraw()

    def on_unmount(self) -> None:
        self.poller.stop()

    def on_polled(self, message: Polled) -> None:
        self.board.record(message.result.value, message.result.error, message.at)
        self.redraw()

    def on_outcome(self, message: Outcome) -> None:
        message.apply(message.result)

    def on_resize(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        if not self.status_bar.is_attached:  # shutting down: the widgets are gone
            return
        frame = self.board.frame(time.monotonic())
        width = max(10, self.size.width - 1)  # one cell for a scrollbar
        self.status_bar.update(
            views.status_line(frame.state, frame.detail, frame.taken_at, frame.where, width + 1)
        )
        down = frame.state == "disconnected"
        self.status_bar.set_class(down, "-down")
        for data in (
            self.queue_list,
            self.worker_list,
            self.cron_list,
        ):  # last numbers stay, dimmed, while down
            data.set_class(down, "-stale")
        head, *rows = views.queue_lines(frame.queues, width)
        self.queue_header.update(head)
        self._show_queues(rows, [r.stats.name for r in frame.queues])
        worker_head, *workers = views.worker_lines(frame.workers, width, frame.start_failures)
        self.worker_header.update(worker_head)
        self.worker_list.update(text(workers))
        if frame.cron is not None:
            cron_head, *cron = views.cron_lines(frame.cron, time.time(), width)
            self.cron_header.update(cron_head)
            self.cron_list.update(text(cron))

    def _show_queues(self, lines: list[str], names: list[str]) -> None:
        """Refresh the queue list in place, keeping the picked queue picked."""
        picker = self.queue_list
        if names and [o.id for o in picker.options] == names:
            for i, line in enumerate(lines):
                picker.replace_option_prompt_at_index(i, Text(line, no_wrap=True))
            return
        picked = self.picked_queue()
        if names:
            picker.set_options(
                Option(Text(line, no_wrap=True), id=n) for line, n in zip(lines, names, strict=True)
            )
        else:
            picker.set_options(Option(Text(line), disabled=True) for line in lines)
        picker.highlighted = names.index(picked) if picked in names else (0 if names else None)

    def picked_queue(self) -> str | None:
        option = self.queue_list.highlighted_option
        return option.id if option is not None else None

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "queues":
            event.stop()
            self.action_dead_letters()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`d` belongs to the main screen: hidden on the others (no stacking of lists)."""
        if action in ("dead_letters", "open_job"):
            return self.screen is self.default_screen
        return True

    def action_dead_letters(self) -> None:
        queue = self.picked_queue()
        if queue is None:
            self.notify("no queue to open yet", severity="warning")
            return
        self.push_screen(DeadLettersScreen(self.source, self.board, queue, self.refresh_s))

    def action_open_job(self) -> None:
        def opened(job_id: str | None) -> None:
            if job_id:
                self.push_screen(JobScreen(self.source, job_id))

        self.push_screen(JobIdScreen(), opened)

    def refresh_now(self) -> None:
        self.poller.wake()
