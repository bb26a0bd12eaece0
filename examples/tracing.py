"""OpenTelemetry: one trace from the enqueue, through Redis, to the run in a worker process.

    pip install 'jobq[otel]' opentelemetry-sdk   # the API is jobq's extra; the SDK is yours
    jobq worker tracing                          # terminal 1
    python tracing.py                            # terminal 2: enqueue, then print the trace

Producer and worker both install `jobq.otel.TracingMiddleware`. Here each process
exports its finished spans as JSON lines to one file so the script can print the whole
trace; in production configure an OTLP exporter to your collector instead.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

import jobq
from jobq.otel import TracingMiddleware

SPANS = os.environ.get("TRACING_SPANS_FILE") or os.path.join(
    tempfile.gettempdir(), "jobq-tracing-spans.jsonl"
)

app = jobq.App()
app.add_middleware(TracingMiddleware())  # spans go to the global tracer provider
tracer = trace.get_tracer("tracing-example")


def export_spans_to_file() -> None:
    """Once per process: a real app would set up OTLP export here."""

    def one_line(span: ReadableSpan) -> str:
        return str(span.to_json(indent=None)) + "\n"

    provider = TracerProvider()
    out = open(SPANS, "a")  # noqa: SIM115 - kept open for the life of the process
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=out, formatter=one_line)))
    trace.set_tracer_provider(provider)


app.on_worker_start(export_spans_to_file)


@app.task(name="tracing.make_thumbnail")
def make_thumbnail(photo: str) -> str:
    with tracer.start_as_current_span("resize"):  # a child of the job's "process" span
        return f"thumb-{photo}"


def spans_of_trace(trace_id: str) -> list[dict[str, Any]]:
    """The spans of one trace in the file (other runs may have written there too)."""
    if not os.path.exists(SPANS):
        return []
    with open(SPANS) as f:
        spans = [json.loads(line) for line in f]
    return sorted((s for s in spans if s["context"]["trace_id"] == trace_id), key=lambda s: s["start_time"])


def main() -> None:
    export_spans_to_file()
    with tracer.start_as_current_span("web request") as root:
        job = make_thumbnail.delay("cat.jpg")
    trace_id = f"0x{root.get_span_context().trace_id:032x}"
    print("result:", job.result(timeout=30))
    deadline = time.monotonic() + 10
    while len(spans_of_trace(trace_id)) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)  # the worker exports its spans as they end: normally there already
    spans = spans_of_trace(trace_id)
    for s in spans:
        parent = s["parent_id"] or "-"
        print(f"{s['name']:<15} {s['kind']:<17} trace {s['context']['trace_id']} parent {parent}")
    names = [s["name"] for s in spans]
    print("one trace:", names == ["web request", "send default", "process default", "resize"])


if __name__ == "__main__":
    main()
