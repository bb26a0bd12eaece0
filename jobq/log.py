"""structlog configuration. Called by entry points (CLI, worker children), never on import."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from jobq.job import current_job_or_none

LEVELS = ("debug", "info", "warning", "error", "critical")


def add_job_context(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Bind the running job's id, task, queue and attempt to every line logged inside it.

    Reading one ContextVar when a line is actually emitted costs nothing per job, unlike
    binding four context variables around every run.
    """
    info = current_job_or_none()
    if info is not None:
        event.setdefault("job_id", info.id)
        event.setdefault("task", info.task)
        event.setdefault("queue", info.queue)
        event.setdefault("attempt", info.attempt)
    return event


def configure(fmt: str = "console", level: str = "info") -> None:
    """Configure structlog for this process. Loggers are not cached on first use: a cached
    one keeps the processors and level of the configuration it was first used under, so a
    second configure (or structlog.testing.capture_logs after it) would not reach it. What
    is logged per job is debug-level and checked once, so the cache saved nothing measurable."""
    renderer: Any
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_job_context,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info if fmt == "json" else _identity,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def _identity(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    return event
