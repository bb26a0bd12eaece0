"""`jobq worker`: the supervised pool."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from jobq import log
from jobq.cli.common import app_for, connection_options
from jobq.cli.guards import usable_queue
from jobq.errors import ConfigError
from jobq.flow import queue_weight
from jobq.reload import Reloader, app_directory
from jobq.worker.pool import Pool, WorkerSettings

F = TypeVar("F", bound=Callable[..., Any])

# Sane ceilings, so a typo (-p 1000000) is a usage error rather than a fork bomb. Each worker
# process is a whole interpreter (tens of MB) with its own Redis connections: past 256 on one
# host, run more pools or hosts. Each sync job in flight holds a thread: past 1024 per process,
# add processes instead (async tasks rarely need that many either).
MAX_PROCESSES = 256
MAX_CONCURRENCY = 1024


def logging_options(fn: F) -> F:
    fn = click.option(
        "--log-level",
        type=click.Choice(log.LEVELS),
        default="info",
        show_default=True,
        envvar="JOBQ_LOG_LEVEL",
    )(fn)
    fn = click.option(
        "--log-format",
        type=click.Choice(["console", "json"]),
        default="console",
        show_default=True,
        envvar="JOBQ_LOG_FORMAT",
    )(fn)
    return fn


@click.command("worker")
@click.argument("app_spec", metavar="APP")
@connection_options
@click.option(
    "-q",
    "--queue",
    "queues",
    multiple=True,
    metavar="QUEUE",
    help="Queue to consume, NAME or NAME:WEIGHT (repeatable); default: every queue the app's tasks use.",
)
@click.option(
    "-p",
    "--processes",
    type=click.IntRange(1, MAX_PROCESSES),
    default=1,
    show_default=True,
    help=f"Worker processes under this supervisor (1 to {MAX_PROCESSES}).",
)
@click.option(
    "-c",
    "--concurrency",
    type=click.IntRange(1, MAX_CONCURRENCY),
    default=16,
    show_default=True,
    help=f"Jobs run at once by each process, 1 to {MAX_CONCURRENCY} (sync tasks on up to this many "
    "threads, started as needed).",
)
@click.option(
    "--shutdown-timeout",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Seconds in-flight jobs get to finish on SIGTERM/SIGINT; those still running then go back "
    "to their queue for other workers. A second signal (or SIGQUIT) stops at once.",
)
@click.option(
    "--max-jobs-per-child",
    type=click.IntRange(min=1),
    default=None,
    help="Replace a worker process after it has settled this many jobs.",
)
@click.option("--beat", is_flag=True, help="Also run the cron scheduler under this supervisor.")
@click.option("--burst", is_flag=True, help="Exit once the queues are empty (tests, batch runs).")
@click.option(
    "--max-memory-per-child",
    type=click.IntRange(min=1),
    default=None,
    metavar="MB",
    help="Replace a worker process (after its jobs finish) once its RSS exceeds MB megabytes.",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    metavar="N",
    help="Serve Prometheus metrics of this pool's queues on port N (from an extra child process).",
)
@click.option(
    "--reload",
    is_flag=True,
    help="Development: restart the worker processes when a Python file under APP's directory "
    "changes (needs jobq[reload]).",
)
@logging_options
def worker_command(
    app_spec: str,
    redis_url: str | None,
    namespace: str | None,
    queues: tuple[str, ...],
    processes: int,
    concurrency: int,
    shutdown_timeout: float,
    max_jobs_per_child: int | None,
    beat: bool,
    burst: bool,
    max_memory_per_child: int | None,
    metrics_port: int | None,
    reload: bool,
    log_format: str,
    log_level: str,
) -> None:
    """Run a supervised pool of worker processes for APP."""
    log.configure(log_format, log_level)
    reloader = Reloader() if reload else None
    if reloader is None:
        app = app_for(app_spec, redis_url, namespace)
    else:
        app = reloader.load(app_spec, lambda: app_for(app_spec, redis_url, namespace))
    weights = dict(weighted(q) for q in queues)
    settings = WorkerSettings(
        queues=list(weights) or app.queues(),
        weights=weights,
        concurrency=concurrency,
        shutdown_timeout=shutdown_timeout,
        max_jobs_per_child=max_jobs_per_child,
        burst=burst,
        max_memory_mb=max_memory_per_child,
    )
    extra: dict[str, Callable[[], int]] = {}
    if beat:
        from jobq.scheduler import scheduler_process

        extra["scheduler"] = lambda: scheduler_process(app)
    if metrics_port is not None:
        from jobq.cli.inspect import bind_metrics
        from jobq.metrics import serve

        server = bind_metrics(app, "0.0.0.0", metrics_port, settings.queues)
        extra["metrics"] = lambda: serve(server)
    pool = Pool(app, settings, processes, extra, on_child_start=lambda: log.configure(log_format, log_level))
    raise SystemExit(pool.run() if reloader is None else reloader.run(pool, app_directory(app_spec)))


def weighted(spec: str) -> tuple[str, int]:
    """`-q NAME` or `-q NAME:WEIGHT`, checked; a usage error otherwise."""
    try:
        name, weight = queue_weight(spec)
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint="-q") from None
    return usable_queue(name, "-q"), weight
