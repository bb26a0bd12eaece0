"""`jobq demo`, run as a user would: on a Redis that answers, with none (a private server
is started and stopped), and with no redis-server installed at all."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.support.processes import jobq_executable
from tests.support.redis_server import RedisServer, free_port

DEMO_TIMEOUT_S = 120  # the demo itself takes ~6 s; generous for a loaded machine


def run_demo(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*jobq_executable(), "demo", *args],
        env=env or dict(os.environ),
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT_S,
        start_new_session=True,
    )


def unused_url() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there


def assert_the_mix_ended_as_planned(out: str) -> None:
    """Every job's line, with the outcome it is meant to show."""
    rows = re.findall(r"^\s+[\d.]+s\s+\S+\s+(demo\.\w+)\s+(succeeded|dead)\s+(.*)$", out, re.MULTILINE)
    ticks = sum(task == "demo.heartbeat" for task, _, _ in rows)
    assert ticks >= 1, out
    assert all(detail.startswith("tick at ") for task, _, detail in rows if task == "demo.heartbeat")
    outcomes = sorted((task, outcome) for task, outcome, _ in rows if task != "demo.heartbeat")
    assert outcomes == sorted(
        [("demo.resize_image", "succeeded")] * 6
        + [("demo.fetch_quote", "succeeded")] * 3
        + [
            ("demo.word_count", "succeeded"),
            ("demo.send_webhook", "succeeded"),
            ("demo.import_orders", "dead"),
            ("demo.send_reminder", "succeeded"),
        ]
    ), out
    details = {task: detail for task, _, detail in rows}
    assert "on attempt 3" in details["demo.send_webhook"]
    assert "is not a number (3 attempts)" in details["demo.import_orders"]
    assert "12 of 13 jobs succeeded; 1 dead-lettered" in out
    default = re.search(r"^  default\s+(\d+)\s+5\s+1\s+0\s+0$", out, re.MULTILINE)  # processed failed dead...
    assert default, out
    assert int(default.group(1)) >= 6 + ticks, out  # ticks run before the first line was shown count too
    assert re.search(r"^  media\s+6\s+0\s+0\s+0\s+0$", out, re.MULTILINE), out
    assert "Stopped the worker pool (SIGTERM: in-flight jobs finish; exit code 0)." in out
    assert re.search(r"^Done in [\d.]+ s\.$", out, re.MULTILINE), out


def test_demo_on_a_running_redis_shows_every_job_and_leaves_no_keys(redis_server: RedisServer) -> None:
    proc = run_demo("--redis-url", redis_server.url)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_the_mix_ended_as_planned(proc.stdout)
    assert f"Redis     {redis_server.url}" in proc.stdout
    assert redis_server.client().keys("jobq-demo-*") == []  # its own namespace, deleted


def test_demo_starts_a_private_redis_server_when_none_answers() -> None:
    url = unused_url()
    proc = run_demo("--redis-url", url, "-p", "1")

    assert proc.returncode == 0, proc.stdout + proc.stderr
    started = rf"nothing answers at {re.escape(url)}: started a private redis-server on 127\.0\.0\.1:(\d+)"
    found = re.search(started, proc.stdout)
    assert found, proc.stdout
    assert_the_mix_ended_as_planned(proc.stdout)
    assert "Stopped the private redis-server." in proc.stdout
    assert not RedisServer(port=int(found.group(1))).ping()  # really stopped


def test_demo_without_redis_server_says_how_to_get_one_in_one_line(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent)  # python and jobq, but no redis-server
    env["JOBQ_REDIS_URL"] = unused_url()

    proc = run_demo(env=env)

    assert proc.returncode == 1
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"error: nothing answers at {env['JOBQ_REDIS_URL']}")
    for advice in ("apt-get install redis-server", "brew install redis", "docker run"):
        assert advice in lines[0]
