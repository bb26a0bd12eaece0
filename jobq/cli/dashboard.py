"""`jobq dashboard`: the live terminal view (the UI library is imported only when it runs)."""

from __future__ import annotations

import click

from jobq.cli.common import app_for, connection_options


@click.command("dashboard")
@click.argument("app_spec", metavar="[APP]", required=False)
@connection_options
@click.option(
    "--refresh",
    "refresh_s",
    type=click.FloatRange(min=0.1, max=3600),
    default=1.0,
    show_default=True,
    metavar="S",
    help="Seconds between redraws.",
)
def dashboard_command(
    app_spec: str | None, redis_url: str | None, namespace: str | None, refresh_s: float
) -> None:
    """Live view of every queue (backlog, in flight, scheduled, dead, rates, latency) and worker.

    Keys: up/down pick a queue, enter or d opens its dead letters (enter inspects one,
    r requeues, p purges, each after confirmation), escape goes back, q quits. With APP,
    its cron entries and their next fire times are shown too.
    """
    app = app_for(app_spec, redis_url, namespace)
    app.broker.ping()  # a wrong URL is an error now; an outage later is shown and waited out
    from jobq.dashboard import run

    code = run(app, refresh_s, from_app=app_spec is not None)
    if code:
        raise click.ClickException("the dashboard stopped on an internal error")
