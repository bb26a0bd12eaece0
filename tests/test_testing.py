"""jobq.testing: drain(), BackgroundWorker and the pytest fixtures, against a real Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

import jobq
from jobq.testing import BackgroundWorker, drain, is_idle
from jobq.testing import jobq_isolate as jobq_isolate  # the plugin's fixtures, used here directly
from jobq.testing import jobq_worker as jobq_worker
from tests.support.processes import JobqProcess
from tests.support.redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def jobq_redis_url(redis_url: str) -> str:
    """The plugin's fixtures on the suite's session redis-server (not one of their own)."""
    return redis_url


def make_tasks(app: jobq.App, calls: dict[str, int]) -> tuple[jobq.Task, jobq.Task, jobq.Task]:
    @app.task(name="t.add")
    def add(x: int, y: int) -> int:
        return x + y

    @app.task(name="t.shout")
    async def shout(text: str) -> str:
        return text.upper()

    @app.task(name="t.flaky", retries=3, backoff=0.05, backoff_max=0.1)
    def flaky() -> int:
        calls["flaky"] = calls.get("flaky", 0) + 1
        if calls["flaky"] < 3:
            raise ConnectionError("not yet")
        return calls["flaky"]

    return add, shout, flaky


def test_drain_runs_sync_async_and_retried_jobs_to_the_end(app: jobq.App) -> None:
    calls: dict[str, int] = {}
    add, shout, flaky = make_tasks(app, calls)
    jobs = [add.delay(1, 2), shout.delay("hi"), flaky.delay()]

    settled = drain(app, timeout=30)

    assert [j.status() for j in jobs] == ["succeeded"] * 3
    assert [j.result(timeout=1) for j in jobs] == [3, "HI", 3]
    assert settled == 5  # three jobs, two of them failed attempts of flaky
    assert is_idle(app)


def test_drain_without_scheduled_leaves_a_delayed_job_waiting(app: jobq.App) -> None:
    add, _, _ = make_tasks(app, {})
    now = add.delay(1, 1)
    later = add.enqueue(args=(2, 2), delay=60)

    drain(app, timeout=30, scheduled=False)

    assert now.status() == "succeeded"
    assert later.status() == "scheduled"
    assert not is_idle(app) and is_idle(app, scheduled=False)


def test_drain_raises_timeout_error_when_the_queues_do_not_empty(app: jobq.App) -> None:
    add, _, _ = make_tasks(app, {})
    add.enqueue(args=(1, 1), delay=60)
    with pytest.raises(TimeoutError, match="not idle"):
        drain(app, timeout=0.5)


def test_background_worker_runs_jobs_while_the_test_waits_on_results(app: jobq.App) -> None:
    add, shout, _ = make_tasks(app, {})
    with BackgroundWorker(app, concurrency=2) as worker:
        assert add.delay(20, 22).result(timeout=15) == 42
        assert shout.delay("async").result(timeout=15) == "ASYNC"
        worker.wait_until_idle(timeout=15)
        assert worker.alive
    assert not worker.alive
    assert worker.exit_code == 0


def test_background_worker_reports_a_job_that_ends_dead(app: jobq.App) -> None:
    @app.task(name="t.bad", retries=0)
    def bad() -> None:
        raise ValueError("no good")

    with BackgroundWorker(app), pytest.raises(jobq.JobFailed, match="ValueError: no good"):
        bad.delay().result(timeout=15)


def test_jobq_worker_fixture_moves_the_app_to_a_fresh_namespace_on_the_test_redis(
    jobq_worker, redis_url: str
) -> None:
    app = jobq.App("redis://127.0.0.1:1/0", namespace="prod")  # nothing listens there
    add, _, _ = make_tasks(app, {})

    worker = jobq_worker(app)

    assert app.config.redis_url == redis_url
    assert app.config.namespace.startswith("jobq-test-")
    assert add.delay(2, 3).result(timeout=15) == 5
    worker.wait_until_idle(timeout=15)


def test_jobq_isolate_restores_the_app_and_deletes_its_keys(jobq_isolate, redis_server: RedisServer) -> None:
    app = jobq.App("redis://127.0.0.1:1/0", namespace="prod")
    add, _, _ = make_tasks(app, {})
    namespace = jobq_isolate(app)
    assert jobq_isolate(app) == namespace  # a second call keeps the same namespace
    add.delay(1, 2)
    client = redis_server.client()
    assert client.keys(f"{namespace}:*")

    # What the fixture does at teardown, run here so the test can look at the outcome.
    app.broker.delete_namespace()
    assert client.keys(f"{namespace}:*") == []


PLUGIN_SUITE = {
    "tasks.py": """
        import jobq

        app = jobq.App(namespace="myapp")

        @app.task(name="tasks.double")
        def double(x: int) -> int:
            return 2 * x
    """,
    "conftest.py": """
        pytest_plugins = ["jobq.testing"]
    """,
    "test_tasks.py": """
        from tasks import app, double

        def test_double_runs_on_a_real_worker(jobq_worker):
            jobq_worker(app)
            assert double.delay(21).result(timeout=15) == 42

        def test_the_app_is_put_back_afterwards():
            assert app.config.namespace == "myapp"
    """,
}


def run_user_suite(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    for name, text in PLUGIN_SUITE.items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_plugin_in_a_user_suite_starts_its_own_redis_server(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("JOBQ_TEST_REDIS_URL", "JOBQ_REDIS_URL")}
    env["PYTHONPATH"] = str(tmp_path)
    proc = run_user_suite(tmp_path, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout


def test_plugin_skips_with_install_advice_when_there_is_no_redis(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("JOBQ_TEST_REDIS_URL", "JOBQ_REDIS_URL")}
    env["PYTHONPATH"] = str(tmp_path)
    env["PATH"] = str(Path(sys.executable).parent)  # a PATH with python but no redis-server
    proc = run_user_suite(tmp_path, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed, 1 skipped" in proc.stdout
    assert "apt-get install redis-server" in proc.stdout


def test_burst_worker_exits_once_every_queue_is_empty(
    jobq_cli: Callable[..., JobqProcess], redis_url: str, namespace: str
) -> None:
    from tests.apps.testing_app import app, later, square

    app.reconfigure(redis_url=redis_url, namespace=namespace)
    squares = square.delay_many([(n,) for n in range(20)])
    negatives = later.delay_many([(n,) for n in range(10)])

    worker = jobq_cli(["worker", "testing_app", "--burst", "-p", "2"], redis_url, JOBQ_NAMESPACE=namespace)

    assert worker.wait(60) == 0, worker.output()
    assert [j.result(timeout=1) for j in squares] == [n * n for n in range(20)]
    assert [j.result(timeout=1) for j in negatives] == [-n for n in range(10)]
    assert is_idle(app)
