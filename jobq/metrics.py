"""Prometheus metrics: every scrape takes one fresh `stats.snapshot` and renders it.

Nothing is accumulated in this process, so an exporter can restart, and several can run,
without any number going wrong: the counters are the totals workers keep in Redis.
Queue-level series are the same whichever exporter serves them; aggregate with `max`.
"""

from __future__ import annotations

import json
import math
import signal
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import FrameType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import structlog
from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from jobq import stats
from jobq.app import App
from jobq.errors import JobqError

log = structlog.get_logger("jobq.metrics")

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

POLL_S = 0.5  # how soon the exporter notices SIGTERM while no scrape comes

QUEUE_GAUGES = (
    ("backlog", "jobq_queue_backlog", "Jobs ready to run and not yet taken."),
    ("in_flight", "jobq_queue_in_flight", "Jobs taken by a worker and not finished."),
    ("scheduled", "jobq_queue_scheduled", "Jobs waiting for a delay, ETA or retry backoff."),
    ("dead", "jobq_queue_dead", "Jobs in the dead-letter stream."),
    ("oldest_age_s", "jobq_queue_oldest_age_seconds", "Age of the oldest job in the backlog."),
)


def _bound_label(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else repr(bound)


def queue_metrics(snap: stats.Snapshot) -> Iterator[GaugeMetricFamily]:
    for attr, name, doc in QUEUE_GAUGES:
        family = GaugeMetricFamily(name, doc, labels=["queue"])
        for q in snap.queues:
            family.add_metric([q.name], float(getattr(q, attr)))
        yield family
    levels = GaugeMetricFamily(
        "jobq_queue_priority_backlog",
        "Jobs ready to run and not yet taken, by priority level (jobq_queue_backlog sums them).",
        labels=["queue", "priority"],
    )
    for q in snap.queues:
        for level, n in q.priorities.items():
            levels.add_metric([q.name, str(level)], float(n))
    yield levels


def task_metrics(snap: stats.Snapshot) -> Iterator[CounterMetricFamily | HistogramMetricFamily]:
    processed = CounterMetricFamily(
        "jobq_jobs_processed", "Runs that succeeded, by task.", labels=["queue", "task"]
    )
    failed = CounterMetricFamily(
        "jobq_jobs_failed", "Runs that raised (retried or not), by task.", labels=["queue", "task"]
    )
    durations = HistogramMetricFamily(
        "jobq_job_duration_seconds", "Run time of finished runs, by task.", labels=["queue", "task"]
    )
    for q in snap.queues:
        for t in q.tasks:
            processed.add_metric([q.name, t.name], t.processed)
            failed.add_metric([q.name, t.name], t.failed)
            if t.duration_buckets:
                durations.add_metric([q.name, t.name], cumulative(t.duration_buckets), t.duration_sum_s)
    yield from (processed, failed, durations)


def cumulative(buckets: Sequence[tuple[float, int]]) -> list[tuple[str, float]]:
    """Prometheus `le` buckets (cumulative, +Inf last) from per-bucket counts."""
    out: list[tuple[str, float]] = []
    total = 0
    for bound, count in sorted(buckets):
        total += count
        out.append((_bound_label(bound), float(total)))
    if not out or out[-1][0] != "+Inf":
        out.append(("+Inf", float(total)))
    return out


def worker_metrics(snap: stats.Snapshot) -> Iterator[GaugeMetricFamily]:
    yield GaugeMetricFamily("jobq_workers", "Worker processes with a heartbeat.", value=len(snap.workers))
    busy = GaugeMetricFamily("jobq_worker_busy", "Jobs running in the worker now.", labels=["worker"])
    slots = GaugeMetricFamily(
        "jobq_worker_concurrency", "Jobs the worker may run at once.", labels=["worker"]
    )
    latency = GaugeMetricFamily(
        "jobq_worker_latency_seconds",
        "Enqueue-to-start wait over the last minute, by worker and queue.",
        labels=["worker", "queue", "quantile"],
    )
    for w in snap.workers:
        busy.add_metric([w.id], w.busy)
        slots.add_metric([w.id], w.concurrency)
        for queue, (p50, p95) in sorted(w.latency_ms.items()):
            latency.add_metric([w.id, queue, "0.5"], p50 / 1000)
            latency.add_metric([w.id, queue, "0.95"], p95 / 1000)
    yield from (busy, slots, latency)


class SnapshotCollector(Collector):
    """A prometheus-client collector reading one snapshot per scrape."""

    def __init__(self, app: App, queues: Sequence[str] | None = None) -> None:
        self.app = app
        self.queues = list(queues) if queues else None

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return []  # no Redis round trip at registration

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily | HistogramMetricFamily]:
        up = GaugeMetricFamily("jobq_up", "1 if the last scrape could read Redis, else 0.")
        try:
            snap = stats.snapshot(self.app.broker, self.queues)
        except JobqError as exc:
            log.warning("metrics.scrape_failed", error=str(exc))
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from queue_metrics(snap)
        yield from task_metrics(snap)
        yield from worker_metrics(snap)


def registry_for(app: App, queues: Sequence[str] | None = None) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(app, queues))
    return registry


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Scrapes are not news; wsgiref would print one line per request."""


QUEUE_PATH = "/queues/"


def wsgi_app(app: App, queues: Sequence[str] | None = None) -> WSGIApp:
    """/metrics for Prometheus; /queues/NAME for one queue's `stats --json` object (backlog
    and in flight over every priority level), which an autoscaler such as KEDA's
    metrics-api trigger reads without a Prometheus server (workers/k8s)."""
    metrics = make_wsgi_app(registry_for(app, queues))

    def serve_one(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if not path.startswith(QUEUE_PATH):
            served: Iterable[bytes] = metrics(environ, start_response)
            return served
        name = path.removeprefix(QUEUE_PATH)
        try:
            (queue,) = stats.snapshot(app.broker, [name]).queues
        except (JobqError, ValueError) as exc:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [str(exc).encode()]
        body = json.dumps(stats.queue_json(queue)).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]

    return serve_one


def make_server_for(app: App, host: str, port: int, queues: Sequence[str] | None = None) -> WSGIServer:
    """Bind the HTTP server now (so a busy port fails here, clearly); serve later."""
    return make_server(host, port, wsgi_app(app, queues), handler_class=_QuietHandler)


def serve(server: WSGIServer) -> int:
    """Serve scrapes until SIGTERM or SIGINT; returns the exit code (0).

    The signal only sets a flag, checked between requests (at least every POLL_S): an
    exception raised from the handler could land inside a scrape, where socketserver and
    wsgiref catch every Exception, and the exporter would never stop."""
    stopping: list[str] = []

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = server.server_address[:2]
    log.info("metrics.serving", address=f"http://{host!s}:{port}/metrics")
    server.timeout = POLL_S
    try:
        while not stopping:
            server.handle_request()
    finally:
        server.server_close()
    log.info("metrics.stopped", signal=stopping[0])
    return 0
