"""The `jobq` command. Each command parses, calls the library, prints.

Failures are one line on stderr and an exit code (0 ok, 2 bad usage, 1 anything else),
never a traceback.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from jobq.errors import JobqError

# Every command: the module that defines it (imported only when the command runs or shows
# its own help) and the first paragraph of its help, which `jobq --help` lists without
# importing anything. tests/test_cli_startup.py checks these against the commands.
COMMANDS: dict[str, tuple[str, str]] = {
    "cron": ("jobq.cli.cron:cron_group", "Inspect and trigger the cron entries of an app."),
    "dashboard": (
        "jobq.cli.dashboard:dashboard_command",
        "Live view of every queue (backlog, in flight, scheduled, dead, rates, latency) and worker.",
    ),
    "demo": (
        "jobq.cli.demo:demo_command",
        "Run a worker pool on a mix of jobs (successes, a retry, a dead letter, a delayed job, "
        "cron) and show what became of each. Finishes in about ten seconds.",
    ),
    "dlq": ("jobq.cli.dlq:dlq_group", "Inspect, replay or empty a queue's dead-letter stream."),
    "enqueue": (
        "jobq.cli.enqueue:enqueue_command",
        "Enqueue one call of TASK; each ARG_JSON is one positional argument. Prints the job id.",
    ),
    "explain": ("jobq.cli.inspect:explain_command", "Why a job has not run or finished yet."),
    "job": ("jobq.cli.inspect:job_group", "Look at or cancel one job by its id."),
    "metrics": (
        "jobq.cli.inspect:metrics_command",
        "Serve Prometheus metrics of every queue and worker at http://HOST:PORT/metrics.",
    ),
    "purge": (
        "jobq.cli.inspect:purge_command",
        "Cancel every job waiting in QUEUE (queued or scheduled); jobs in flight finish and "
        "dead letters are kept. Asks first unless --yes.",
    ),
    "queue": ("jobq.cli.queue:queue_group", "Pause or resume a queue, fleet-wide."),
    "scheduler": (
        "jobq.cli.cron:scheduler_command",
        "Run the cron scheduler of APP (any number may run: each tick is enqueued once).",
    ),
    "stats": ("jobq.cli.stats:stats_command", "One snapshot of every queue and worker."),
    "worker": ("jobq.cli.worker:worker_command", "Run a supervised pool of worker processes for APP."),
}


class JobqGroup(click.Group):
    """Loads a command's module only when that command is used, and turns library errors
    into `error: ...` and exit 1."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        if command is None and cmd_name in COMMANDS:
            module, _, attribute = COMMANDS[cmd_name][0].partition(":")
            command = getattr(importlib.import_module(module), attribute)
            self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from COMMANDS' summaries, shortened as click shortens a help."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, _summary(self, ctx, name).get_short_help_str(limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except JobqError as exc:
            raise click.ClickException(str(exc).splitlines()[0]) from None


def _summary(group: click.Group, ctx: click.Context, name: str) -> click.Command:
    """A stand-in carrying only the help of command `name` (the loaded command if any)."""
    if name in COMMANDS and name not in group.commands:
        return click.Command(name, help=COMMANDS[name][1])
    return group.get_command(ctx, name) or click.Command(name)


@click.group(cls=JobqGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="jobq")
def cli() -> None:
    """jobq: background jobs on Redis Streams."""


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
