"""`jobq stats`, `jobq job show|cancel`, `jobq purge` and every command's error paths,
through the real console script (and click's runner where only the text matters)."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner

import jobq
from jobq.cli import cli
from jobq.keys import NamespaceKeys
from jobq.worker import Worker
from tests.apps.inspect_app import register
from tests.support.holding import hold_entries
from tests.support.inproc import work_until
from tests.support.jobq_run import one_error_line, run_jobq, run_jobq_on_terminal, run_main
from tests.support.processes import JobqProcess
from tests.support.redis_server import RedisServer, free_port
from tests.support.waiting import wait_for


@pytest.fixture
def tasks(app: jobq.App) -> dict[str, Any]:
    return register(app)


def run_cmd(args: list[str], app: jobq.App, *, stdin: str = "", real: bool = False) -> Any:
    """Run a command on the app's server and namespace: the real console script when `real`,
    else `jobq.cli.main` in this process (same handling, no interpreter start-up)."""
    full = [*args, "--namespace", app.config.namespace]
    if real:
        return run_jobq(full, app.config.redis_url, stdin=stdin)
    return run_main([*full, "--redis-url", app.config.redis_url], stdin=stdin)


def jobq_ok(args: list[str], app: jobq.App, *, stdin: str = "", real: bool = False) -> str:
    proc = run_cmd(args, app, stdin=stdin, real=real)
    assert proc.returncode == 0, proc.stderr
    assert "error" not in proc.stderr
    return str(proc.stdout)


def jobq_fails(
    args: list[str],
    app: jobq.App,
    code: int = 1,
    *,
    stdin: str = "",
    prompt: bool = False,
    real: bool = False,
) -> str:
    proc = run_cmd(args, app, stdin=stdin, real=real)
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    if prompt:  # the question goes to stderr too, on its own line
        question, error = proc.stderr.splitlines()
        assert question.endswith("[y/N]: ") and error.startswith("error: "), proc.stderr
        return str(error)
    return one_error_line(proc)


def heartbeat_worker(app: jobq.App, queues: list[str], concurrency: int = 2) -> str:
    """Settle what is queued, then publish a heartbeat and leave it (the worker stays 'live')."""

    async def go() -> str:
        worker = Worker(app, queues, concurrency)
        while await worker.step(block_ms=20):
            pass
        await worker.maintenance.heartbeat()
        await worker.broker.close()
        worker.runner.shutdown()
        return worker.id

    return asyncio.run(go())


# stats -------------------------------------------------------------------------------


def test_stats_json_is_the_contract_schema(app: jobq.App, tasks: dict[str, Any]) -> None:
    tasks["ok"].delay_many([(i,) for i in range(3)])
    tasks["boom"].delay()
    worker_id = heartbeat_worker(app, ["default"])
    tasks["ok"].delay_many([(i,) for i in range(2)])
    tasks["send"].delay("a@b.c")
    data = json.loads(jobq_ok(["stats", "--json"], app, real=True))
    queues = {q["name"]: q for q in data["queues"]}
    assert queues["default"] == {
        "name": "default",
        "backlog": 2,
        "in_flight": 0,
        "scheduled": 0,
        "dead": 1,
        "processed": 3,
        "failed": 1,
        "oldest_age_s": queues["default"]["oldest_age_s"],
        "paused": False,
        "paused_since": None,
        "expired": 0,
        "throttled": 0,
        "capped": 0,
        "priorities": {"5": 2},
    }
    assert queues["default"]["oldest_age_s"] >= 0.0 and queues["mail"]["backlog"] == 1
    (worker,) = data["workers"]
    assert worker["id"] == worker_id and worker["queues"] == ["default"]
    assert {"host", "pid", "busy", "concurrency", "last_seen_s"} <= set(worker)
    assert worker["concurrency"] == 2 and worker["busy"] == 0


def test_stats_table(app: jobq.App, tasks: dict[str, Any]) -> None:
    tasks["ok"].delay_many([(i,) for i in range(4)])
    tasks["flaky"].enqueue(delay=600)
    out = jobq_ok(["stats"], app, real=True)
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("QUEUE"))
    assert header.split()[:3] == ["QUEUE", "BACKLOG", "IN"]
    row = next(line for line in lines if line.startswith("default")).split()
    assert row[:6] == ["default", "4", "0", "1", "0", "0"]
    assert "no live workers" in out


def test_stats_on_an_empty_namespace_says_so(app: jobq.App) -> None:
    result = CliRunner().invoke(cli, ["stats", "--redis-url", app.config.redis_url, "--namespace", "emptyns"])
    assert result.exit_code == 0, result.output
    assert "no queues yet" in result.output and "no live workers" in result.output


def test_stats_watch_repeats_until_interrupted(
    app: jobq.App, tasks: dict[str, Any], jobq_cli: Callable[..., JobqProcess]
) -> None:
    tasks["ok"].delay(1)
    proc = jobq_cli(
        ["stats", "--json", "--watch", "0.2", "--namespace", app.config.namespace], app.config.redis_url
    )
    wait_for(lambda: proc.output().count("\n") >= 3, 30, "three snapshots")
    tasks["ok"].delay(2)
    wait_for(lambda: '"backlog": 2' in proc.output(), 30, "a snapshot showing the new job")
    proc.signal(signal.SIGINT)
    assert proc.wait(30) == 0
    snapshots = [json.loads(line) for line in proc.output().splitlines() if line.startswith("{")]
    assert snapshots[0]["queues"][0]["backlog"] == 1


def test_stats_watch_reports_a_redis_outage_and_carries_on(
    private_redis: Callable[..., RedisServer], jobq_cli: Callable[..., JobqProcess]
) -> None:
    server = private_redis()
    proc = jobq_cli(["stats", "--json", "--watch", "0.2", "--namespace", "w"], server.url)
    wait_for(lambda: proc.output().count('"queues"') >= 1, 30, "a first snapshot")
    server.kill()
    wait_for(lambda: "error: cannot reach Redis at" in proc.output(), 30, "the outage to be reported")
    server.start()
    seen = proc.output().count('"queues"')
    wait_for(lambda: proc.output().count('"queues"') > seen, 30, "snapshots again after the restart")
    proc.signal(signal.SIGINT)
    assert proc.wait(30) == 0
    assert "Traceback" not in proc.output()


# job show / cancel ---------------------------------------------------------------------


def test_job_show_dead_job(app: jobq.App, tasks: dict[str, Any]) -> None:
    job = tasks["boom"].delay("bad input")
    work_until(app, lambda: job.status() == "dead")
    out = jobq_ok(["job", "show", job.id], app, real=True)
    assert "state:       dead" in out and "attempts:    1" in out
    assert "last error:  ValueError: bad input" in out and "Traceback" in out
    data = json.loads(jobq_ok(["job", "show", job.id, "--json"], app))
    assert (data["state"], data["attempts"], data["task"], data["queue"]) == ("dead", 1, "boom", "default")
    assert data["last_error"] == "ValueError: bad input" and data["args"] == ["bad input"]
    assert "ValueError" in data["traceback"]


def test_job_show_queued_scheduled_and_succeeded(app: jobq.App, tasks: dict[str, Any]) -> None:
    queued = tasks["ok"].delay(41)
    later = tasks["ok"].enqueue(args=(1,), delay=600)
    shown = json.loads(jobq_ok(["job", "show", queued.id, "--json"], app))
    assert (shown["state"], shown["attempts"], shown["last_error"], shown["args"]) == (
        "queued",
        0,
        None,
        [41],
    )
    shown = json.loads(jobq_ok(["job", "show", later.id, "--json"], app))
    assert shown["state"] == "scheduled" and shown["due_at"] > shown["enqueued_at"]
    work_until(app, lambda: queued.status() == "succeeded")
    shown = json.loads(jobq_ok(["job", "show", queued.id, "--json"], app))
    assert (shown["state"], shown["result"]) == ("succeeded", 41)


def test_job_cancel(app: jobq.App, tasks: dict[str, Any]) -> None:
    job = tasks["ok"].enqueue(args=(1,), delay=600)
    assert jobq_ok(["job", "cancel", job.id], app, real=True).strip() == f"cancelled job {job.id}"
    assert job.status() == "cancelled"
    assert "already cancelled" in jobq_ok(["job", "cancel", job.id], app)
    done = tasks["ok"].delay(2)
    work_until(app, lambda: done.status() == "succeeded")
    assert "already finished (succeeded)" in jobq_fails(["job", "cancel", done.id], app, real=True)


def test_job_cancel_running_asks_the_worker(app: jobq.App, tasks: dict[str, Any]) -> None:
    job = tasks["slow"].delay(30)
    hold_entries(app, "default", 1)  # as if a worker held it
    assert "asked its worker to stop" in jobq_ok(["job", "cancel", job.id], app)


@pytest.mark.parametrize("command", [["job", "show"], ["job", "cancel"], ["explain"]])
def test_unknown_job_id(app: jobq.App, tasks: dict[str, Any], command: list[str]) -> None:
    tasks["ok"].delay(1)
    line = jobq_fails([*command, "no-such-job"], app, real=command == ["explain"])
    assert "no job 'no-such-job'" in line


# purge --------------------------------------------------------------------------------


def test_purge_asks_first_and_keeps_everything_when_not_confirmed(
    app: jobq.App, tasks: dict[str, Any]
) -> None:
    jobs = tasks["ok"].delay_many([(i,) for i in range(3)])
    line = jobq_fails(["purge", "default"], app, stdin="n\n", prompt=True, real=True)
    assert "not confirmed" in line
    assert [j.status() for j in jobs] == ["queued"] * 3
    assert "not confirmed" in jobq_fails(["purge", "default"], app, prompt=True)  # end of input


def test_purge_asks_on_a_terminal_and_reads_yes_from_a_pipe(app: jobq.App, tasks: dict[str, Any]) -> None:
    jobs = tasks["ok"].delay_many([(i,) for i in range(2)])
    args = ["purge", "default", "--namespace", app.config.namespace]
    proc = run_jobq_on_terminal(args, app.config.redis_url, "n\n")
    assert proc.returncode == 1 and "Cancel the 2 queued and 0 scheduled job(s)" in proc.stderr, proc.stderr
    assert [j.status() for j in jobs] == ["queued"] * 2
    assert "2 queued and 0 scheduled job(s) cancelled" in jobq_ok(["purge", "default"], app, stdin="yes\n")
    assert [j.status() for j in jobs] == ["cancelled"] * 2


def test_purge_cancels_waiting_jobs_and_leaves_in_flight_ones(app: jobq.App, tasks: dict[str, Any]) -> None:
    held = tasks["slow"].delay(30)
    hold_entries(app, "default", 1)
    k = NamespaceKeys(app.config.namespace).queue("default")
    waiting = tasks["ok"].delay_many([(i,) for i in range(700)])  # more than one batch
    later = tasks["ok"].enqueue(args=(1,), delay=600)
    doomed = tasks["boom"].delay()
    app.broker.client.xadd(k.dead, {"j": "{}", "d": "{}"})  # a dead letter, which purge keeps
    out = jobq_ok(["purge", "default"], app, stdin="y\n", real=True)
    assert "701 queued and 1 scheduled job(s) cancelled" in out, out
    assert {j.status() for j in waiting[::50]} == {"cancelled"}
    assert later.status() == "cancelled" and doomed.status() == "cancelled"
    assert held.status() == "running"
    with pytest.raises(jobq.JobFailed, match="cancelled"):
        waiting[0].result(timeout=5)
    snap = json.loads(jobq_ok(["stats", "--json"], app))["queues"][0]
    assert (snap["backlog"], snap["in_flight"], snap["scheduled"], snap["dead"]) == (0, 1, 0, 1)
    assert "nothing waiting" in jobq_ok(["purge", "default", "--yes"], app)


def test_purge_unknown_queue(app: jobq.App, tasks: dict[str, Any]) -> None:
    tasks["ok"].delay(1)
    assert "no queue 'nope'" in jobq_fails(["purge", "nope", "--yes"], app)


# error paths of every command ----------------------------------------------------------

EVERY_COMMAND = [
    ["stats"],
    ["stats", "--json"],
    ["dlq", "list", "default"],
    ["dlq", "show", "default", "abc"],
    ["dlq", "requeue", "default", "--all"],
    ["dlq", "requeue", "default", "abc"],
    ["dlq", "purge", "default", "--yes"],
    ["job", "show", "abc"],
    ["job", "cancel", "abc"],
    ["explain", "abc"],
    ["purge", "default", "--yes"],
    ["metrics", "--port", "0"],
]


@pytest.mark.parametrize("args", EVERY_COMMAND, ids=lambda a: " ".join(a))
def test_unreachable_redis_is_one_line_and_exit_1(args: list[str]) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    proc = run_main([*args, "--redis-url", url])
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert one_error_line(proc).startswith(f"error: cannot reach Redis at {url}")


@pytest.mark.parametrize("args", [["stats"], ["dlq", "list", "default"]], ids=lambda a: " ".join(a))
def test_unreachable_redis_from_the_console_script(args: list[str]) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    proc = run_jobq([*args, "--redis-url", url], "redis://127.0.0.1:1/0")
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert one_error_line(proc).startswith(f"error: cannot reach Redis at {url}: ")


BAD_USAGE = [
    ["stats", "--watch", "0"],
    ["stats", "--bogus"],
    ["dlq", "list"],
    ["dlq", "list", "bad queue"],
    ["dlq", "requeue", "default"],
    ["dlq", "requeue", "default", "--all", "abc"],
    ["dlq", "show", "default"],
    ["job", "show"],
    ["job", "frobnicate", "abc"],
    ["explain"],
    ["purge"],
    ["metrics", "--port", "70000"],
]


@pytest.mark.parametrize("args", BAD_USAGE, ids=lambda a: " ".join(a))
def test_bad_usage_exits_2(app: jobq.App, tasks: dict[str, Any], args: list[str]) -> None:
    tasks["ok"].delay(1)
    proc = run_main([*args, "--redis-url", app.config.redis_url, "--namespace", app.config.namespace])
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "--help" in one_error_line(proc)


def test_bad_usage_from_the_console_script(app: jobq.App, tasks: dict[str, Any]) -> None:
    tasks["ok"].delay(1)
    line = jobq_fails(["dlq", "requeue", "default"], app, code=2, real=True)
    assert line == "error: give either --all or one or more JOB_IDs (see 'jobq dlq requeue --help')"
