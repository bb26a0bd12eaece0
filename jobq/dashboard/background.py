"""Redis calls off the UI thread, so a hung or restarting Redis never freezes the screen.

Results come back as messages (Textual's post_message is thread-safe). Threads are
daemons: quitting never waits for a call stuck on a dead connection.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from textual.message import Message
from textual.message_pump import MessagePump

from jobq.dashboard.source import Result, attempt


class Outcome(Message):
    """A background call finished; `apply` runs on the UI thread with its result."""

    def __init__(self, apply: Callable[[Result], None], result: Result) -> None:
        super().__init__()
        self.apply = apply
        self.result = result


class Polled(Message):
    """One poll of Redis finished at monotonic time `at`."""

    def __init__(self, result: Result, at: float) -> None:
        super().__init__()
        self.result = result
        self.at = at


def _post(target: MessagePump, message: Message) -> None:
    with contextlib.suppress(RuntimeError):  # the app closed while we were waiting on Redis
        target.post_message(message)


def in_background(target: MessagePump, call: Callable[[], Any], apply: Callable[[Result], None]) -> None:
    """Run `call` on a daemon thread; `apply(result)` later on the UI thread."""

    def run() -> None:
        _post(target, Outcome(apply, attempt(call)))

    threading.Thread(target=run, name="jobq-dashboard-call", daemon=True).start()


class Poller:
    """Polls every `refresh_s` seconds on its own thread until stopped; `wake()` polls now."""

    def __init__(self, target: MessagePump, call: Callable[[], Any], refresh_s: float) -> None:
        self.target = target
        self.call = call
        self.refresh_s = refresh_s
        self._stop = threading.Event()
        self._wake = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._loop, name="jobq-dashboard-poll", daemon=True).start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            result = attempt(self.call)
            if self._stop.is_set():
                return
            _post(self.target, Polled(result, time.monotonic()))
            self._wake.wait(self.refresh_s)
            self._wake.clear()
