"""jobq.otel: a PRODUCER span at enqueue, a CONSUMER span per attempt that continues it
(across a real process boundary), messaging attributes, retries, dead letters, timeouts."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import jobq
from jobq.otel import TracingMiddleware
from tests.support.inproc import work_until
from tests.support.processes import JobqProcess
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_for


def traced(app: jobq.App) -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app.add_middleware(TracingMiddleware(tracer_provider=provider))
    return exporter


def test_enqueue_and_run_are_one_trace_with_messaging_attributes(app: jobq.App) -> None:
    exporter = traced(app)

    @app.task(name="shout")
    def shout(word: str) -> str:
        return word.upper()

    job = shout.delay("hi")
    (send,) = exporter.get_finished_spans()
    assert job.status() == "queued"
    work_until(app, lambda: job.status() == "succeeded")
    process = next(s for s in exporter.get_finished_spans() if s.kind == SpanKind.CONSUMER)

    assert (send.name, send.kind) == ("send default", SpanKind.PRODUCER)
    assert process.name == "process default"
    assert process.context.trace_id == send.context.trace_id
    assert process.parent is not None and process.parent.span_id == send.context.span_id
    for span, operation in ((send, "send"), (process, "process")):
        attributes = dict(span.attributes or {})
        assert attributes["messaging.system"] == "jobq"
        assert attributes["messaging.destination.name"] == "default"
        assert attributes["messaging.message.id"] == job.id
        assert attributes["messaging.operation.type"] == operation
        assert attributes["jobq.task"] == "shout"
    assert dict(process.attributes or {})["jobq.attempt"] == 1
    assert process.status.status_code == StatusCode.UNSET


def test_a_refused_enqueue_ends_its_producer_span_with_the_error(app: jobq.App) -> None:
    exporter = traced(app)

    @app.task(name="noop")
    def noop() -> None: ...

    with pytest.raises(jobq.SerializationError):
        noop.enqueue(headers={"bad": object()})
    (send,) = exporter.get_finished_spans()
    assert send.status.status_code == StatusCode.ERROR
    assert [e.name for e in send.events] == ["exception"]


def spans_from(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def events_of(span: dict[str, Any]) -> list[str]:
    return [e["name"] for e in span["events"]]


def test_one_trace_from_the_producer_to_a_real_worker_process(
    jobq_cli: Callable[..., JobqProcess], redis_server: RedisServer, namespace: str, tmp_path: Path
) -> None:
    spans_file = tmp_path / "spans.jsonl"
    producer = jobq.App(redis_server.url, namespace=namespace)
    exporter = traced(producer)
    worker = jobq_cli(
        ["worker", "otel_app", "--namespace", namespace], redis_server.url, OTEL_SPANS=str(spans_file)
    )

    greeting = producer.enqueue("greet", "ada")
    doomed = producer.enqueue("always_fails")
    slow = producer.enqueue("too_slow")
    assert greeting.result(timeout=30) == "hello ada"
    wait_for(lambda: doomed.status() == "dead" and slow.status() == "dead", 30, "the failing jobs")
    sent: dict[str, ReadableSpan] = {
        dict(s.attributes or {})["messaging.message.id"]: s for s in exporter.get_finished_spans()
    }
    runs = wait_for(lambda: len(spans_from(spans_file)) >= 5 and spans_from(spans_file), 30, "worker spans")
    worker.signal(signal.SIGTERM)
    assert worker.wait(30) == 0

    consumer = [s for s in runs if s["kind"] == "SpanKind.CONSUMER"]
    by_job: dict[str, list[dict[str, Any]]] = {}
    for s in consumer:
        by_job.setdefault(s["attributes"]["messaging.message.id"], []).append(s)
    for job in (greeting, doomed, slow):
        send = sent[job.id]
        for span in by_job[job.id]:
            assert span["context"]["trace_id"] == f"0x{send.context.trace_id:032x}", "not one trace"
            assert span["parent_id"] == f"0x{send.context.span_id:016x}"
            assert span["name"] == "process default"

    (inner,) = [s for s in runs if s["name"] == "greet.inner"]
    (greet_run,) = by_job[greeting.id]
    assert inner["parent_id"] == greet_run["context"]["span_id"], "the task's spans nest in the run"

    first, second = sorted(by_job[doomed.id], key=lambda s: s["attributes"]["jobq.attempt"])
    assert events_of(first) == ["exception", "jobq.retry"] and first["status"]["status_code"] == "ERROR"
    assert events_of(second) == ["exception", "jobq.dead_letter"]
    assert second["attributes"]["jobq.outcome"] == "dead"
    (timed_out,) = by_job[slow.id]
    assert events_of(timed_out) == ["exception", "jobq.timeout", "jobq.dead_letter"]
    assert "timed out after 0.3s" in timed_out["status"]["description"]


def test_without_opentelemetry_the_import_says_what_to_install(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "opentelemetry").mkdir()
    (tmp_path / "opentelemetry" / "__init__.py").write_text("raise ImportError('not installed')\n")
    proc = subprocess.run(
        [sys.executable, "-c", "import jobq.otel"],
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "ImportError: jobq.otel needs OpenTelemetry: pip install 'jobq[otel]'" in proc.stderr
