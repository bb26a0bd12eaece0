"""Operating jobq from the terminal: job, explain, purge, metrics (stats and dlq have their own modules)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from jobq import explain as explaining
from jobq import log, stats
from jobq.app import App
from jobq.cli.common import app_for, connection_options
from jobq.cli.guards import confirm_or_fail, known_queue
from jobq.cli.render import dumps
from jobq.job import Job
from jobq.jobtext import took, when
from jobq.progress import Progress
from jobq.records import CANCELLED_BLOB
from jobq.states import CancelReply, JobStatus
from jobq.workflow.view import WorkflowView

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

METRICS_PORT = 9808
PURGE_BATCH = 500


# one job -----------------------------------------------------------------------------


@click.group("job")
def job_group() -> None:
    """Look at or cancel one job by its id."""


@job_group.command("show")
@click.argument("job_id")
@connection_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def job_show_command(job_id: str, redis_url: str | None, namespace: str | None, as_json: bool) -> None:
    """One job's state, attempts and last error."""
    app = app_for(None, redis_url, namespace)
    facts = explaining.gather(app, job_id)
    state = Job(app, job_id, facts.queue).status()
    data = explaining.summary(facts, state)
    click.echo(dumps(data) if as_json else "\n".join(job_text(data)))


def job_text(data: dict[str, Any]) -> list[str]:
    """The lines of `jobq job show`: what --json holds, arguments and times included."""
    lines = []
    for key in ("id", "queue", "task", "state", "priority", "attempts", "last_error", "result", "worker"):
        if key in data:
            value = "-" if data[key] is None else data[key]
            lines.append(f"{key.replace('_', ' ') + ':':<12} {value}")
    if data.get("progress") is not None:
        progress = Progress(data["progress"]["fraction"], data["progress"]["message"])
        lines.append(f"{'progress:':<12} {explaining.progress_text(progress)}")
    for view in data.get("workflows") or ():
        lines.append(f"{'workflow:':<12} {WorkflowView(**view).describe()}")
    if data.get("args_not_kept"):
        lines.append(f"{'args:':<12} ({data['args_not_kept']})")
    elif "args" in data:
        lines.append(f"{'args:':<12} {dumps(data['args'])}")
    if data.get("kwargs"):
        lines.append(f"{'kwargs:':<12} {dumps(data['kwargs'])}")
    for key, label in (("enqueued_at", "enqueued"), ("started_at", "started"), ("finished_at", "finished")):
        if data.get(key):
            lines.append(f"{label + ':':<12} {when(data[key])}")
    if data.get("duration_s") is not None:
        lines.append(f"{'took:':<12} {took(data['duration_s'])}")
    if data.get("traceback"):
        lines.append("traceback:\n  " + str(data["traceback"]).rstrip().replace("\n", "\n  "))
    return lines


@job_group.command("cancel")
@click.argument("job_id")
@connection_options
def job_cancel_command(job_id: str, redis_url: str | None, namespace: str | None) -> None:
    """Cancel a job: a queued or scheduled one never runs; a running one is asked to stop."""
    app = app_for(None, redis_url, namespace)
    job: Job[object] = app.job(job_id)
    queue = job.queue
    reply = app.broker.cancel(queue, job_id, app.result_ttl_for(queue), CANCELLED_BLOB)
    if reply is CancelReply.CANCELLED:
        click.echo(f"cancelled job {job_id}")
        return
    if reply is CancelReply.STOPPING:
        click.echo(f"job {job_id} is running: asked its worker to stop it")
        return
    if reply is CancelReply.ALREADY_STOPPING:
        click.echo(f"job {job_id} is running and its worker was already asked to stop it")
        return
    state = job.status()
    if state == JobStatus.CANCELLED:
        click.echo(f"job {job_id} was already cancelled")
        return
    raise click.ClickException(f"job {job_id} has already finished ({state}); nothing to cancel")


# explain -----------------------------------------------------------------------------


@click.command("explain")
@click.argument("job_id")
@connection_options
@click.option(
    "--app",
    "app_spec",
    default=None,
    metavar="APP",
    help="Import APP to know the task's retry limit and the visibility timeout.",
)
def explain_command(job_id: str, redis_url: str | None, namespace: str | None, app_spec: str | None) -> None:
    """Why a job has not run or finished yet."""
    app = app_for(app_spec, redis_url, namespace)
    facts = explaining.gather(app, job_id)
    task = app.tasks.get(facts.task)
    max_attempts = task.options.retries + 1 if task else None
    vt = app.config.visibility_timeout if app_spec else None
    for line in explaining.explain(facts, max_attempts, vt):
        click.echo(line)


# purge -------------------------------------------------------------------------------


@click.command("purge")
@click.argument("queue")
@connection_options
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def purge_command(queue: str, redis_url: str | None, namespace: str | None, yes: bool) -> None:
    """Cancel every job waiting in QUEUE (queued or scheduled); jobs in flight finish and
    dead letters are kept. Asks first unless --yes."""
    app = app_for(None, redis_url, namespace)
    known_queue(app, queue)
    (q,) = stats.snapshot(app.broker, [queue]).queues
    waiting = q.backlog + q.scheduled
    if waiting == 0:
        click.echo(f"queue {queue} has nothing waiting")
        return
    confirm_or_fail(
        f"Cancel the {q.backlog} queued and {q.scheduled} scheduled job(s) of queue {queue}?"
        " (jobs in flight finish; dead letters are kept)",
        yes,
    )
    queued, scheduled = purge_waiting(app, queue, waiting)
    click.echo(f"purged queue {queue}: {queued} queued and {scheduled} scheduled job(s) cancelled")


def purge_waiting(app: App, queue: str, budget: int) -> tuple[int, int]:
    """Purge in bounded batches, stopping at `budget` (what was waiting when asked), so
    producers enqueueing meanwhile cannot keep the loop going."""
    ttl = app.result_ttl_for(queue)
    blob = CANCELLED_BLOB
    queued = scheduled = 0
    while queued + scheduled < budget:
        n_queued, n_scheduled = app.broker.purge_waiting(queue, PURGE_BATCH, ttl, blob)
        queued, scheduled = queued + n_queued, scheduled + n_scheduled
        if n_queued == 0 and n_scheduled == 0:
            break
    return queued, scheduled


# metrics -----------------------------------------------------------------------------


def bind_metrics(app: App, host: str, port: int, queues: Sequence[str] | None = None) -> WSGIServer:
    """The metrics HTTP server, bound now so a busy port is one clear error at start."""
    from jobq.metrics import make_server_for

    try:
        return make_server_for(app, host, port, queues)
    except OSError as exc:
        raise click.ClickException(f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}") from None


@click.command("metrics")
@connection_options
@click.option("--port", type=click.IntRange(0, 65535), default=METRICS_PORT, show_default=True)
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")
@click.option("-q", "--queue", "queues", multiple=True, metavar="QUEUE", help="Only this queue (repeatable).")
@click.option("--log-level", type=click.Choice(log.LEVELS), default="info", show_default=True)
@click.option("--log-format", type=click.Choice(["console", "json"]), default="console", show_default=True)
def metrics_command(
    redis_url: str | None,
    namespace: str | None,
    port: int,
    host: str,
    queues: tuple[str, ...],
    log_level: str,
    log_format: str,
) -> None:
    """Serve Prometheus metrics of every queue and worker at http://HOST:PORT/metrics."""
    from jobq.metrics import serve

    log.configure(log_format, log_level)
    app = app_for(None, redis_url, namespace)
    app.broker.ping()
    raise SystemExit(serve(bind_metrics(app, host, port, list(queues) or None)))
