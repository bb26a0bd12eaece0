"""`jobq dashboard` as a command: its errors, and its plain output when there is no terminal."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

import jobq
from tests.support.processes import APPS_DIR, JobqProcess, env_for, jobq_executable
from tests.support.redis_server import free_port
from tests.support.waiting import wait_for


def run(args: list[str], redis_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        jobq_executable() + args,
        env=env_for(redis_url),
        cwd=str(APPS_DIR),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--redis-url", "redis://127.0.0.1:{port}/0"], 1, "error: cannot reach Redis at redis://127.0.0.1:"),
        (["--redis-url", "nonsense://x"], None, "error: "),
        (["--refresh", "0"], 2, "error: Invalid value for '--refresh'"),
        (["no_such_module_here"], 2, "error: Invalid value for APP"),
    ],
)
def test_bad_usage_and_unreachable_redis_fail_with_one_line(
    redis_url: str, args: list[str], code: int | None, message: str
) -> None:
    argv = ["dashboard", *(a.format(port=free_port()) for a in args)]
    done = run(argv, redis_url)
    assert done.returncode == code if code is not None else done.returncode in (1, 2)
    assert done.stderr.startswith(message), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_without_a_terminal_it_prints_a_frame_every_refresh(
    redis_url: str, namespace: str, jobq_cli: Callable[..., JobqProcess]
) -> None:
    app = jobq.App(redis_url, namespace=namespace)
    for _ in range(4):
        app.submit("report.build", [0.1], queue="reports")
    proc = jobq_cli(["dashboard", "--refresh", "0.2", "--namespace", namespace], redis_url)

    def frames() -> list[list[str]]:
        """The `reports` line of every frame printed so far."""
        return [line.split() for line in proc.output().splitlines() if line.startswith("reports ")]

    wait_for(lambda: len(frames()) >= 3, 30, "three frames")
    assert all(words[:2] == ["reports", "4"] for words in frames())
    assert "● live" in proc.output() and "QUEUE" in proc.output()
    app.submit("report.build", [0.1], queue="reports")
    wait_for(lambda: frames()[-1][:2] == ["reports", "5"], 30, "a later frame with the new backlog")
    assert proc.proc.poll() is None
