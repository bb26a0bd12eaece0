"""`jobq scheduler` (the cron scheduler alone) and `jobq cron list|trigger`."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from jobq import cron, log, scheduler
from jobq.cli.common import app_for, connection_options
from jobq.cli.worker import logging_options

COLUMNS = ("NAME", "EXPRESSION", "TZ", "QUEUE", "NEXT FIRE", "LAST FIRE", "LAST OUTCOME")


@click.command("scheduler")
@click.argument("app_spec", metavar="APP")
@connection_options
@logging_options
def scheduler_command(
    app_spec: str, redis_url: str | None, namespace: str | None, log_format: str, log_level: str
) -> None:
    """Run the cron scheduler of APP (any number may run: each tick is enqueued once)."""
    log.configure(log_format, log_level)
    app = app_for(app_spec, redis_url, namespace)
    if not app.cron_entries:  # it would wait forever for a tick that never comes
        raise click.BadParameter(
            f"{app_spec} has no cron entries: decorate functions with @app.cron(...)", param_hint="APP"
        )
    raise SystemExit(scheduler.scheduler_process(app))


@click.group("cron")
def cron_group() -> None:
    """Inspect and trigger the cron entries of an app."""


@cron_group.command("list")
@click.argument("app_spec", metavar="APP")
@connection_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per entry, in a list.")
def list_command(app_spec: str, redis_url: str | None, namespace: str | None, as_json: bool) -> None:
    """Each cron entry of APP: expression, timezone, next fire, last fire, last outcome."""
    app = app_for(app_spec, redis_url, namespace)
    states = cron.entry_states(app)
    if as_json:
        click.echo(json.dumps([_as_dict(s) for s in states], indent=2))
        return
    if not states:
        click.echo(f"no cron entries in {app_spec}")
        return
    rows = [COLUMNS, *(_as_row(s) for s in states)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@cron_group.command("trigger")
@click.argument("app_spec", metavar="APP")
@click.argument("name", metavar="NAME")
@connection_options
def trigger_command(app_spec: str, name: str, redis_url: str | None, namespace: str | None) -> None:
    """Enqueue one run of cron entry NAME now (its schedule is not changed); prints the job id."""
    app = app_for(app_spec, redis_url, namespace)
    entry = cron.find_entry(app, name)
    if entry is None:
        known = ", ".join(e.name for e in cron.entries(app)) or "none"
        raise click.BadParameter(f"no cron entry named {name!r} (entries: {known})", param_hint="NAME")
    click.echo(cron.trigger(app, entry))


def _when(moment: datetime | None, entry: cron.CronEntry) -> str:
    return moment.astimezone(entry.zone).replace(microsecond=0).isoformat(sep=" ") if moment else "-"


def _as_row(state: cron.EntryState) -> tuple[str, ...]:
    e = state.entry
    return (
        e.name,
        e.expression,
        e.tz,
        e.queue,
        _when(state.next_fire, e),
        _when(state.last_fire, e),
        state.last_outcome,
    )


def _as_dict(state: cron.EntryState) -> dict[str, Any]:
    e = state.entry
    return {
        "name": e.name,
        "expression": e.expression,
        "tz": e.tz,
        "queue": e.queue,
        "overlap": e.overlap,
        "catch_up": e.catch_up,
        "next_fire": state.next_fire.isoformat() if state.next_fire else None,
        "last_fire": state.last_fire.isoformat() if state.last_fire else None,
        "last_job": state.last_job,
        "last_outcome": state.last_outcome,
    }
