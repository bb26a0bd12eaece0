"""`jobq queue pause|resume QUEUE`: stop and restart a queue without stopping workers."""

from __future__ import annotations

import click

from jobq.cli.common import app_for, connection_options
from jobq.cli.guards import known_queue


@click.group("queue")
def queue_group() -> None:
    """Pause or resume a queue, fleet-wide."""


@queue_group.command("pause")
@click.argument("queue")
@connection_options
def pause_command(queue: str, redis_url: str | None, namespace: str | None) -> None:
    """Workers start no new job from QUEUE (running ones finish); it still accepts jobs."""
    app = app_for(None, redis_url, namespace)
    known_queue(app, queue)
    if app.pause(queue):
        click.echo(f"paused queue {queue}: workers start none of its jobs until resumed")
    else:
        click.echo(f"queue {queue} was paused already")


@queue_group.command("resume")
@click.argument("queue")
@connection_options
def resume_command(queue: str, redis_url: str | None, namespace: str | None) -> None:
    """Workers start jobs from QUEUE again."""
    app = app_for(None, redis_url, namespace)
    known_queue(app, queue)
    if app.resume(queue):
        click.echo(f"resumed queue {queue}")
    else:
        click.echo(f"queue {queue} was not paused")
