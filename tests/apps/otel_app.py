"""A traced app for tests/test_otel.py: the worker exports its spans as JSON lines to $OTEL_SPANS."""

from __future__ import annotations

import asyncio
import os

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

import jobq
from jobq.otel import TracingMiddleware

app = jobq.App(namespace=os.environ.get("JOBQ_NAMESPACE", "jobq"))
app.add_middleware(TracingMiddleware())
tracer = trace.get_tracer("otel_app")


def one_line(span: ReadableSpan) -> str:
    return str(span.to_json(indent=None)) + "\n"


@app.on_worker_start
def export_spans() -> None:
    provider = TracerProvider()
    out = open(os.environ["OTEL_SPANS"], "a")  # noqa: SIM115 - open for the process's life
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=out, formatter=one_line)))
    trace.set_tracer_provider(provider)


@app.task(name="greet")
def greet(name: str) -> str:
    with tracer.start_as_current_span("greet.inner"):
        return f"hello {name}"


@app.task(name="always_fails", retries=1, backoff=0.01)
def always_fails() -> None:
    raise ValueError("broken input")


@app.task(name="too_slow", timeout=0.3, retries=0)
async def too_slow() -> None:
    await asyncio.sleep(30)
