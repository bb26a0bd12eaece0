"""`jobq cron list`, `jobq cron trigger` and `jobq scheduler` as a user runs them."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.support.jobq_run import one_error_line, run_jobq
from tests.support.processes import JobqProcess


def test_cron_list_shows_each_entry_and_trigger_runs_one_now(redis_url: str, namespace: str) -> None:
    listed = run_jobq(["cron", "list", "cron_app", "--namespace", namespace], redis_url)
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split() == [
        "NAME",
        "EXPRESSION",
        "TZ",
        "QUEUE",
        "NEXT",
        "FIRE",
        "LAST",
        "FIRE",
        "LAST",
        "OUTCOME",
    ]
    by_name = {row.split()[0]: row for row in rows}
    assert set(by_name) == {"beat", "nightly"}
    assert "* * * * * */2" in by_name["beat"] and by_name["beat"].endswith("never run")
    assert "Europe/Berlin" in by_name["nightly"] and " 02:30:00+0" in by_name["nightly"]  # Berlin time

    triggered = run_jobq(["cron", "trigger", "cron_app", "beat"], redis_url, JOBQ_NAMESPACE=namespace)
    assert triggered.returncode == 0, triggered.stderr
    job_id = triggered.stdout.strip()
    assert job_id.startswith("cron:beat:manual-")

    as_json = run_jobq(["cron", "list", "cron_app", "--json"], redis_url, JOBQ_NAMESPACE=namespace)
    entries = {e["name"]: e for e in json.loads(as_json.stdout)}
    beat = entries["beat"]
    assert (beat["last_job"], beat["last_outcome"], beat["queue"]) == (job_id, "queued", "cron")
    assert beat["last_fire"] is not None and beat["next_fire"] is not None
    assert entries["nightly"]["overlap"] == "skip" and entries["nightly"]["last_fire"] is None


def test_trigger_of_an_unknown_entry_is_a_usage_error(redis_url: str, namespace: str) -> None:
    proc = run_jobq(["cron", "trigger", "cron_app", "nope"], redis_url, JOBQ_NAMESPACE=namespace)
    assert proc.returncode == 2
    assert "no cron entry named 'nope' (entries: beat, nightly)" in one_error_line(proc)


def test_unreachable_redis_and_a_bad_app_are_one_line_errors(redis_url: str) -> None:
    down = run_jobq(["cron", "list", "cron_app", "--redis-url", "redis://127.0.0.1:1/0"], redis_url)
    assert down.returncode == 1
    assert "cannot reach Redis at redis://127.0.0.1:1/0" in one_error_line(down)
    missing = run_jobq(["scheduler", "no_such_module"], redis_url)
    assert missing.returncode == 2
    assert "no_such_module" in one_error_line(missing)


def test_a_scheduler_without_entries_stops_at_once_with_a_clear_error(
    jobq_cli: Callable[..., JobqProcess], redis_url: str, namespace: str
) -> None:
    """It used to warn and then wait forever for a tick that could never come (issue 12)."""
    proc = jobq_cli(["scheduler", "core_app"], redis_url, JOBQ_NAMESPACE=namespace, JOBQ_RUN_LOG="/dev/null")
    assert proc.wait(30) == 2
    last = proc.output().strip().splitlines()[-1]
    assert last == (
        "error: Invalid value for APP: core_app has no cron entries: decorate functions with @app.cron(...)"
        " (see 'jobq scheduler --help')"
    )
    assert "Traceback" not in proc.output()
