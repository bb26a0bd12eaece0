"""`jobq enqueue`: send one job from the shell."""

from __future__ import annotations

import difflib
import json
from typing import Any

import click

from jobq.app import App
from jobq.cli.common import app_for, connection_options
from jobq.cli.guards import usable_queue
from jobq.task import Task


def _json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"{text!r} is not JSON: {exc}", param_hint=what) from None


@click.command("enqueue")
@click.argument("app_spec", metavar="APP")
@click.argument("task_name", metavar="TASK")
@click.argument("args", nargs=-1, metavar="[ARG_JSON]...")
@connection_options
@click.option(
    "--kwargs", "kwargs_json", default=None, metavar="JSON", help="Keyword arguments as a JSON object."
)
@click.option(
    "--delay", type=click.FloatRange(min=0), default=None, metavar="S", help="Seconds before the job may run."
)
@click.option("--queue", "queue", default=None, help="Override the task's queue.")
@click.option("--job-id", default=None, help="Idempotency key.")
@click.option(
    "--priority",
    type=click.IntRange(0, 9),
    metavar="0-9",
    help="Priority, higher first (default: the task's).",
)
def enqueue_command(
    app_spec: str,
    task_name: str,
    args: tuple[str, ...],
    redis_url: str | None,
    namespace: str | None,
    kwargs_json: str | None,
    delay: float | None,
    queue: str | None,
    job_id: str | None,
    priority: int | None,
) -> None:
    """Enqueue one call of TASK; each ARG_JSON is one positional argument. Prints the job id."""
    if queue is not None:
        usable_queue(queue, "--queue")
    if job_id is not None and not job_id.strip():
        raise click.BadParameter("must not be empty", param_hint="--job-id")
    app = app_for(app_spec, redis_url, namespace)
    values = [_json(a, "ARG_JSON") for a in args]
    kwargs = _json(kwargs_json, "--kwargs") if kwargs_json else {}
    if not isinstance(kwargs, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--kwargs")
    try:
        _registered(app, app_spec, task_name).check_arguments(values, kwargs)
    except TypeError as exc:
        raise click.BadParameter(str(exc), param_hint="ARG_JSON") from None
    job = app.submit(task_name, values, kwargs, delay=delay, queue=queue, job_id=job_id, priority=priority)
    click.echo(job.id)


def _registered(app: App, app_spec: str, name: str) -> Task[Any, Any]:
    """The task APP registers as `name`: a name it does not know would only be dead-lettered
    later as "unknown task", so it is a usage error now, naming the close matches."""
    task = app.tasks.get(name)
    if task is not None:
        return task
    close = difflib.get_close_matches(name, list(app.tasks), n=3, cutoff=0.6)
    if close:
        hint = "did you mean " + " or ".join(repr(c) for c in close) + "?"
    else:
        hint = "its tasks: " + (", ".join(sorted(app.tasks)) or "none")
    raise click.BadParameter(f"{app_spec} has no task {name!r}; {hint}", param_hint="TASK")
