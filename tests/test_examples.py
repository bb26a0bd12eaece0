"""Every example in examples/ runs end to end: a real `jobq worker` for the example's app,
then the example's own script, against the suite's redis-server (one database each)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import JobqProcess, env_for, jobq_executable
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SCRIPT_TIMEOUT_S = 120


@dataclass(frozen=True)
class Example:
    module: str
    db: int  # each example gets a database of its own on the shared server
    expect: list[str]  # regexes its output must match
    worker_args: list[str] = field(default_factory=list)
    then: Callable[[str], None] | None = None  # a further check, given the Redis URL


def dead_letters_are_listed_with_their_reasons(url: str) -> None:
    """After retries_and_dead_letters: `jobq dlq list billing` shows the two dead jobs."""
    listed = subprocess.run(
        [*jobq_executable(), "dlq", "list", "billing", "--json"],
        cwd=EXAMPLES,
        env=script_env(url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    text = listed.stdout
    assert "billing.invoice" in text and "has no billing address" in text
    assert "billing.sync" in text and "negative ledger entry" in text
    assert "billing.charge" not in text  # retried to success: never dead


CASES = [
    Example(
        "quickstart",
        1,
        [
            r"a plain call runs here and now: 2",
            r"2 \+ 3 = 5",
            r"slug: hello-background-jobs",
            r"delayed job is scheduled; result after the delay: 42",
            r"same job for the same key: True 3",
            r"batch: \[0, 2, 4, 6, 8\]",
        ],
    ),
    Example(
        "async_tasks",
        2,
        [
            r"40 fetches of 0\.5 s each finished in [\d.]+ s",
            r"'status': 200",
            r"slow_report failed: JobTimeout: timed out after 1\.0s",
        ],
        ["-c", "50"],
    ),
    Example(
        "retries_and_dead_letters",
        3,
        [
            r"charge  -> succeeded: charged 25\.99 for A-1001 on attempt 3",
            r"refund  -> succeeded: refunded A-0999",
            r"invoice -> dead: Reject: order A-1002 has no billing address",
            r"sync    -> dead: ValueError: negative ledger entry",
        ],
        then=dead_letters_are_listed_with_their_reasons,
    ),
    Example(
        "cron_jobs",
        9,
        [r"heartbeat tick ran \(total 3\)", r"3 ticks, one every 2 s"],
        ["--beat"],
    ),
    Example(
        "batch_fanout",
        4,
        [r"enqueued 60 parts", r"25997 primes below 300,000, counted in 60 parts"],
        ["-p", "2"],
    ),
    Example(
        "chaining",
        5,
        [
            r"steps: 3",
            r"step 1: \['tea', 'scone', 'jam', 'tea'\]",
            r"step 2: 1095",
            r"step 3: receipt for order-7: 10\.95 EUR",
            r"final result: receipt for order-7: 10\.95 EUR",
            r"immutable step: order-7 done",
        ],
    ),
    Example(
        "photo_album",
        13,
        [
            r"album job: waiting",
            r"members: 10 of 10 finished, 0 failed",
            r"first member's progress: 100% \(IMG_0001\.jpg: pass 4 of 4\)",
            r"album: Holiday 2026: 10 photos, first IMG_0001-800\.jpg, last IMG_0010-800\.jpg",
            r"album progress: Progress\(fraction=1\.0, message='10 photos laid out'\)",
        ],
        ["-c", "8"],
    ),
    Example(
        "db_pool",
        10,
        [
            r"40 visits recorded through [12] pool\(s\) in [12] worker process\(es\)",
            r"one pool per process: True",
        ],
        ["-p", "2"],
    ),
    Example(
        "pause_queue",
        11,
        [
            r"while paused: \['queued', 'queued', 'queued'\]",
            r"after resume: \['report 0 built', 'report 1 built', 'report 2 built'\]",
        ],
    ),
    Example(
        "expiring_jobs",
        12,
        [
            r"fresh: sent 1234 to \+15550100",
            r"deadline: sent 5555 to \+15550102",
            r"stale: expired - job [0-9a-f]+ expired before it started",
        ],
    ),
    Example(
        "weighted_queues",
        13,
        [r"of 200 jobs started while all had backlog: critical 1[0-3]\d, default [4-7]\d, bulk [1-3]\d$"],
        ["-q", "critical:6", "-q", "default:3", "-q", "bulk:1"],
    ),
    Example(
        "request_ids",
        6,
        [rf"A-{i}: request req-\w+; place_order saw req-\w+, send_receipt saw req-\w+" for i in (1, 2, 3)]
        + [rf"A-{i}: one id end to end: True" for i in (1, 2, 3)],
        ["--log-format", "json"],
    ),
    Example(
        "error_reporting",
        14,
        [
            r"job failed: ValueError: ledger for acct-42 is out of balance",
            r"reported: error_reporting.sync_ledger attempt 1 \(attempt failed\): ValueError",
            r"reported: error_reporting.sync_ledger attempt 2 \(attempt failed\): ValueError",
            r"reported: error_reporting.sync_ledger attempt 2 \(retries exhausted after 2 attempts",
        ],
    ),
    Example(
        "tracing",
        15,
        [
            r"result: thumb-cat\.jpg",
            r"web request +SpanKind\.INTERNAL",
            r"send default +SpanKind\.PRODUCER",
            r"process default +SpanKind\.CONSUMER",
            r"resize +SpanKind\.INTERNAL",
            r"one trace: True",
        ],
    ),
    Example(
        "priorities",
        0,
        [
            r"levels queued: \{'9': 1, '6': 1, '5': 0, '1': 2000\}",
            r"reset link for ada@example\.com sent \d+ ms after resume",
            r"newsletters still queued behind it: True",
        ],
    ),
    Example(
        "rate_limits",
        0,
        [r"acme: 15 calls in [2-9]\.\d s, at most [1-5] in any second", r"globex: 15 calls in [2-9]\.\d s"],
        ["-p", "2"],
    ),
    Example(
        "concurrency_caps",
        0,
        [r"acme: 6 exports, at most 2 at once", r"globex: 6 exports, at most 2 at once"],
        ["-p", "2", "-c", "8"],
    ),
]


def db_url(server: RedisServer, db: int) -> str:
    return f"redis://127.0.0.1:{server.port}/{db}"


def script_env(url: str) -> dict[str, str]:
    env = env_for(url)
    env["PYTHONPATH"] = str(EXAMPLES)
    return env


def start_worker(jobq_cli: Callable[..., JobqProcess], module: str, url: str, args: list[str]) -> JobqProcess:
    return jobq_cli(["worker", module, *args], url, PYTHONPATH=str(EXAMPLES))


def stop_worker(worker: JobqProcess) -> None:
    worker.signal(signal.SIGTERM)
    assert worker.wait(60) == 0, worker.output()


def run_script(name: str, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, name],
        cwd=EXAMPLES,
        env=script_env(url),
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT_S,
    )


@pytest.mark.parametrize("example", CASES, ids=[c.module for c in CASES])
def test_example_runs_end_to_end(
    example: Example, redis_server: RedisServer, jobq_cli: Callable[..., JobqProcess]
) -> None:
    url = db_url(redis_server, example.db)
    worker = start_worker(jobq_cli, example.module, url, example.worker_args)

    proc = run_script(f"{example.module}.py", url)

    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}\nworker log:\n{worker.output()}"
    for pattern in example.expect:
        assert re.search(pattern, proc.stdout), f"{pattern!r} not in:\n{proc.stdout}"
    stop_worker(worker)
    if example.then is not None:
        example.then(url)


def http(method: str, url: str, body: bytes | None = None) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_web_producer_enqueues_from_requests_and_reports_job_status(
    redis_server: RedisServer, jobq_cli: Callable[..., JobqProcess], tmp_path: Path
) -> None:
    url = db_url(redis_server, 7)
    worker = start_worker(jobq_cli, "web_producer", url, [])
    out = tmp_path / "web.out"
    with open(out, "wb") as sink:
        server = subprocess.Popen(
            [sys.executable, "web_producer.py", "--port", "0"],
            cwd=EXAMPLES,
            env=script_env(url),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        line = wait_for(lambda: re.search(r"http://127\.0\.0\.1:\d+", out.read_text()), 30, "the server")
        base = line.group(0)
        signup = json.dumps({"email": "ada@example.com"}).encode()

        first = http("POST", f"{base}/signup", signup)
        second = http("POST", f"{base}/signup", signup)  # a double click: the same job
        assert first[0] == 202 and first == second
        status_url = base + first[1]["status_url"]

        done = wait_for(lambda: http("GET", status_url)[1].get("result"), 30, "the welcome mail job")
        assert done == "welcome mail sent to ada@example.com"
        assert http("POST", f"{base}/signup", b"not json")[0] == 400
        assert http("GET", f"{base}/jobs/no-such-job")[0] == 404
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)
    assert server.returncode == 0, out.read_text()
    stop_worker(worker)


def test_testing_example_suite_passes_against_a_real_redis(redis_server: RedisServer) -> None:
    env = {k: v for k, v in os.environ.items() if k != "JOBQ_REDIS_URL"}
    env["JOBQ_TEST_REDIS_URL"] = db_url(redis_server, 8)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "."],
        cwd=EXAMPLES / "testing",
        env=env,
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT_S,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "4 passed" in proc.stdout


def test_request_ids_reach_the_worker_log_lines_of_every_job_they_caused(
    redis_server: RedisServer, jobq_cli: Callable[..., JobqProcess]
) -> None:
    url = db_url(redis_server, 6)  # the request_ids example's database: run after it
    worker = start_worker(jobq_cli, "request_ids", url, ["--log-format", "json"])
    proc = run_script("request_ids.py", url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    stop_worker(worker)
    rids = re.findall(r"request (req-\w+);", proc.stdout)
    assert len(set(rids)) == 3
    lines = [json.loads(line) for line in worker.output().splitlines() if line.startswith("{")]
    for event in ("order.placed", "receipt.sent"):
        assert sorted(e.get("request_id") for e in lines if e["event"] == event) == sorted(rids), event
