"""Run the real `jobq` console script as a subprocess, in its own process group."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

TESTS_DIR = Path(__file__).resolve().parent.parent
APPS_DIR = TESTS_DIR / "apps"


def jobq_executable() -> list[str]:
    exe = Path(sys.executable).parent / "jobq"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "jobq"]


def env_for(redis_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["JOBQ_REDIS_URL"] = redis_url
    env["PYTHONPATH"] = os.pathsep.join([str(APPS_DIR), env.get("PYTHONPATH", "")])
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def stats_json(url: str, namespace: str) -> dict[str, Any]:
    """What `jobq stats --json` prints, run as a whole process."""
    done = subprocess.run(
        [*jobq_executable(), "stats", "--json", "--namespace", namespace],
        env=env_for(url),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


class JobqProcess:
    """A `jobq ...` command started in a new session (so its whole group can be signalled)."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.args = args
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in wait/kill
        self.proc = subprocess.Popen(
            jobq_executable() + args,
            env=env,
            cwd=str(APPS_DIR),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def kill_group(self) -> None:
        """kill -9 of the supervisor and every child in its process group."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self._log.close()

    def wait(self, timeout: float) -> int:
        code = self.proc.wait(timeout)
        self._log.close()
        return code

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def children(self) -> list[int]:
        try:
            text = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except FileNotFoundError:
            return []
        return [int(p) for p in text.split()]
