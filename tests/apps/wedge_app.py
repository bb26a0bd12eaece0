"""core_app with a fault for the watchdog tests: the first worker process that is handed
jobs never starts any of them (a wedge, as a bug in slot accounting would make one).
Later processes (the pool's replacements) work normally."""

from __future__ import annotations

import os

from core_app import app  # noqa: F401  (the app `jobq worker wedge_app` runs)

from jobq.worker.running import Runner

_original = Runner.start_ready
_decided = {"pid": 0, "wedged": False}


def _first_process() -> bool:
    """Whether this process is the first to get here (it creates the marker file)."""
    try:
        os.close(os.open(os.environ["JOBQ_WEDGE_MARKER"], os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def start_ready(self: Runner) -> None:
    if _decided["pid"] != os.getpid():
        _decided.update(pid=os.getpid(), wedged=_first_process())
    if not _decided["wedged"]:
        _original(self)


Runner.start_ready = start_ready  # type: ignore[method-assign]
