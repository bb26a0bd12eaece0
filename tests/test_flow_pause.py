"""Pause and resume a queue: workers start nothing from it, it still accepts jobs, and the
pause outlives worker and Redis restarts (real Redis, real workers)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable

import jobq
from jobq import explain, stats
from jobq.testing import BackgroundWorker
from tests.support.redis_server import RedisServer


def wait_for(condition: Callable[[], object], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def queue_json(app: jobq.App, name: str) -> dict[str, object]:
    snap = stats.to_json(stats.snapshot(app.broker, [name]))
    return dict(snap["queues"][0])


def counting_tasks(app: jobq.App) -> tuple[jobq.Task[[str], None], list[str]]:
    ran: list[str] = []

    @app.task(queue="mail")
    def send(to: str) -> None:
        ran.append(to)

    @app.task(queue="other")
    def other(to: str) -> None:
        ran.append(to)

    return send, ran


def test_a_paused_queue_accepts_jobs_and_starts_none_until_resumed(app: jobq.App) -> None:
    send, ran = counting_tasks(app)
    other = app.tasks[f"{__name__}.counting_tasks.<locals>.other"]
    assert app.pause("mail") is True
    assert app.pause("mail") is False  # already paused: nothing changes
    held = send.delay("a@b.c")
    with BackgroundWorker(app, ["mail", "other"]):
        moving = other.delay("x@y.z")
        wait_for(lambda: moving.status() == "succeeded")
        time.sleep(1.0)  # four pause checks: the mail job must still wait
        assert held.status() == "queued"
        assert ran == ["x@y.z"]
        row = queue_json(app, "mail")
        assert row["paused"] is True and row["backlog"] == 1
        assert queue_json(app, "other")["paused"] is False
        lines = explain.explain(explain.gather(app, held.id))
        assert any(line.startswith("queue paused since ") for line in lines), lines
        assert app.resume("mail") is True
        wait_for(lambda: held.status() == "succeeded")
        app.pause("mail")  # while the worker runs: once pause() returns, nothing starts
        late = send.delay("late@b.c")
        time.sleep(1.0)
        assert late.status() == "queued"
        app.resume("mail")
        wait_for(lambda: late.status() == "succeeded")
    assert app.resume("mail") is False
    assert sorted(ran) == ["a@b.c", "late@b.c", "x@y.z"]
    assert queue_json(app, "mail")["paused"] is False


def test_a_pause_outlives_worker_and_redis_restarts(private_redis: Callable[..., RedisServer]) -> None:
    server = private_redis(aof=True)
    app = jobq.App(server.url, namespace="pausing", visibility_timeout=5.0)
    send, ran = counting_tasks(app)
    app.pause("mail")
    job = send.delay("a@b.c")
    with BackgroundWorker(app, ["mail"]):
        time.sleep(0.6)
    server.restart()
    app = jobq.App(server.url, namespace="pausing", visibility_timeout=5.0)
    send, ran = counting_tasks(app)
    with BackgroundWorker(app, ["mail"]):  # a new worker, on a restarted Redis: still paused
        time.sleep(0.6)
        assert ran == [] and app.job(job.id).status() == "queued"
        assert queue_json(app, "mail")["paused"] is True
        app.resume("mail")
        wait_for(lambda: ran == ["a@b.c"])


def test_queue_pause_and_resume_commands(app: jobq.App, redis_url: str, namespace: str) -> None:
    send, _ = counting_tasks(app)
    send.delay("a@b.c")

    def jobq_cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "jobq", *args, "--redis-url", redis_url, "--namespace", namespace]
        return subprocess.run(command, capture_output=True, text=True, timeout=60)

    paused = jobq_cli("queue", "pause", "mail")
    assert paused.returncode == 0, paused.stderr
    assert "paused queue mail" in paused.stdout
    shown = jobq_cli("stats", "--json")
    rows = {q["name"]: q for q in json.loads(shown.stdout)["queues"]}
    assert rows["mail"]["paused"] is True
    assert "mail (paused)" in jobq_cli("stats").stdout
    assert jobq_cli("queue", "resume", "mail").stdout.strip() == "resumed queue mail"
    assert queue_json(app, "mail")["paused"] is False
    typo = jobq_cli("queue", "pause", "mial")
    assert typo.returncode == 1 and "no queue 'mial'" in typo.stderr
