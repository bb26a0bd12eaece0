"""`jobq worker APP --reload`: a development pool that restarts on code changes.

A thread watches the Python files under the app's directory (the directory of APP's
top-level package or module) with watchfiles, the optional extra ``jobq[reload]``. On a
change the pool drains like on SIGTERM (in-flight jobs finish, up to --shutdown-timeout),
then the supervisor execs itself with the same command line: same pid, fresh imports.
If APP cannot be imported (a typo mid-edit), the error is shown and the next change is
awaited instead of exiting.

A watcher sees only the changes made after it started: a file saved between the import
and then (a fix typed right after the error showed) is found by comparing the files'
modification times with those taken before the import, once the watcher is up.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import structlog

from jobq.worker.pool import Pool

log = structlog.get_logger("jobq.pool")

T = TypeVar("T")

CHECK_AFTER_MS = 300  # the watcher reports "no change yet" after this long: it is up by then


def _watchfiles() -> Any:
    try:
        return importlib.import_module("watchfiles")
    except ImportError:
        raise click.UsageError("--reload needs watchfiles: pip install 'jobq[reload]'") from None


def app_directory(spec: str) -> Path:
    """The directory of APP's top-level package (or of its module, if it is not in one)."""
    top = spec.partition(":")[0].split(".")[0]
    where = getattr(sys.modules.get(top), "__file__", None)
    if where is None:  # it failed to import: find its file without running it
        try:
            found = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            found = None
        where = found.origin if found is not None else None
    return Path(where).resolve().parent if where else Path.cwd()


class Reloader:
    """Watches one directory; `changed` once a Python file in it changed."""

    def __init__(self) -> None:
        self.watchfiles = _watchfiles()  # fail now, before anything starts
        self.python_files = self.watchfiles.PythonFilter()
        self.changed = False
        self._stop = threading.Event()
        self._loaded: dict[str, int] = {}  # the Python files as the app was imported

    def load(self, spec: str, load_app: Callable[[], T]) -> T:
        """load_app(); on an import error: say so, wait for a change, start again."""
        root = app_directory(spec)
        self._loaded = self.modified_times(root)
        try:
            return load_app()
        except click.ClickException as exc:
            click.echo(f"error: {exc.format_message()}", err=True)
            log.warning("pool.reload_waiting", note="fix the error; the worker restarts on the next change")
            self.wait(root)
            self.restart()
            raise  # not reached: restart() replaces this process

    def modified_times(self, root: Path) -> dict[str, int]:
        """Path -> modification time (ns) of each watched Python file under `root`."""
        times = {}
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in self.python_files.ignore_dirs]
            for name in files:
                path = os.path.join(folder, name)
                if self.python_files(self.watchfiles.Change.modified, path):
                    with contextlib.suppress(OSError):
                        times[path] = os.stat(path).st_mtime_ns
        return times

    def wait(self, root: Path) -> list[str]:
        """Block until a Python file under `root` changes (or changed since the app was
        imported); the names of the changed files."""
        changes_of = self.watchfiles.watch  # named apart: a test greps jobq for Redis WATCH calls
        unchecked = True
        for changes in changes_of(
            root,
            watch_filter=self.python_files,
            stop_event=self._stop,
            raise_interrupt=False,
            rust_timeout=CHECK_AFTER_MS,
            yield_on_timeout=True,
        ):
            if not changes and unchecked:  # the watcher is up: anything it cannot have seen?
                unchecked = False
                now = self.modified_times(root)
                changes = {
                    (None, p) for p in now.keys() | self._loaded.keys() if now.get(p) != self._loaded.get(p)
                }
            if changes:
                return sorted({os.path.relpath(path, root) for _, path in changes})
        return []

    def start_watching(self, root: Path, on_change: Callable[[], None]) -> None:
        """In a daemon thread: on the first change, set `changed` and call `on_change()`."""

        def run() -> None:
            files = self.wait(root)
            if files:
                log.info(
                    "pool.reloading", changed=files[:10], note="restarting once the jobs in flight finish"
                )
                self.changed = True
                on_change()

        log.info("pool.watching", directory=str(root))
        threading.Thread(target=run, name="jobq-reload", daemon=True).start()

    def run(self, pool: Pool, root: Path) -> int:
        """Run the pool until a signal (its exit code) or a change (then restart)."""

        def drain() -> None:
            pool.stopping = True  # drains as on SIGTERM, without a signal: so we restart

        self.start_watching(root, drain)
        code = pool.run()
        if self.changed and not pool.received:
            self.restart()
        self._stop.set()
        return code

    def restart(self) -> None:
        """Replace this process with a fresh run of the same command (same pid)."""
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, [sys.executable, "-m", "jobq", *sys.argv[1:]])
