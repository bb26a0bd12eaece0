"""core_app's tasks in a supervisor whose every fork takes $JOBQ_FORK_DELAY seconds (as a
large parent process's would), so a test can signal a pool while it is still starting."""

from __future__ import annotations

import os
import time

from core_app import app

os.register_at_fork(before=lambda: time.sleep(float(os.environ.get("JOBQ_FORK_DELAY", "0.1"))))

__all__ = ["app"]
