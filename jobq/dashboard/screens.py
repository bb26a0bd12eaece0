"""The dashboard's drill-down screens: a queue's dead letters, one dead job, confirmation."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from jobq.dashboard import format as fmt
from jobq.dashboard import views
from jobq.dashboard.background import in_background
from jobq.dashboard.board import Board
from jobq.dashboard.source import Result, Source
from jobq.dlq import DeadJob

if TYPE_CHECKING:
    from collections.abc import Callable


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question; anything but `y` is a no."""

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 70; max-width: 100%; height: auto; border: thick $warning;
                               background: $surface; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "yes"),
        Binding("n", "answer(False)", "no"),
        Binding("escape", "answer(False)", "no", show=False),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, markup=False)
            yield Static("[y] yes    [n] no", markup=False)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    def on_key(self, event: events.Key) -> None:
        """Any other key is a no too, as on the command line: the question never lingers."""
        if event.key not in ("y", "n", "escape"):
            event.stop()
            event.prevent_default()
            self.dismiss(False)


class DeadLetterScreen(Screen[None]):
    """One dead job: arguments, error and traceback; `r` replays it."""

    AUTO_FOCUS = "VerticalScroll"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "app.pop_screen", "back"),
        Binding("r", "requeue", "requeue"),
    ]

    def __init__(self, letter: DeadJob, queue: str, requeue: Callable[[DeadJob], None]) -> None:
        super().__init__()
        self.letter = letter
        self.queue = queue
        self.requeue = requeue

    def compose(self) -> ComposeResult:
        yield Static(f"dead job {self.letter.id} of queue {self.queue}", classes="head", markup=False)
        with VerticalScroll():
            yield Static(Text("\n".join(views.detail_lines(self.letter, self.queue))), markup=False)
        yield Footer()

    def action_requeue(self) -> None:
        self.requeue(self.letter)


class DeadLettersScreen(Screen[None]):
    """A queue's dead letters, oldest first; inspect, requeue one, or purge them all."""

    AUTO_FOCUS = "#letters"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "app.pop_screen", "back"),
        Binding("r", "requeue", "requeue"),
        Binding("p", "purge", "purge all"),
    ]

    def __init__(self, source: Source, board: Board, queue: str, refresh_s: float) -> None:
        super().__init__()
        self.source = source
        self.board = board
        self.queue = queue
        self.refresh_s = refresh_s
        self.letters: list[DeadJob] = []
        self.loading = False
        self.stale = False  # a reload was asked for while one was running
        self.error: str | None = None
        self.title_bar = Static(id="dead-title", markup=False)
        self.header = Static(id="dead-head", classes="head", markup=False)
        self.letter_list = OptionList(id="letters", markup=False, compact=True)

    def compose(self) -> ComposeResult:
        yield self.title_bar
        yield self.header
        yield self.letter_list
        yield Footer()

    def on_mount(self) -> None:
        self.title_bar.update(f"dead letters of queue {self.queue}: loading")
        self.reload()
        self.set_interval(max(self.refresh_s, 1.0), self.reload)

    def _alive(self) -> bool:
        return self in self.app.screen_stack

    def reload(self) -> None:
        if self.loading:
            self.stale = True
            return
        self.loading = True
        in_background(self.app, lambda: self.source.dead_letters(self.queue), self._loaded)

    def _loaded(self, result: Result) -> None:
        self.loading = False
        if not self._alive():
            return
        if self.stale:
            self.stale = False
            self.reload()
        self.error = result.error
        if result.error is None:
            self.letters = list(result.value)
        self._show()

    def _title(self) -> str:
        stats = self.board.queue(self.queue)
        more = f" of {stats.dead}" if stats and stats.dead > len(self.letters) else ""
        text = f"dead letters of queue {self.queue}: {len(self.letters)}{more}, oldest first (enter: inspect)"
        return f"{text}  ✖ {self.error}" if self.error else text

    def _show(self) -> None:
        if not self.title_bar.is_attached:
            return
        width = max(10, self.app.size.width - 1)
        self.title_bar.update(fmt.clip(self._title(), width + 1))
        head, *rows = views.dead_lines(self.letters, time.time(), width)
        self.header.update(head)
        picker = self.letter_list
        picked = picker.highlighted_option.id if picker.highlighted_option else None
        ids = [d.entry_id for d in self.letters]
        if self.letters:
            picker.set_options(
                Option(Text(line, no_wrap=True), id=i) for line, i in zip(rows, ids, strict=True)
            )
        else:
            picker.set_options([Option(Text(rows[0]), disabled=True)])
        picker.highlighted = ids.index(picked) if picked in ids else (0 if ids else None)

    def on_resize(self) -> None:
        self._show()

    def picked(self) -> DeadJob | None:
        option = self.letter_list.highlighted_option
        return next((d for d in self.letters if option and d.entry_id == option.id), None)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        letter = self.picked()
        if letter is not None:
            self.app.push_screen(DeadLetterScreen(letter, self.queue, self.requeue))

    def action_requeue(self) -> None:
        letter = self.picked()
        if letter is not None:
            self.requeue(letter)

    def requeue(self, letter: DeadJob) -> None:
        """Ask, then replay one dead job; back to this list when done."""
        if letter.envelope is None or not letter.id:
            self.app.notify(
                "this job's payload cannot be decoded, so it cannot be requeued", severity="error"
            )
            return

        def answered(yes: bool | None) -> None:
            if yes:
                in_background(self.app, lambda: self.source.requeue(self.queue, letter), done)

        def done(result: Result) -> None:
            if result.error:
                self.app.notify(f"requeue failed: {result.error}", severity="error")
            elif result.value is None:
                self.app.notify(f"requeued job {letter.id}")
            else:
                self.app.notify(f"job {letter.id} not requeued: {result.value}", severity="warning")
            self._after_change()

        question = f"Requeue job {letter.id} ({letter.task}) of queue {self.queue}?"
        self.app.push_screen(ConfirmScreen(question), answered)

    def action_purge(self) -> None:
        stats = self.board.queue(self.queue)
        count = f"all {stats.dead}" if stats else "all"

        def answered(yes: bool | None) -> None:
            if yes:
                in_background(self.app, lambda: self.source.purge(self.queue), done)

        def done(result: Result) -> None:
            if result.error:
                self.app.notify(f"purge failed: {result.error}", severity="error")
            else:
                self.app.notify(f"purged {result.value} dead letters of queue {self.queue}")
            self._after_change()

        question = f"Purge {count} dead letters of queue {self.queue}? They cannot be recovered."
        self.app.push_screen(ConfirmScreen(question), answered)

    def _after_change(self) -> None:
        """Back on this list, with fresh entries and fresh numbers on the main screen."""
        while self.app.screen is not self and self._alive():
            self.app.pop_screen()
        refresh_now = getattr(self.app, "refresh_now", None)
        if refresh_now is not None:
            refresh_now()
        self.reload()
