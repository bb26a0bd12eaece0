"""A job id chosen by the caller and used again after its run finished starts a new run
from a clean slate, whatever that run's end (issue 11, item 3): no outcome, error or dead
letter of the earlier run is shown as the new one's, and none can be replayed over it."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis

import jobq
from jobq.keys import NamespaceKeys
from tests.apps.inspect_app import register
from tests.support.inproc import work_until
from tests.support.jobq_run import run_main


@pytest.fixture
def tasks(app: jobq.App) -> dict[str, Any]:
    @app.task(name="maybe", retries=0)
    def maybe(fail: bool, value: int) -> int:
        if fail:
            raise LookupError("WeirdError")
        return value

    return {**register(app), "maybe": maybe}


def jobq_cmd(app: jobq.App, *args: str) -> tuple[int, str, str]:
    proc = run_main([*args, "--namespace", app.config.namespace, "--redis-url", app.config.redis_url])
    return proc.returncode, str(proc.stdout), str(proc.stderr)


def show(app: jobq.App, job_id: str) -> dict[str, Any]:
    code, out, err = jobq_cmd(app, "job", "show", job_id, "--json")
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


def dead_ids(app: jobq.App) -> list[str]:
    code, out, err = jobq_cmd(app, "dlq", "list", "default", "--json")
    assert code == 0, err
    return [d["id"] for d in json.loads(out)]


def test_reenqueue_of_a_finished_id_waits_for_the_new_run(app: jobq.App, tasks: dict[str, Any]) -> None:
    first = tasks["ok"].enqueue(args=(1,), job_id="report-7")
    work_until(app, lambda: first.status() == "succeeded")
    assert first.result(timeout=1) == 1
    second = tasks["ok"].enqueue(args=(2,), job_id="report-7")
    assert second.status() == "queued"
    with pytest.raises(TimeoutError):  # the first run's value must not answer for the second
        second.result(timeout=0.3)
    work_until(app, lambda: second.status() == "succeeded")
    assert second.result(timeout=1) == 2


def finish_first_run(app: jobq.App, tasks: dict[str, Any], end: str) -> jobq.Job[Any]:
    """Run job `again` once, ending `end`: succeeded, dead or cancelled."""
    if end == "cancelled":
        job = tasks["maybe"].enqueue(args=(False, 1), job_id="again", delay=600)
        assert job.cancel()
    else:
        job = tasks["maybe"].enqueue(args=(end == "dead", 1), job_id="again")
        work_until(app, lambda: job.status() == end)
    assert job.status() == end
    return job


@pytest.mark.parametrize("end", ["succeeded", "dead", "cancelled"])
def test_a_reused_id_starts_from_a_clean_slate(app: jobq.App, tasks: dict[str, Any], end: str) -> None:
    finish_first_run(app, tasks, end)
    job = tasks["maybe"].enqueue(args=(False, 2), job_id="again")
    shown = show(app, job.id)
    assert (shown["state"], shown["last_error"], shown.get("result")) == ("queued", None, None)
    assert shown["args"] == [False, 2]
    assert job.id not in dead_ids(app)
    with pytest.raises(TimeoutError):
        job.result(timeout=0.2)

    work_until(app, lambda: job.status() == "succeeded")
    shown = show(app, job.id)
    assert (shown["state"], shown["last_error"], shown["attempts"]) == ("succeeded", None, 1)
    assert shown["result"] == 2
    code, _, err = jobq_cmd(app, "dlq", "requeue", "default", job.id)
    assert code == 1 and "not in the dead-letter stream" in err
    assert (job.status(), job.result(timeout=1)) == ("succeeded", 2)


def test_a_stale_dead_letter_cannot_replay_over_a_newer_run(app: jobq.App, tasks: dict[str, Any]) -> None:
    """A dead letter left for an id that has run again since (as older versions left them)
    is removed by `dlq requeue`, never replayed over the newer run."""
    finish_first_run(app, tasks, "dead")
    k = NamespaceKeys(app.config.namespace).queue("default")
    client = redis.Redis.from_url(app.config.redis_url, decode_responses=True)
    ((_, fields),) = client.xrange(k.dead)  # type: ignore[misc]
    job = tasks["maybe"].enqueue(args=(False, 2), job_id="again")
    work_until(app, lambda: job.status() == "succeeded")
    client.hset(k.dead_index, job.id, str(client.xadd(k.dead, fields)))  # the old letter, back

    code, _, err = jobq_cmd(app, "dlq", "requeue", "default", job.id)
    assert code == 1 and "stale: a newer run of this id exists" in err
    assert dead_ids(app) == []
    assert (job.status(), job.result(timeout=1)) == ("succeeded", 2)
