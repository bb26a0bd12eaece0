"""A finished job keeps its task, attempts, arguments and timings for as long as its
outcome is kept, and `jobq job show` (text and --json) and `jobq explain` show them
(issue 12, item 9)."""

from __future__ import annotations

import json
from typing import Any

import pytest

import jobq
from jobq import explain
from jobq.keys import NamespaceKeys
from jobq.records import OUTCOME_ENVELOPE_MAX as KEPT_MAX
from tests.apps.inspect_app import register
from tests.support.inproc import work_until
from tests.support.jobq_run import run_main


@pytest.fixture
def tasks(app: jobq.App) -> dict[str, Any]:
    @app.task(name="second_time", retries=2, backoff=0.01, backoff_max=0.02)
    def second_time(to: str, *, times: int = 1) -> str:
        if jobq.current_job().attempt < 2:
            raise RuntimeError("not yet")
        return to * times

    @app.task(name="size")
    def size(text: str) -> int:
        return len(text)

    return {**register(app), "second_time": second_time, "size": size}


def jobq_out(app: jobq.App, *args: str) -> str:
    proc = run_main([*args, "--namespace", app.config.namespace, "--redis-url", app.config.redis_url])
    assert proc.returncode == 0, proc.stderr
    return str(proc.stdout)


def show(app: jobq.App, job_id: str) -> tuple[dict[str, Any], str]:
    data: dict[str, Any] = json.loads(jobq_out(app, "job", "show", job_id, "--json"))
    return data, jobq_out(app, "job", "show", job_id)


def test_a_succeeded_job_keeps_task_attempts_arguments_and_timings(
    app: jobq.App, tasks: dict[str, Any]
) -> None:
    job = tasks["second_time"].enqueue(args=("ab",), kwargs={"times": 2})
    work_until(app, lambda: job.status() == "succeeded")
    data, text = show(app, job.id)
    assert (data["task"], data["attempts"], data["result"]) == ("second_time", 2, "abab")
    assert (data["args"], data["kwargs"]) == (["ab"], {"times": 2})
    assert data["enqueued_at"] <= data["started_at"] <= data["finished_at"]
    assert data["duration_s"] == pytest.approx(data["finished_at"] - data["started_at"], abs=1e-5)
    lines = text.splitlines()
    assert {"task:        second_time", "attempts:    2"} <= set(lines), text
    assert {'args:        ["ab"]', 'kwargs:      {"times": 2}'} <= set(lines), text
    assert all(f"\n{label}:" in text for label in ("enqueued", "started", "finished", "took")), text

    lines = explain.explain(explain.gather(app, job.id))
    assert lines[0] == f"job {job.id} (second_time) in queue default:"
    assert lines[-1] == 'called as second_time("ab", times=2)'
    assert any(line.startswith("attempt 2 ran from ") and "(took " in line for line in lines), lines


def test_a_queued_job_shows_its_arguments_as_text(app: jobq.App, tasks: dict[str, Any]) -> None:
    job = tasks["ok"].delay(41)
    _, text = show(app, job.id)
    assert "args:        [41]" in text.splitlines(), text
    assert explain.explain(explain.gather(app, job.id))[-1] == "called as ok(41)"


def test_a_dead_job_keeps_its_record_after_its_dead_letter_is_purged(
    app: jobq.App, tasks: dict[str, Any]
) -> None:
    job = tasks["boom"].delay("bad input")
    work_until(app, lambda: job.status() == "dead")
    jobq_out(app, "dlq", "purge", "default", "--yes")
    data, text = show(app, job.id)
    assert (data["state"], data["task"], data["attempts"], data["args"]) == ("dead", "boom", 1, ["bad input"])
    assert data["started_at"] <= data["finished_at"]
    assert "task:        boom" in text and "attempts:    1" in text
    head = explain.explain(explain.gather(app, job.id))[0]
    assert head == f"job {job.id} (boom) in queue default:"


@pytest.mark.parametrize("how", ["cancel", "purge"])
def test_a_cancelled_job_keeps_its_task_and_arguments(app: jobq.App, tasks: dict[str, Any], how: str) -> None:
    queued, later = tasks["ok"].delay(7), tasks["ok"].enqueue(args=(8,), delay=600)
    if how == "cancel":
        assert queued.cancel() and later.cancel()
    else:
        jobq_out(app, "purge", "default", "--yes")
    for job, args in ((queued, [7]), (later, [8])):
        data, text = show(app, job.id)
        assert (data["state"], data["task"], data["attempts"], data["args"]) == ("cancelled", "ok", 0, args)
        assert "task:        ok" in text and f"args:        {args}" in text


def test_a_large_payload_is_not_kept_after_the_job_finishes(app: jobq.App, tasks: dict[str, Any]) -> None:
    """Outcomes live for result_ttl: keeping a big payload in each would hold the memory a
    drained queue gave back (tests/test_faults.py, out of memory), so past KEPT_MAX
    characters only the task, enqueue time and attempts are kept."""
    big = "x" * (KEPT_MAX + 100)
    done, cancelled = tasks["size"].delay(big), tasks["size"].enqueue(args=(big,), delay=600)
    work_until(app, lambda: done.status() == "succeeded")
    assert cancelled.cancel()
    results = NamespaceKeys(app.config.namespace).queue("default")
    for job in (done, cancelled):
        assert app.broker.client.strlen(results.result(job.id)) < KEPT_MAX / 4
        data, text = show(app, job.id)
        assert (data["task"], data["args"], data["kwargs"]) == ("size", None, None)
        assert "payload is not kept" in data["args_not_kept"] and "task:        size" in text
        assert "args:        (a " in text
        assert explain.explain(explain.gather(app, job.id))[-1] == "called as size(...)"
    assert done.result(timeout=1) == len(big)


def test_an_outcome_is_kept_for_its_tasks_result_ttl_and_not_at_all_with_zero(app: jobq.App) -> None:
    @app.task(name="kept_a_minute", result_ttl=60)
    def kept_a_minute() -> str:
        return "kept"

    @app.task(name="kept_never", result_ttl=0)
    def kept_never() -> str:
        return "gone"

    kept, never = kept_a_minute.delay(), kept_never.delay()
    work_until(app, lambda: app.broker.client.hlen(app.broker.queue_keys("default").jobs) == 0)
    k = app.broker.queue_keys("default")
    assert 0 < app.broker.client.ttl(k.result(kept.id)) <= 60
    assert kept.result(timeout=1) == "kept"
    assert not app.broker.client.exists(k.result(never.id))
