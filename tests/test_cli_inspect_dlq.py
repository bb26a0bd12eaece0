"""`jobq dlq list|show|requeue|purge` against real dead letters made by a real worker."""

from __future__ import annotations

import json
from typing import Any

import pytest

import jobq
from jobq import dlq
from jobq.keys import NamespaceKeys
from tests.apps.inspect_app import register
from tests.support.inproc import work_until
from tests.support.jobq_run import one_error_line, run_jobq, run_jobq_on_terminal, run_main


@pytest.fixture
def tasks(app: jobq.App) -> dict[str, Any]:
    return register(app)


def run(args: list[str], app: jobq.App, *, stdin: str = "", real: bool = False) -> Any:
    full = [*args, "--namespace", app.config.namespace]
    if real:
        return run_jobq(full, app.config.redis_url, stdin=stdin)
    return run_main([*full, "--redis-url", app.config.redis_url], stdin=stdin)


def ok(args: list[str], app: jobq.App, **kw: Any) -> str:
    proc = run(args, app, **kw)
    assert proc.returncode == 0, proc.stderr
    return str(proc.stdout)


def dead_jobs(app: jobq.App, tasks: dict[str, Any], n: int) -> list[jobq.Job[Any]]:
    jobs = tasks["boom"].delay_many([(f"bad {i}",) for i in range(n)])
    work_until(app, lambda: all(j.status() == "dead" for j in jobs), concurrency=min(n, 32))
    return list(jobs)


def dead_count(app: jobq.App, queue: str = "default") -> int:
    return int(app.broker.client.xlen(NamespaceKeys(app.config.namespace).queue(queue).dead))


def test_list_shows_each_dead_job(app: jobq.App, tasks: dict[str, Any]) -> None:
    jobs = dead_jobs(app, tasks, 3)
    data = json.loads(ok(["dlq", "list", "default", "--json"], app, real=True))
    assert sorted(d["id"] for d in data) == sorted(j.id for j in jobs)
    assert [d["entry_id"] for d in data] == sorted((d["entry_id"] for d in data), key=dlq._id_key)
    first = next(d for d in data if d["id"] == jobs[0].id)
    assert (first["task"], first["error"], first["attempts"]) == ("boom", "ValueError: bad 0", 1)
    assert "retries exhausted" in first["reason"] and first["time"] > 0
    text = ok(["dlq", "list", "default"], app, real=True)
    assert text.splitlines()[0] == "3 dead jobs in queue default"
    assert text.splitlines()[1].split() == ["ID", "TASK", "ATTEMPTS", "TIME", "REASON", "ERROR"]
    assert all(j.id in text for j in jobs) and "ValueError: bad 2" in text


def test_list_limit_and_empty(app: jobq.App, tasks: dict[str, Any]) -> None:
    tasks["ok"].delay(1)
    assert ok(["dlq", "list", "default"], app).strip() == "no dead jobs in queue default"
    assert json.loads(ok(["dlq", "list", "default", "--json"], app)) == []
    dead_jobs(app, tasks, 3)
    assert len(json.loads(ok(["dlq", "list", "default", "--json", "--limit", "2"], app))) == 2
    assert "oldest 2 shown" in ok(["dlq", "list", "default", "--limit", "2"], app)


def test_show_one_dead_job_in_full(app: jobq.App, tasks: dict[str, Any]) -> None:
    (job,) = dead_jobs(app, tasks, 1)
    data = json.loads(ok(["dlq", "show", "default", job.id, "--json"], app, real=True))
    assert (data["id"], data["args"], data["kwargs"], data["attempts"]) == (job.id, ["bad 0"], {}, 1)
    assert "ValueError: bad 0" in data["traceback"] and data["worker"]
    text = ok(["dlq", "show", "default", job.id], app)
    assert "traceback:" in text and 'args:      ["bad 0"]' in text
    proc = run(["dlq", "show", "default", "nope"], app)
    assert proc.returncode == 1
    assert "not in the dead-letter stream of queue 'default'" in one_error_line(proc)


def test_undecodable_entry_is_listed_and_shown_by_entry_id(app: jobq.App, tasks: dict[str, Any]) -> None:
    tasks["ok"].delay(1)
    k = NamespaceKeys(app.config.namespace).queue("default")
    app.broker.client.xadd(k.stream, {"j": "not json"})
    work_until(app, lambda: dead_count(app) == 1)
    (entry,) = json.loads(ok(["dlq", "list", "default", "--json"], app))
    assert entry["id"] == "" and "undecodable" in entry["reason"]
    shown = json.loads(ok(["dlq", "show", "default", entry["entry_id"], "--json"], app))
    assert shown["entry_id"] == entry["entry_id"] and shown["args"] is None
    out = run(["dlq", "requeue", "default", "--all"], app)
    assert out.returncode == 0 and "undecodable payload: cannot be replayed" in out.stderr
    assert dead_count(app) == 1


