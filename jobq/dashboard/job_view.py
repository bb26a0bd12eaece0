"""The dashboard's job view: `j`, a job id, and what `jobq explain` says of it (where it
is, its progress, and for a workflow's job which workflow, how far, and what it waits on),
read again on `r`."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, Static

from jobq.dashboard.background import in_background
from jobq.dashboard.source import Result, Source


class JobIdScreen(ModalScreen[str]):
    """Asks for a job id; escape (or an empty id) opens nothing."""

    AUTO_FOCUS = "#job-id"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "back")]

    def compose(self) -> ComposeResult:
        yield Static("open job (id, then enter):", markup=False)
        yield Input(placeholder="job id", id="job-id")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss("")


class JobScreen(Screen[None]):
    """One job, as `jobq explain` describes it."""

    AUTO_FOCUS = "VerticalScroll"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "app.pop_screen", "back"),
        Binding("r", "reload", "reload"),
    ]

    def __init__(self, source: Source, job_id: str) -> None:
        super().__init__()
        self.source = source
        self.job_id = job_id
        self.lines: list[str] = []
        self.body = Static(Text("loading"), markup=False)

    def compose(self) -> ComposeResult:
        yield Static(f"job {self.job_id}", classes="head", markup=False)
        with VerticalScroll():
            yield self.body
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        in_background(self, lambda: self.source.job_lines(self.job_id), self._show)

    def _show(self, result: Result) -> None:
        self.lines = list(result.value) if result.error is None else [result.error]
        self.body.update(Text("\n".join(self.lines)))
