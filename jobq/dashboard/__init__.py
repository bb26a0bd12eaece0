"""`jobq dashboard`: a live terminal view of queues, workers and cron, with dead-letter tools.

Layout: `model` (rates from snapshot deltas), `format`/`table`/`views` (text, pure),
`cron_view` (cron rows), `board` (state between redraws), `source` (the only part that
talks to Redis), `background` (calls off the UI thread), `tui`/`screens`/`job_view` (Textual),
`plain` (no terminal: a text frame per refresh).
"""

from __future__ import annotations

import contextlib
import os
import sys

from jobq.app import App


def run(app: App, refresh_s: float, *, from_app: bool) -> int:
    """Run the dashboard until the user quits; returns the exit code.

    `from_app`: the user named an APP, so its queues show even before first use, and its
    cron entries, if it has any.
    """
    from jobq.dashboard.source import Source

    source = Source(app, from_app=from_app)
    screen = sys.__stderr__  # where Textual draws (stdout stays free for pipes)
    if not (sys.stdin.isatty() and screen is not None and screen.isatty()):
        from jobq.dashboard.plain import run_plain

        with contextlib.suppress(KeyboardInterrupt):  # the way to stop a plain dashboard
            run_plain(source, refresh_s)
        return 0
    from jobq.dashboard.tui import DashboardApp

    # Textual sizes the screen from $COLUMNS/$LINES when they are set; exported ones are
    # stale after the first resize, so the terminal itself must be asked instead.
    for name in ("COLUMNS", "LINES"):
        os.environ.pop(name, None)

    dashboard = DashboardApp(source, refresh_s)
    dashboard.run()
    return dashboard.return_code or 0