def test_requeue_runs_again_under_the_same_id_with_attempts_afresh(app: jobq.App) -> None:
    attempts: list[int] = []
    fail = [True]

    @app.task(name="flip", retries=1, backoff=0.01, backoff_max=0.01)
    def flip() -> str:
        attempts.append(jobq.current_job().attempt)
        if fail[0]:
            raise RuntimeError("still broken")
        return "fixed"

    job = flip.delay()
    work_until(app, lambda: job.status() == "dead")
    assert attempts == [1, 2]
    out = ok(["dlq", "requeue", "default", job.id], app, real=True)
    assert out.strip() == "requeued 1 job into queue default"
    assert job.status() == "queued"  # when the command has returned
    assert dead_count(app) == 0
    shown = json.loads(ok(["job", "show", job.id, "--json"], app))
    assert (shown["state"], shown["attempts"]) == ("queued", 0)
    fail[0] = False
    work_until(app, lambda: job.status() == "succeeded")
    assert attempts == [1, 2, 1] and job.result(timeout=5) == "fixed"


def test_requeue_named_ids_reports_the_missing_ones(app: jobq.App, tasks: dict[str, Any]) -> None:
    jobs = dead_jobs(app, tasks, 2)
    proc = run(["dlq", "requeue", "default", jobs[0].id, "nope", jobs[0].id], app)
    assert proc.returncode == 1
    assert proc.stdout.strip() == "requeued 1 job into queue default"
    assert proc.stderr.splitlines() == [
        "skipped nope: not in the dead-letter stream",
        "error: 1 of 2 jobs were not requeued",
    ]
    assert jobs[0].status() == "queued" and jobs[1].status() == "dead"


def test_requeue_all_goes_through_every_batch(app: jobq.App, tasks: dict[str, Any]) -> None:
    jobs = dead_jobs(app, tasks, dlq.BATCH * 2 + 5)
    out = ok(["dlq", "requeue", "default", "--all"], app)
    assert out.strip() == f"requeued {len(jobs)} jobs into queue default"
    assert dead_count(app) == 0
    assert {j.status() for j in jobs} == {"queued"}
    assert ok(["dlq", "requeue", "default", "--all"], app).strip() == "requeued 0 jobs into queue default"


def test_requeue_all_leaves_entries_that_arrive_meanwhile(app: jobq.App, tasks: dict[str, Any]) -> None:
    """The walk stops at the entry that was newest when it started (`until`)."""
    jobs = dead_jobs(app, tasks, 2)
    last = app.broker.dead_last_id("default")
    assert last is not None
    k = NamespaceKeys(app.config.namespace).queue("default")
    later = app.broker.client.xadd(k.dead, {"j": '{"id":"late","t":"boom","a":[]}', "d": "{}"})
    replay = dlq.requeue_all(app.broker, "default", until=last)
    assert sorted(replay.requeued) == sorted(j.id for j in jobs)
    assert [e for e, _ in app.broker.dead_entries("default")] == [later]  # ...the late one kept


def test_purge_dead_letters_asks_on_a_terminal(app: jobq.App, tasks: dict[str, Any]) -> None:
    dead_jobs(app, tasks, 3)
    args = ["dlq", "purge", "default", "--namespace", app.config.namespace]
    proc = run_jobq_on_terminal(args, app.config.redis_url, "n\n")
    assert proc.returncode == 1, proc.stderr
    assert "Delete the 3 dead job(s) of queue default for good? [y/N]" in proc.stderr
    # the typed answer and its newline are echoed on the terminal, not into this pipe
    assert proc.stderr.rstrip().endswith(
        "[y/N]: error: not confirmed, nothing deleted (pass --yes to skip the question)"
    )
    assert dead_count(app) == 3
    proc = run_jobq_on_terminal(args, app.config.redis_url, "y\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "deleted 3 dead jobs from queue default"
    assert dead_count(app) == 0
    assert "is empty" in ok(["dlq", "purge", "default", "--yes"], app)


@pytest.mark.parametrize("answer", ["n\n", "", "maybe\n"])
def test_purge_dead_letters_from_a_pipe_deletes_nothing_unless_told_yes(
    app: jobq.App, tasks: dict[str, Any], answer: str
) -> None:
    """As the README's CLI reference says: without --yes the answer is read from piped
    stdin; "n", an empty pipe (end of input) or anything else deletes nothing and exits 1."""
    dead_jobs(app, tasks, 2)
    proc = run(["dlq", "purge", "default"], app, stdin=answer, real=True)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Delete the 2 dead job(s) of queue default for good? [y/N]" in proc.stderr
    refusal = "error: not confirmed, nothing deleted (pass --yes to skip the question)"
    assert proc.stderr.rstrip().endswith(refusal)
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert dead_count(app) == 2


def test_purge_dead_letters_from_a_pipe_answered_yes(app: jobq.App, tasks: dict[str, Any]) -> None:
    dead_jobs(app, tasks, 2)
    proc = run(["dlq", "purge", "default"], app, stdin="yes\n", real=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "deleted 2 dead jobs from queue default"
    assert dead_count(app) == 0


def test_unknown_queue_is_an_error_naming_the_known_ones(app: jobq.App, tasks: dict[str, Any]) -> None:
    tasks["ok"].delay(1)
    tasks["send"].delay("x")
    proc = run(["dlq", "list", "defualt"], app)
    assert proc.returncode == 1
    assert one_error_line(proc).endswith("(known queues: default, mail)")
