"""`jobq dlq list|show|requeue|purge`: a queue's dead-letter stream from the shell."""

from __future__ import annotations

import click

from jobq import dlq, stats
from jobq.cli.common import app_for, connection_options
from jobq.cli.guards import confirm_or_fail, known_queue
from jobq.cli.render import dumps, one_line, table
from jobq.jobtext import when


@click.group("dlq")
def dlq_group() -> None:
    """Inspect, replay or empty a queue's dead-letter stream."""


@dlq_group.command("list")
@click.argument("queue")
@connection_options
@click.option("--json", "as_json", is_flag=True, help="One JSON array of the dead jobs.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=100, show_default=True, help="Show at most this many."
)
def list_command(queue: str, redis_url: str | None, namespace: str | None, as_json: bool, limit: int) -> None:
    """The dead jobs of QUEUE, oldest first: id, task, reason, error, attempts, time."""
    app = app_for(None, redis_url, namespace)
    known_queue(app, queue)
    jobs = dlq.list_dead(app.broker, queue, limit)
    if as_json:
        click.echo(dumps([j.to_json() for j in jobs]))
        return
    (q,) = stats.snapshot(app.broker, [queue]).queues
    if not jobs:
        click.echo(f"no dead jobs in queue {queue}")
        return
    shown = f" (oldest {len(jobs)} shown; --limit for more)" if q.dead > len(jobs) else ""
    click.echo(f"{q.dead} dead job{'s' if q.dead != 1 else ''} in queue {queue}{shown}")
    rows = [
        [
            j.id or f"({j.entry_id})",
            j.task,
            j.attempts,
            when(j.time),
            one_line(j.reason, 40),
            one_line(j.error, 60),
        ]
        for j in jobs
    ]
    click.echo(table(["ID", "TASK", "ATTEMPTS", "TIME", "REASON", "ERROR"], rows, numeric=(2,)))


@dlq_group.command("show")
@click.argument("queue")
@click.argument("job_id")
@connection_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def show_command(
    queue: str, job_id: str, redis_url: str | None, namespace: str | None, as_json: bool
) -> None:
    """One dead job in full: error, traceback, arguments."""
    app = app_for(None, redis_url, namespace)
    known_queue(app, queue)
    job = dlq.find_dead(app.broker, queue, job_id)
    if job is None:
        raise click.ClickException(f"job {job_id!r} is not in the dead-letter stream of queue {queue!r}")
    data = job.to_json(full=True)
    if as_json:
        click.echo(dumps(data))
        return
    for key in ("id", "task", "reason", "error", "attempts", "worker", "host", "args", "kwargs"):
        value = dumps(data[key]) if key in ("args", "kwargs") else data[key]
        click.echo(f"{key + ':':<10} {value}")
    click.echo(f"{'time:':<10} {when(job.time)}")
    if job.traceback:
        click.echo("traceback:")
        click.echo("  " + job.traceback.rstrip().replace("\n", "\n  "))


@dlq_group.command("requeue")
@click.argument("queue")
@click.argument("job_ids", nargs=-1, metavar="[JOB_ID]...")
@connection_options
@click.option("--all", "everything", is_flag=True, help="Replay every dead job of QUEUE.")
def requeue_command(
    queue: str, job_ids: tuple[str, ...], redis_url: str | None, namespace: str | None, everything: bool
) -> None:
    """Replay dead jobs: each leaves the dead-letter stream and is queued again under its id,
    with its attempts counted afresh. Give JOB_IDs, or --all."""
    if everything == bool(job_ids):
        raise click.UsageError("give either --all or one or more JOB_IDs")
    app = app_for(None, redis_url, namespace)
    known_queue(app, queue)
    replay = dlq.requeue_all(app.broker, queue) if everything else dlq.requeue(app.broker, queue, job_ids)
    for job_id, why in replay.skipped:
        click.echo(f"skipped {job_id}: {why}", err=True)
    n = len(replay.requeued)
    click.echo(f"requeued {n} job{'s' if n != 1 else ''} into queue {queue}")
    if replay.skipped and not everything:
        raise click.ClickException(f"{len(replay.skipped)} of {len(set(job_ids))} jobs were not requeued")


@dlq_group.command("purge")
@click.argument("queue")
@connection_options
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def purge_command(queue: str, redis_url: str | None, namespace: str | None, yes: bool) -> None:
    """Delete every entry of QUEUE's dead-letter stream (asks first, unless --yes)."""
    app = app_for(None, redis_url, namespace)
    known_queue(app, queue)
    (q,) = stats.snapshot(app.broker, [queue]).queues
    if q.dead == 0:
        click.echo(f"the dead-letter stream of queue {queue} is empty")
        return
    confirm_or_fail(f"Delete the {q.dead} dead job(s) of queue {queue} for good?", yes)
    n = app.broker.purge_dead(queue)
    click.echo(f"deleted {n} dead job{'s' if n != 1 else ''} from queue {queue}")
