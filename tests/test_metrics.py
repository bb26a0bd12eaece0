"""Prometheus metrics: the collector against a real Redis, and both endpoints scraped over
HTTP on loopback (`jobq metrics` and `jobq worker --metrics-port`)."""

from __future__ import annotations

import math
import signal
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

import jobq
from jobq import metrics
from tests.apps.inspect_app import register
from tests.support.inproc import work_until
from tests.support.jobq_run import one_error_line, run_jobq
from tests.support.processes import JobqProcess
from tests.support.redis_server import RedisServer, free_port
from tests.support.waiting import wait_for

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def scrape(port: int) -> Samples | None:
    """GET /metrics on loopback; None while nothing answers yet."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
            assert reply.status == 200
            return parse(reply.read().decode())
    except (urllib.error.URLError, ConnectionError):
        return None


@pytest.fixture
def tasks(app: jobq.App) -> dict[str, Any]:
    return register(app)


def test_cumulative_buckets() -> None:
    assert metrics.cumulative([(0.1, 2), (1.0, 0), (math.inf, 1)]) == [("0.1", 2), ("1.0", 2), ("+Inf", 3)]
    assert metrics.cumulative([(0.5, 4)]) == [("0.5", 4), ("+Inf", 4)]
    assert metrics.cumulative([]) == [("+Inf", 0)]


def test_collector_reports_queues_tasks_and_durations(app: jobq.App, tasks: dict[str, Any]) -> None:
    done = tasks["ok"].delay_many([(i,) for i in range(3)])
    failed = tasks["boom"].delay()
    work_until(app, lambda: failed.status() == "dead" and all(j.status() == "succeeded" for j in done))
    tasks["ok"].delay_many([(i,) for i in range(2)])
    tasks["ok"].enqueue(args=(1,), delay=600)
    samples = parse(generate_latest(metrics.registry_for(app)).decode())
    assert value(samples, "jobq_up") == 1
    assert value(samples, "jobq_queue_backlog", queue="default") == 2
    assert value(samples, "jobq_queue_scheduled", queue="default") == 1
    assert value(samples, "jobq_queue_dead", queue="default") == 1
    assert value(samples, "jobq_queue_in_flight", queue="default") == 0
    assert value(samples, "jobq_queue_oldest_age_seconds", queue="default") >= 0
    assert value(samples, "jobq_jobs_processed_total", queue="default", task="ok") == 3
    assert value(samples, "jobq_jobs_failed_total", queue="default", task="boom") == 1
    assert value(samples, "jobq_job_duration_seconds_count", queue="default", task="ok") == 3
    assert value(samples, "jobq_job_duration_seconds_bucket", queue="default", task="ok", le="+Inf") == 3
    assert value(samples, "jobq_job_duration_seconds_sum", queue="default", task="ok") >= 0
    assert value(samples, "jobq_workers") == 0  # the in-process worker deregistered


def test_collector_says_down_when_redis_is_unreachable() -> None:
    app = jobq.App(f"redis://127.0.0.1:{free_port()}/0", namespace="x")
    samples = parse(generate_latest(metrics.registry_for(app)).decode())
    assert samples == {("jobq_up", frozenset()): 0.0}


def test_exporter_scraped_over_http_survives_a_redis_restart(
    private_redis: Callable[..., RedisServer], jobq_cli: Callable[..., JobqProcess]
) -> None:
    server = private_redis(aof=True)
    app = jobq.App(server.url, namespace="m1")
    register(app)["ok"].delay_many([(i,) for i in range(4)])
    port = free_port()
    proc = jobq_cli(["metrics", "--port", str(port), "--host", "127.0.0.1", "--namespace", "m1"], server.url)
    samples = wait_for(lambda: scrape(port), 60, "the exporter to answer")
    assert value(samples, "jobq_up") == 1 and value(samples, "jobq_queue_backlog", queue="default") == 4
    server.kill()
    down = wait_for(lambda: scrape(port), 60, "a scrape while Redis is down")
    assert value(down, "jobq_up") == 0
    server.start()
    wait_for(lambda: (s := scrape(port)) and value(s, "jobq_up") == 1, 60, "the exporter to see Redis again")
    proc.signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    assert "metrics.stopped" in proc.output()


def _command_waits_unread(port: int) -> bool:
    """A client's command sits unread in the socket of the (stopped) server at `port`."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            unread = int(fields[4].split(":")[1], 16)
            if local_port == port and fields[3] == "01" and unread > 0:  # 01: established
                return True
    return False


def test_sigterm_in_the_middle_of_a_scrape_stops_the_exporter(
    private_redis: Callable[..., RedisServer], jobq_cli: Callable[..., JobqProcess]
) -> None:
    server = private_redis()
    port = free_port()
    proc = jobq_cli(["metrics", "--port", str(port), "--host", "127.0.0.1", "--namespace", "m2"], server.url)
    wait_for(lambda: scrape(port), 60, "the exporter to answer")
    server.stop()  # SIGSTOP: the next scrape waits on Redis, up to the client's socket timeout
    try:
        threading.Thread(target=scrape, args=(port,), daemon=True).start()
        wait_for(lambda: _command_waits_unread(server.port), 30, "the scrape to wait on Redis")
        proc.signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        server.resume()
    assert "metrics.stopped" in proc.output()


def test_worker_metrics_port(
    app: jobq.App, tasks: dict[str, Any], jobq_cli: Callable[..., JobqProcess]
) -> None:
    jobs = tasks["ok"].delay_many([(i,) for i in range(5)])
    port = free_port()
    proc = jobq_cli(
        ["worker", "inspect_app", "-c", "2", "-q", "default", "--metrics-port", str(port)],
        app.config.redis_url,
        JOBQ_NAMESPACE=app.config.namespace,
    )

    def drained() -> Samples | None:
        s = scrape(port) or {}
        processed = s.get(("jobq_jobs_processed_total", frozenset({("queue", "default"), ("task", "ok")})))
        return s if s.get(("jobq_workers", frozenset())) == 1 and processed == 5 else None

    samples = wait_for(drained, 60, "the worker's endpoint to show its processed jobs")
    assert {j.status() for j in jobs} == {"succeeded"}
    assert value(samples, "jobq_queue_backlog", queue="default") == 0
    assert ("jobq_queue_backlog", frozenset({("queue", "mail")})) not in samples  # its queues only
    proc.signal(signal.SIGTERM)
    assert proc.wait(60) == 0


def test_busy_port_is_one_clear_error(app: jobq.App) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = run_jobq(
            ["metrics", "--port", str(port), "--host", "127.0.0.1", "--namespace", app.config.namespace],
            app.config.redis_url,
        )
    assert proc.returncode == 1
    assert one_error_line(proc).startswith(f"error: cannot serve metrics on 127.0.0.1:{port}: ")
