"""The CLI starts quickly because it imports only what the command in hand needs.

No timings here (benchmarks/cli_startup.py measures them): these tests hold the cause of
the speed, by listing the modules a real `jobq --help` and `jobq stats` import
(PYTHONPROFILEIMPORTTIME) and refusing the heavy ones, and they check that the cheap
command list `jobq --help` prints says what the commands themselves say.
"""

from __future__ import annotations

import json
import subprocess

import click
import pytest

import jobq
from jobq.app import App
from jobq.cli import COMMANDS, cli
from jobq.cli.common import Connection, Snapshots
from tests.support.processes import env_for, jobq_executable

# Never needed to list the commands (the first three are what `stats` needs besides).
NOT_FOR_HELP = ("redis", "jobq.broker", "jobq.app", "asyncio", "jobq.stats")
# redis-py, what uses it, the Lua scripts it registers, and what reads jobs (envelopes,
# signatures, one job's rows): `jobq stats` on one server needs none of it (jobq.broker.lite
# reads with hiredis and sends no script).
NOT_ON_ONE_SERVER = (
    "redis",
    "jobq.broker.link",
    "jobq.broker.reads",
    "jobq.broker.connection",
    "jobq.broker.errors",
    "jobq.broker.factrows",
    "jobq.protocol",
    "jobq.luascripts",
    "jobq.envelope",
    "jobq.signing",
)
# Needed by no read-only snapshot: logging, cron, the UI, workers, explaining, metrics.
NOT_FOR_STATS = (
    "structlog",
    "rich",
    "croniter",
    "textual",
    "prometheus_client",
    "jobq.worker",
    "jobq.dashboard",
    "jobq.explain",
    "jobq.jobfacts",
    "jobq.middleware",
    "jobq.task",
    "jobq.workflow",
    "jobq.log",
    "jobq.cli.inspect",
    "jobq.cli.worker",
)


def imported_by(args: list[str], redis_url: str) -> tuple[str, set[str]]:
    """The stdout of `jobq ARGS` and every module it imported."""
    done = subprocess.run(
        jobq_executable() + args,
        env=env_for(redis_url, PYTHONPROFILEIMPORTTIME="1"),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    names = {
        line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")
    }
    assert "jobq.cli" in names  # the profile was read: an empty set would pass anything
    return done.stdout, names


def loaded(names: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if any(n == p or n.startswith(p + ".") for p in packages))


def test_help_lists_every_command_without_importing_any(redis_url: str) -> None:
    out, names = imported_by(["--help"], redis_url)
    assert loaded(names, NOT_FOR_HELP + NOT_FOR_STATS) == []
    assert not any(n.startswith("jobq.cli.") for n in names), sorted(names)
    listed = out.split("Commands:\n", 1)[1].splitlines()
    names_listed = [line.split()[0] for line in listed if line.startswith("  ") and line[2] != " "]
    assert names_listed == sorted(COMMANDS)


def test_stats_on_one_server_imports_neither_redis_py_nor_anything_it_does_not_use(
    redis_url: str, namespace: str
) -> None:
    """redis-py's import alone is most of the budget: jobq.broker.lite reads without it."""
    jobq.App(redis_url, namespace).submit("any.task", [1], queue="mail")
    out, names = imported_by(["stats", "--namespace", namespace, "-q", "mail"], redis_url)
    assert out.splitlines()[2].split()[:2] == ["QUEUE", "BACKLOG"] and "mail" in out
    assert {"hiredis", "jobq.stats", "jobq.broker.lite"} <= names
    assert loaded(names, NOT_ON_ONE_SERVER + NOT_FOR_STATS) == []


def test_stats_on_a_url_only_redis_py_takes_uses_redis_py(redis_url: str, namespace: str) -> None:
    jobq.App(redis_url, namespace).submit("any.task", [1], queue="mail")
    url = f"{redis_url}?socket_timeout=5"
    out, names = imported_by(["stats", "--redis-url", url, "--namespace", namespace, "--json"], redis_url)
    assert [q["name"] for q in json.loads(out)["queues"]] == ["mail"]
    assert {"redis", "jobq.broker.reads"} <= names
    assert loaded(names, NOT_FOR_STATS) == []


def test_the_listed_summaries_are_the_commands_own() -> None:
    """COMMANDS holds each command's first help paragraph: shortened to any width, it
    reads as click would shorten the command's real help."""
    ctx = click.Context(cli)
    for name, (_, summary) in COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None and command.name == name
        stand_in = click.Command(name, help=summary)
        for limit in (20, 45, 70, 100, 1000):
            assert stand_in.get_short_help_str(limit) == command.get_short_help_str(limit), name


@pytest.mark.parametrize(
    "env",
    [{}, {"JOBQ_REDIS_URL": "redis://db:6380/2", "JOBQ_NAMESPACE": "prod", "JOBQ_SIGNING_KEY": "k"}],
)
def test_stats_connects_as_a_bare_app_would(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for key in ("JOBQ_REDIS_URL", "JOBQ_NAMESPACE", "JOBQ_SIGNING_KEY"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert Connection(None, None).config == App().config
    assert Connection("redis://x:1/0", "ns").config == App("redis://x:1/0", "ns").config
    for args in ((None, None), ("redis://x:1/0", "ns")):
        ours, bare = Snapshots(*args).config, App(*args).config
        assert (ours.redis_url, ours.namespace) == (bare.redis_url, bare.namespace)


def test_the_package_names_load_on_first_use() -> None:
    from jobq import App as FromPackage
    from jobq import chain

    assert FromPackage is App and chain.__module__ == "jobq.workflow.canvas"
    assert set(jobq.__all__) <= set(dir(jobq))
    with pytest.raises(AttributeError, match="no_such_name"):
        jobq.no_such_name  # noqa: B018
