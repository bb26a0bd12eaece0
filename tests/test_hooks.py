"""Worker lifecycle hooks: once per worker process, state read by tasks, a failing start
hook that backs off and shows in stats, stop hooks after the last job (tests/apps/hooks_app.py)."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

import jobq
from jobq.dashboard.views import worker_lines
from jobq.startfail import StartFailure, parse
from jobq.worker.lifecycle import start_backoff
from tests.support.processes import JobqProcess, env_for, jobq_executable, stats_json
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_for

Start = Callable[..., JobqProcess]


def events(log: Path, kind: str) -> list[tuple[int, float]]:
    if not log.exists():
        return []
    rows = [line.split() for line in log.read_text().splitlines()]
    return [(int(pid), float(t)) for k, pid, t in rows if k == kind]


def start_pool(jobq_cli: Start, url: str, namespace: str, log: Path, *args: str, **env: str) -> JobqProcess:
    return jobq_cli(["worker", "hooks_app", "--namespace", namespace, *args], url, HOOKS_LOG=str(log), **env)


# registration ------------------------------------------------------------------------


def test_a_hook_that_is_not_callable_or_takes_arguments_is_refused_at_registration() -> None:
    app = jobq.App(namespace="unused")
    with pytest.raises(jobq.ConfigError, match="on_worker_start expects a function"):
        app.on_worker_start("open_pool")  # type: ignore[type-var]

    def needs_an_argument(pool: object) -> None: ...

    with pytest.raises(jobq.ConfigError, match=r"needs_an_argument\(pool\) must take no arguments"):
        app.on_worker_stop(needs_an_argument)
    assert app.start_hooks == [] and app.stop_hooks == []


def test_current_worker_outside_a_worker_is_a_clear_error() -> None:
    with pytest.raises(jobq.JobqError, match="outside a jobq worker"):
        jobq.current_worker()


def test_start_backoff_grows_and_is_capped() -> None:
    assert [start_backoff(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert start_backoff(100) == 60.0


# real pools ----------------------------------------------------------------------------


def test_hooks_run_once_per_worker_process_and_tasks_read_their_state(
    jobq_cli: Start, redis_server: RedisServer, namespace: str, tmp_path: Path
) -> None:
    log = tmp_path / "hooks.log"
    app = jobq.App(redis_server.url, namespace=namespace)
    pool = start_pool(jobq_cli, redis_server.url, namespace, log, "-p", "2", "-c", "4")
    wait_for(lambda: len(events(log, "start")) == 2, 30, "both worker processes to start")
    workers = {pid for pid, _ in events(log, "start")}
    assert pool.pid not in workers, "hooks must not run in the supervisor"

    results = [app.enqueue(name).result(timeout=30) for name in ("uses_pool", "auses_pool") * 4]
    for opened_by, is_open, cache, ran_in in results:
        assert opened_by == ran_in and ran_in in workers
        assert is_open is True and cache == "warm"

    slow = app.enqueue("slow", 1.5)
    wait_for(lambda: events(log, "begin"), 30, "the slow job to start")
    pool.signal(signal.SIGTERM)
    assert pool.wait(60) == 0, pool.output()
    assert slow.status() == "succeeded"
    stops = events(log, "stop")
    assert sorted(pid for pid, _ in stops) == sorted(workers), "one stop per worker process"
    (end,) = events(log, "end")
    stop_of_that_worker = next(t for pid, t in stops if pid == end[0])
    assert stop_of_that_worker >= end[1], "the stop hook ran before the in-flight job finished"
    assert len(events(log, "attempt")) == 2, "start hooks ran more than once per process"


def test_a_failing_start_hook_stops_the_process_backs_off_and_shows_in_stats(
    jobq_cli: Start, redis_server: RedisServer, namespace: str, tmp_path: Path
) -> None:
    log = tmp_path / "hooks.log"
    pool = start_pool(jobq_cli, redis_server.url, namespace, log, "-p", "1", HOOKS_FAIL="1")
    wait_for(lambda: len(events(log, "attempt")) >= 3, 60, "three start attempts")
    times = [t for _, t in events(log, "attempt")]
    assert times[1] - times[0] >= 0.9 and times[2] - times[1] >= 1.8, f"no backoff: {times}"

    failing = stats_json(redis_server.url, namespace)["start_failures"]
    assert isinstance(failing, list) and len(failing) == 1, failing
    entry = failing[0]
    assert entry["hook"] == "hooks_app.open_pool"
    assert entry["error"] == "RuntimeError: database is down"
    assert entry["pid"] == pool.pid and entry["failures"] >= 3
    text = subprocess.run(
        [*jobq_executable(), "stats", "--namespace", namespace],
        env=env_for(redis_server.url),
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    assert f"pool {entry['pool']} failing to start: hooks_app.open_pool raised RuntimeError" in text

    pool.signal(signal.SIGTERM)
    assert pool.wait(30) == 0
    out = pool.output()
    lines = [line for line in out.splitlines() if "worker.start_failed" in line]
    assert lines and all("hooks_app.open_pool" in ln and "database is down" in ln for ln in lines)
    assert "Traceback" not in out
    assert "pool.child_start_failed" in out
    assert events(log, "stop") == [], "stop hooks must not run after a failed start"


def test_stop_hooks_are_bounded_by_the_shutdown_timeout(
    jobq_cli: Start, redis_server: RedisServer, namespace: str, tmp_path: Path
) -> None:
    log = tmp_path / "hooks.log"
    pool = start_pool(
        jobq_cli, redis_server.url, namespace, log, "--shutdown-timeout", "2", HOOKS_STOP_HANG="1"
    )
    wait_for(lambda: events(log, "start"), 30, "the worker to start")
    pool.signal(signal.SIGTERM)
    assert pool.wait(30) == 0, pool.output()
    assert "worker.stop_hook_timeout" in pool.output()
    assert "pool.child_killed" not in pool.output(), "the worker overran its shutdown timeout"


# rendering (pure) ------------------------------------------------------------------------


def test_a_start_failure_record_parses_and_shows_on_the_dashboard() -> None:
    record = {
        "pool": "h:7",
        "host": "h",
        "pid": "7",
        "hook": "app.open_pool",
        "error": "E: x",
        "failures": "3",
    }
    failure = parse({**record, "at": "100.0"}, now=104.0)
    assert failure == StartFailure("h:7", "h", 7, "app.open_pool", "E: x", 3, 4.0)
    lines = worker_lines([], 200, [failure])
    assert any("pool h:7 failing to start: app.open_pool raised E: x (3 failed starts" in ln for ln in lines)


def test_the_testing_helpers_run_the_hooks_too(app: jobq.App) -> None:
    """drain() steps a Worker: its tasks can read the state the hooks made."""
    from jobq.testing import drain

    events: list[str] = []

    @app.on_worker_start
    def start() -> None:
        jobq.current_worker().state.greeting = "hello"
        events.append("start")

    @app.on_worker_stop
    async def stop() -> None:
        events.append("stop")

    @app.task(name="greet")
    def greet(name: str) -> str:
        return f"{jobq.current_worker().state.greeting} {name}"

    job = greet.delay("ada")
    drain(app)
    assert job.result(timeout=5) == "hello ada"
    assert events == ["start", "stop"]
