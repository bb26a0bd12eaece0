"""The dashboard without a terminal (output piped or logged): a text frame per refresh."""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

from jobq.dashboard.board import Board
from jobq.dashboard.source import Source, attempt
from jobq.dashboard.views import render_frame


def run_plain(source: Source, refresh_s: float, out: TextIO = sys.stdout, frames: int | None = None) -> None:
    """Print the whole dashboard every `refresh_s` seconds (forever, or `frames` times)."""
    board = Board(source.where, refresh_s)
    shown = 0
    while frames is None or shown < frames:
        result = attempt(source.poll)
        board.record(result.value, result.error, time.monotonic())
        width = shutil.get_terminal_size((100, 24)).columns
        lines = render_frame(board.frame(time.monotonic()), width, time.time())
        out.write("\n".join(lines) + "\n\n")
        out.flush()
        shown += 1
        if frames is None or shown < frames:
            time.sleep(refresh_s)
