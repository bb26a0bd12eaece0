"""Checks the inspection commands make before acting: the queue exists, the user agreed."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from jobq.config import check_queue_name
from jobq.errors import ConfigError

if TYPE_CHECKING:
    from jobq.cli.common import Connected


def usable_queue(queue: str, hint: str = "QUEUE") -> str:
    """QUEUE if it is a name a worker may consume; else a usage error quoting the rule."""
    try:
        return check_queue_name(queue)
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint=hint) from None


def known_queue(app: Connected, queue: str) -> str:
    """QUEUE if the namespace has ever used it; a usage error if it is not a queue name,
    a clear failure naming the known queues otherwise (a typo must not look like 'empty')."""
    usable_queue(queue)
    known = app.broker.known_queues()
    if queue not in known:
        listed = ", ".join(known) if known else "none yet"
        raise click.ClickException(
            f"no queue {queue!r} in namespace {app.config.namespace!r} (known queues: {listed})"
        )
    return queue


def confirm_or_fail(question: str, yes: bool) -> None:
    """Ask `question` unless `yes`: on a terminal, or by reading the answer from piped stdin
    (as the README's CLI reference says). Anything but yes, or no answer at all (end of
    input), deletes nothing."""
    if yes:
        return
    try:
        agreed = click.confirm(question, default=False, err=True)
    except click.Abort:  # end of input
        agreed = None
    if agreed is None or not sys.stdin.isatty():
        click.echo(err=True)  # the answer was not echoed: end the prompt's line
    if not agreed:
        raise click.ClickException("not confirmed, nothing deleted (pass --yes to skip the question)")
