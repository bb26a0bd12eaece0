"""The `jobq` command. Each command parses, calls the library, prints.

Failures are one line on stderr and an exit code (0 ok, 2 bad usage, 1 anything else),
never a traceback.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from jobq.errors import JobqError


class JobqGroup(click.Group):
    """Turns library errors into `error: ...` and exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except JobqError as exc:
            raise click.ClickException(str(exc).splitlines()[0]) from None


@click.group(cls=JobqGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="jobq")
def cli() -> None:
    """jobq: background jobs on Redis Streams."""


def _register() -> None:
    from jobq.cli import cron, dashboard, demo, enqueue, inspect, queue, worker

    for module in (worker, enqueue, inspect, dashboard, cron, demo, queue):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: one line on stderr for every failure, never a traceback."""
    try:
        code = cli.main(args=argv, prog_name="jobq", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:  # bare `jobq` or `jobq dlq`: its help
        click.echo(exc.format_message(), err=True)
        sys.exit(2)
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx and exc.ctx.parent else ""
        click.echo(f"error: {exc.format_message()}{hint}", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except (click.Abort, KeyboardInterrupt):
        click.echo("error: aborted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
