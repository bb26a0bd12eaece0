"""Issue 12's smaller drift: answers a new user gets from the API and the command line
(cancelled results, cancel twice, bad timeouts and keywords, bad URLs, bare commands)."""

from __future__ import annotations

import time

import pytest

import jobq
from tests.support.holding import hold_entries
from tests.support.jobq_run import one_error_line, run_jobq, run_main
from tests.support.redis_server import free_port


def test_a_cancelled_jobs_result_raises_job_cancelled_which_is_a_job_failed(app: jobq.App) -> None:
    @app.task
    def add(x: int, y: int) -> int:
        return x + y

    job = add.delay(1, 2)
    assert job.cancel() is True
    with pytest.raises(jobq.JobCancelled, match=f"job {job.id} was cancelled") as info:
        job.result(timeout=5)
    assert isinstance(info.value, jobq.JobFailed) and info.value.reason == "cancelled"


def test_cancel_on_a_running_job_takes_effect_once(app: jobq.App) -> None:
    @app.task
    def slow() -> None: ...

    job = slow.delay()
    hold_entries(app, "default", 1)  # taken by a (bare) consumer: running
    assert job.status() == "running"
    assert job.cancel() is True  # asked to stop
    assert job.cancel() is False  # already asked: this call changed nothing
    proc = run_main(
        ["job", "cancel", job.id, "--redis-url", app.config.redis_url, "--namespace", app.config.namespace]
    )
    assert proc.returncode == 0 and "already asked to stop it" in proc.stdout, (proc.stdout, proc.stderr)


def test_a_negative_result_timeout_is_refused_as_such(app: jobq.App) -> None:
    job = app.submit("anything")
    with pytest.raises(ValueError, match=r"timeout must be >= 0 seconds.*got -1"):
        job.result(timeout=-1)


def test_an_unexpected_keyword_is_named_before_a_missing_argument(app: jobq.App) -> None:
    @app.task(name="add")
    def add(x: int, y: int) -> int:
        return x + y

    with pytest.raises(TypeError, match=r"^add: got an unexpected keyword argument 'z'$"):
        add.delay(1, z=2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="missing a required argument: 'y'"):
        add.delay(1)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "url", ["garbage", "redis://localhost:abc/0", "redis+sentinel://h:26379", "redis+cluster://h:1/3"]
)
def test_a_malformed_redis_url_is_refused_when_the_app_is_made(url: str) -> None:
    with pytest.raises(jobq.ConfigError, match="malformed Redis URL"):
        jobq.App(url)
    app = jobq.App("redis://127.0.0.1:1/0")  # well-formed: accepted without connecting
    with pytest.raises(jobq.ConfigError, match="malformed Redis URL"):
        app.reconfigure(redis_url=url)


def test_a_sentinel_url_with_nothing_listening_fails_at_once_in_one_clean_line() -> None:
    url = f"redis+sentinel://127.0.0.1:{free_port()},127.0.0.1:{free_port()}/mymaster"
    started = time.monotonic()
    proc = run_main(["stats", "--redis-url", url])
    elapsed = time.monotonic() - started
    assert proc.returncode == 1
    line = one_error_line(proc)
    assert line == f"error: cannot reach Redis at {url}: no sentinel answered with a master 'mymaster'"
    assert elapsed < 5.0, f"took {elapsed:.1f}s (redis-py's default sentinel backoff took ~11 s)"


def test_bare_jobq_prints_its_usage_not_an_error(redis_url: str) -> None:
    for command, usage in (([], "Usage: jobq [OPTIONS] COMMAND"), (["dlq"], "Usage: jobq dlq [OPTIONS]")):
        proc = run_main(command)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith(usage) and "error:" not in proc.stderr, proc.stderr
        assert "Commands:" in proc.stderr and proc.stdout == ""


@pytest.mark.parametrize("spec", [":app", "tasks.:app", "a b", "core_app:x y"])
def test_an_app_spec_that_is_no_module_path_is_a_usage_error(redis_url: str, spec: str) -> None:
    proc = run_jobq(["worker", spec], redis_url, timeout=30)
    assert proc.returncode == 2, proc.stderr
    assert "is not package.module or package.module:attribute" in one_error_line(proc)
