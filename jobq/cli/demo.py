"""`jobq demo`: watch a worker pool process a realistic mix of jobs, then clean up."""

from __future__ import annotations

import click

from jobq.config import resolve_redis_url


@click.command("demo")
@click.option(
    "--redis-url",
    "redis_url",
    default=None,
    metavar="URL",
    help="Redis to use (else $JOBQ_REDIS_URL, else localhost); if nothing answers there, "
    "a private redis-server is started for the demo.",
)
@click.option(
    "--namespace",
    "namespace",
    default=None,
    metavar="NS",
    help="Work in this namespace and keep its keys (default: a fresh one, deleted at the end).",
)
@click.option(
    "-p",
    "--processes",
    type=click.IntRange(min=1, max=8),
    default=2,
    show_default=True,
    help="Worker processes in the pool.",
)
@click.option("-v", "--verbose", is_flag=True, help="Show the worker pool's own log lines.")
def demo_command(redis_url: str | None, namespace: str | None, processes: int, verbose: bool) -> None:
    """Run a worker pool on a mix of jobs (successes, a retry, a dead letter, a delayed job,
    cron) and show what became of each. Finishes in about ten seconds."""
    from jobq.demo import Demo  # the demo's tasks are imported only when it runs

    demo = Demo(
        resolve_redis_url(redis_url), click.echo, namespace=namespace, processes=processes, verbose=verbose
    )
    raise SystemExit(demo.run())
