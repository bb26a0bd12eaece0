"""OpenTelemetry tracing: one trace from the enqueue to every run of the job.

Needs the optional extra: ``pip install 'jobq[otel]'`` (opentelemetry-api; bring your own
SDK and exporter). Install the middleware in producers and workers alike::

    from jobq.otel import TracingMiddleware
    app.add_middleware(TracingMiddleware())

Enqueue opens a PRODUCER span "send <queue>" and injects its context into the job's
headers (W3C `traceparent` / `tracestate`, through the globally configured propagator).
Each attempt runs inside a CONSUMER span "process <queue>" that continues that context,
current while the task runs, so the task's own spans are its children. Attributes follow
the OpenTelemetry messaging conventions: messaging.system "jobq",
messaging.destination.name, messaging.message.id, messaging.operation.type and .name
("send" / "process"; also the older messaging.operation), plus jobq.task and jobq.attempt.
A failed attempt records its exception; a timeout adds a "jobq.timeout" event, a retry a
"jobq.retry" event with the delay, a dead letter a "jobq.dead_letter" event with the
reason; failed attempts end with status ERROR.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import Any

from jobq.errors import JobTimeout
from jobq.job import JobInfo
from jobq.middleware import EnqueueInfo, Middleware, RunOutcome

try:
    from opentelemetry import context as otel_context
    from opentelemetry import propagate, trace
    from opentelemetry.context import Context
    from opentelemetry.trace import Span, SpanKind, Status, StatusCode
except ImportError as missing:  # pragma: no cover - exercised without the extra only
    raise ImportError("jobq.otel needs OpenTelemetry: pip install 'jobq[otel]'") from missing

SYSTEM = "jobq"
Running = tuple[Span, Token[Context]]  # the attempt's consumer span, and how to detach it


def _attributes(operation: str, legacy: str, job_id: str, task: str, queue: str) -> dict[str, Any]:
    return {
        "messaging.system": SYSTEM,
        "messaging.destination.name": queue,
        "messaging.message.id": job_id,
        "messaging.operation.type": operation,
        "messaging.operation.name": operation,
        "messaging.operation": legacy,
        "jobq.task": task,
    }


class TracingMiddleware(Middleware):
    """Producer and consumer spans for every job (see the module docstring)."""

    def __init__(self, tracer_provider: trace.TracerProvider | None = None) -> None:
        self.tracer = trace.get_tracer("jobq", tracer_provider=tracer_provider)
        self._sending: dict[str, Span] = {}  # job id -> its open producer span
        self._running: ContextVar[Running | None] = ContextVar("jobq_otel_span", default=None)

    # producer ------------------------------------------------------------------------

    def before_enqueue(self, job: EnqueueInfo) -> None:
        span = self.tracer.start_span(
            f"send {job.queue}",
            kind=SpanKind.PRODUCER,
            attributes=_attributes("send", "publish", job.id, job.task, job.queue),
        )
        propagate.inject(job.headers, context=trace.set_span_in_context(span))
        self._sending[job.id] = span

    def after_enqueue(self, job: EnqueueInfo, error: BaseException | None) -> None:
        span = self._sending.pop(job.id, None)
        if span is None:
            return
        if error is not None:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
        span.end()

    # consumer ------------------------------------------------------------------------

    def before_run(self, job: JobInfo) -> None:
        parent = propagate.extract(dict(job.headers))
        attributes = _attributes("process", "process", job.id, job.task, job.queue)
        attributes["jobq.attempt"] = job.attempt
        span = self.tracer.start_span(
            f"process {job.queue}", context=parent, kind=SpanKind.CONSUMER, attributes=attributes
        )
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        self._running.set((span, token))

    def _span(self) -> Span | None:
        running = self._running.get()
        return running[0] if running else None

    def on_error(self, job: JobInfo, error: BaseException) -> None:
        span = self._span()
        if span is None:
            return
        span.record_exception(error)
        if isinstance(error, JobTimeout):
            span.add_event("jobq.timeout", {"jobq.error": str(error)})

    def on_retry(self, job: JobInfo, error: BaseException | None, delay: float) -> None:
        span = self._span()
        if span is not None:
            span.add_event("jobq.retry", {"jobq.retry.delay_s": delay, "jobq.attempt": job.attempt})

    def on_dead_letter(self, job: JobInfo, reason: str, error: BaseException | None) -> None:
        span = self._span()
        if span is not None:
            span.add_event("jobq.dead_letter", {"jobq.dead_letter.reason": reason})

    def after_run(self, job: JobInfo, outcome: RunOutcome) -> None:
        running = self._running.get()
        if running is None:
            return
        span, token = running
        self._running.set(None)
        span.set_attribute("jobq.outcome", outcome.status)
        if outcome.status in ("retrying", "dead"):
            error = outcome.error
            detail = outcome.reason or (f"{type(error).__name__}: {error}" if error else outcome.status)
            span.set_status(Status(StatusCode.ERROR, detail))
        span.end()
        otel_context.detach(token)
