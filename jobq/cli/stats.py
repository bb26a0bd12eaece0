"""`jobq stats`: one snapshot of every queue and worker.

Operators run it all day, so it imports only what a snapshot needs (no worker, no
logging, no explain, and for one server not even redis-py: jobq.broker.lite):
tests/test_cli_startup.py holds it to that.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import click

from jobq import stats
from jobq.cli.common import Snapshots, connection_options
from jobq.cli.guards import known_queue
from jobq.cli.render import dumps, stats_text
from jobq.errors import JobqError


@click.command("stats")
@connection_options
@click.option("--json", "as_json", is_flag=True, help="Print the snapshot as one JSON object.")
@click.option(
    "--watch",
    type=click.FloatRange(min=0.1),
    default=None,
    metavar="S",
    help="Repeat every S seconds until interrupted (JSON: one object per line).",
)
@click.option("-q", "--queue", "queues", multiple=True, metavar="QUEUE", help="Only this queue (repeatable).")
def stats_command(
    redis_url: str | None, namespace: str | None, as_json: bool, watch: float | None, queues: tuple[str, ...]
) -> None:
    """One snapshot of every queue and worker."""
    app = Snapshots(redis_url, namespace)
    for queue in queues:
        known_queue(app, queue)  # as dlq and purge: a typo must not read as an idle queue

    def show() -> None:
        snap = stats.snapshot(app.broker, list(queues) or None)
        click.echo(dumps(stats.to_json(snap)) if as_json else stats_text(snap, app.config.namespace))

    if watch is None:
        show()
    else:
        _watch(show, watch, clear=not as_json)


def _watch(show: Callable[[], None], every: float, *, clear: bool) -> None:
    """Repeat `show` until Ctrl-C; a Redis outage is reported and watched through."""
    try:
        while True:
            if clear:
                click.clear()
            try:
                show()
            except JobqError as exc:
                click.echo(f"error: {exc}", err=True)
            time.sleep(every)
    except KeyboardInterrupt:
        return
