"""The worker under test: the real ``jobq worker`` console script in a process group of
its own, with its CPU time and memory read from /proc (Linux)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
REPO = Path(__file__).resolve().parent.parent
APP_SPEC = "benchmarks.bench_app:app"


def jobq_command() -> list[str]:
    """The console script next to this interpreter (the venv's), else ``python -m jobq``."""
    exe = Path(sys.executable).parent / "jobq"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "jobq"]


def _stat_fields(pid: str) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()  # [0] state, [2] pgrp, [11] utime, [12] stime


def group_pids(pgid: int) -> list[int]:
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            fields = _stat_fields(name)
            if fields is not None and int(fields[2]) == pgid:
                pids.append(int(name))
    return pids


def group_cpu_s(pgid: int) -> float:
    """User + system CPU seconds of the live processes of one process group."""
    total = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            fields = _stat_fields(name)
            if fields is not None and int(fields[2]) == pgid:
                total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) clock ticks of every CPU since boot, from /proc/stat: the whole
    machine's load, ours and everyone else's."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def rss_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def start_process(
    argv: list[str],
    env: dict[str, str],
    log_path: Path,
    *,
    stdin: int = subprocess.DEVNULL,
    preexec_fn: Callable[[], None] | None = None,
    header: str = "",
) -> subprocess.Popen[bytes]:
    """`argv` run from the repository in a new session (so its pid is its process group
    id, and one killpg stops it and its children), stdout and stderr appended to
    `log_path` after `header`."""
    with open(log_path, "ab") as log:
        if header:
            log.write(header.encode())
            log.flush()
        return subprocess.Popen(
            argv,
            cwd=REPO,
            env=env,
            stdin=stdin,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=preexec_fn,
        )


class WorkerProcess:
    """``jobq worker benchmarks.bench_app:app -p P -c C`` in its own session."""

    def __init__(self, processes: int, concurrency: int, env: dict[str, str], log_path: Path) -> None:
        self.argv = [*jobq_command(), "worker", APP_SPEC, "-p", str(processes), "-c", str(concurrency)]
        self.log_path = log_path
        self.proc = start_process(self.argv, env, log_path)
        self.started = time.time()

    @property
    def pgid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def cpu_s(self) -> float:
        return group_cpu_s(self.pgid)

    def child_rss(self) -> dict[int, int]:
        """RSS of each worker process (the supervisor itself left out)."""
        return {pid: rss_bytes(pid) for pid in group_pids(self.pgid) if pid != self.pgid}

    def stop(self, grace_s: float = 20.0) -> None:
        """SIGTERM to the group (the pool drains), then SIGKILL whatever is left."""
        self.terminate()
        self.reap(grace_s)

    def terminate(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGTERM)

    def reap(self, grace_s: float) -> None:
        """Wait for the group to be gone; SIGKILL whatever is left after `grace_s`."""
        if not self._wait_group_gone(grace_s):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pgid, signal.SIGKILL)
            self._wait_group_gone(10.0)

    def _wait_group_gone(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.proc.poll()  # reap the supervisor, or it lingers as a zombie of the group
            if not group_pids(self.pgid):
                return True
            time.sleep(0.05)
        return False

    def log_problems(self) -> int:
        """Lines of the worker's log at error level or above, or with a traceback."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return 0
        marks = ("[error", "[critical", "Traceback", '"level": "error"', '"level":"error"')
        return sum(1 for line in text.splitlines() if any(m in line for m in marks))


def stop_all(workers: list[WorkerProcess], grace_s: float = 20.0) -> None:
    """SIGTERM to every group at once (they drain side by side), then reap each."""
    for w in workers:
        w.terminate()
    for w in workers:
        w.reap(grace_s)
